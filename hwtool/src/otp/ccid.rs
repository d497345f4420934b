//! The OTP applet over CCID (PC/SC): INS 01 with the slot command in P1 and the same payloads as HID.

use super::{OtpBackend, Status};
use crate::apdu::Apdu;
use crate::error::{HwError, Result};
use crate::transport::Channel;

/// AID of the YubiKey OTP applet.
pub const OTP_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01];
const INS_CONFIG: u8 = 0x01;
const INS_GET_RESPONSE: u8 = 0xC0;

/// The OTP applet of a card behind a channel.
pub struct OtpCcid {
    ch: Channel,
}

impl OtpCcid {
    /// Selects the OTP applet.
    pub fn open(mut ch: Channel) -> Result<OtpCcid> {
        ch.select(&OTP_AID, "selecting the OTP applet")?;
        Ok(OtpCcid { ch })
    }

    pub fn into_channel(self) -> Channel {
        self.ch
    }
}

impl OtpBackend for OtpCcid {
    /// SELECT answers with the status, so re-selecting reads it.
    fn read_status(&mut self) -> Result<Status> {
        let r = self.ch.select(&OTP_AID, "selecting the OTP applet")?;
        Status::parse(&r)
    }

    fn write_update(&mut self, cmd: u8, data: &[u8]) -> Result<Status> {
        let r = self.ch.send_ok(
            &Apdu::new(INS_CONFIG, cmd, 0, data.to_vec()),
            INS_GET_RESPONSE,
            "OTP write",
        )?;
        Status::parse(&r)
    }

    fn send_and_receive(&mut self, cmd: u8, data: &[u8], resp_len: usize) -> Result<Vec<u8>> {
        let r = self.ch.send_ok(
            &Apdu::new(INS_CONFIG, cmd, 0, data.to_vec()),
            INS_GET_RESPONSE,
            "OTP command",
        )?;
        if r.len() < resp_len {
            return Err(HwError::Protocol(format!(
                "OTP answer of {} bytes, expected {resp_len}",
                r.len()
            )));
        }
        Ok(r[..resp_len].to_vec())
    }

    fn kind(&self) -> &'static str {
        "CCID"
    }
}
