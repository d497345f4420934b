//! OTP HID frames: the 70-byte command frame and its split into 8-byte feature reports.

use crate::crc;
use crate::error::{HwError, Result};

pub const FRAME_SIZE: usize = 70;
pub const PAYLOAD_SIZE: usize = 64;
/// Data bytes per feature report; the eighth byte carries flags and the sequence number.
pub const REPORT_DATA: usize = 7;

/// Flags of the eighth report byte.
pub const SLOT_WRITE_FLAG: u8 = 0x80;
pub const RESP_PENDING_FLAG: u8 = 0x40;
pub const RESP_TIMEOUT_WAIT_FLAG: u8 = 0x20;
pub const SEQUENCE_MASK: u8 = 0x1F;
/// The report that resets the device's response state after a read.
pub const RESET_REPORT: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 0xFF];

/// `payload[64] ‖ slot ‖ crc16(payload) LE ‖ 3 zero bytes`.
pub fn build(slot_cmd: u8, payload: &[u8]) -> Result<[u8; FRAME_SIZE]> {
    if payload.len() > PAYLOAD_SIZE {
        return Err(HwError::Invalid(format!(
            "OTP payload is {} bytes; at most {PAYLOAD_SIZE}",
            payload.len()
        )));
    }
    let mut f = [0u8; FRAME_SIZE];
    f[..payload.len()].copy_from_slice(payload);
    f[PAYLOAD_SIZE] = slot_cmd;
    let c = crc::crc16(&f[..PAYLOAD_SIZE]);
    f[PAYLOAD_SIZE + 1..PAYLOAD_SIZE + 3].copy_from_slice(&c.to_le_bytes());
    Ok(f)
}

/// The reports that carry `frame`, with `0x80 | seq`; all-zero chunks are skipped except the first and last.
pub fn reports(frame: &[u8; FRAME_SIZE]) -> Vec<[u8; 8]> {
    let count = FRAME_SIZE / REPORT_DATA;
    let mut out = Vec::with_capacity(count);
    for (seq, chunk) in frame.chunks(REPORT_DATA).enumerate() {
        if seq != 0 && seq != count - 1 && chunk.iter().all(|&b| b == 0) {
            continue;
        }
        let mut r = [0u8; 8];
        r[..REPORT_DATA].copy_from_slice(chunk);
        r[REPORT_DATA] = SLOT_WRITE_FLAG | u8::try_from(seq).unwrap_or(SEQUENCE_MASK);
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_hid_frame_of_the_hmac_configuration() {
        // libykpers oracle output for HMAC-SHA1 chal-resp, slot 2 (research doc §4.2).
        let cfg = hex::decode(
            "00000000000000000000000000000000404142430000303132333435363738393a3b3c3d3e3f0000000000000024402600000921",
        )
        .unwrap();
        let mut payload = cfg.clone();
        payload.extend_from_slice(&[0; 6]);
        let f = build(0x03, &payload).unwrap();
        assert_eq!(
            hex::encode(f),
            format!("{}{}039556000000", hex::encode(&cfg), "00".repeat(12))
        );
        let seqs: Vec<u8> = reports(&f).iter().map(|r| r[7]).collect();
        // Chunks 1 (bytes 7..14) and 8 (56..63) are all zero and skipped.
        assert_eq!(seqs, vec![0x80, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x89]);
    }
}
