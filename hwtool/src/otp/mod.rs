//! The OTP application: slot status, programming, delete, swap, serial and HMAC challenge-response,
//! over any backend (HID frames or the CCID OTP applet) with the same configuration bytes.

pub mod ccid;
pub mod config;
pub mod frame;
pub mod hid;

use crate::error::{HwError, Result};
use config::{ACC_CODE_SIZE, CONFIG_SIZE, SlotConfig};

/// Slot commands (byte 64 of a HID frame, P1 of the CCID OTP applet's INS 01).
pub mod cmd {
    pub const CONFIG_1: u8 = 0x01;
    pub const CONFIG_2: u8 = 0x03;
    pub const UPDATE_1: u8 = 0x04;
    pub const UPDATE_2: u8 = 0x05;
    pub const SWAP: u8 = 0x06;
    pub const DEVICE_SERIAL: u8 = 0x10;
    pub const YK4_CAPABILITIES: u8 = 0x13;
    pub const CHAL_HMAC_1: u8 = 0x30;
    pub const CHAL_HMAC_2: u8 = 0x38;
}

/// touchLevel bits of the status.
pub const CONFIG1_VALID: u16 = 0x01;
pub const CONFIG2_VALID: u16 = 0x02;
pub const CONFIG1_TOUCH: u16 = 0x04;
pub const CONFIG2_TOUCH: u16 = 0x08;

/// The 6 status bytes every OTP command reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub version: [u8; 3],
    pub pgm_seq: u8,
    pub touch_level: u16,
}

impl Status {
    pub fn parse(b: &[u8]) -> Result<Status> {
        if b.len() < 6 {
            return Err(HwError::Protocol(format!(
                "OTP status too short: {}",
                hex::encode(b)
            )));
        }
        Ok(Status {
            version: [b[0], b[1], b[2]],
            pgm_seq: b[3],
            touch_level: u16::from_le_bytes([b[4], b[5]]),
        })
    }

    pub fn to_bytes(self) -> [u8; 6] {
        let t = self.touch_level.to_le_bytes();
        [
            self.version[0],
            self.version[1],
            self.version[2],
            self.pgm_seq,
            t[0],
            t[1],
        ]
    }

    /// Whether slot 1 or 2 holds a configuration (firmware 2.1 and later report it).
    pub fn slot_programmed(&self, slot: Slot) -> bool {
        let bit = match slot {
            Slot::One => CONFIG1_VALID,
            Slot::Two => CONFIG2_VALID,
        };
        self.touch_level & bit != 0
    }

    /// Whether slot 1 or 2 is triggered by touch (it types an OTP), as opposed to challenge-response only.
    pub fn slot_touch_triggered(&self, slot: Slot) -> bool {
        let bit = match slot {
            Slot::One => CONFIG1_TOUCH,
            Slot::Two => CONFIG2_TOUCH,
        };
        self.touch_level & bit != 0
    }

    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            self.version[0], self.version[1], self.version[2]
        )
    }

    /// A write is accepted iff the programming sequence went up by one, or dropped to zero because no
    /// slot is left (yubikit's rule; a wrong access code leaves it unchanged).
    pub fn accepted_after(&self, before: &Status) -> bool {
        self.pgm_seq == before.pgm_seq.wrapping_add(1)
            || (self.pgm_seq == 0 && before.pgm_seq > 0 && self.touch_level & 0x1F == 0)
    }
}

/// Slot 1 (short touch) or slot 2 (long touch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    One,
    Two,
}

impl Slot {
    pub fn from_number(n: u8) -> Result<Slot> {
        match n {
            1 => Ok(Slot::One),
            2 => Ok(Slot::Two),
            _ => Err(HwError::Invalid(format!("slot must be 1 or 2, not {n}"))),
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Slot::One => 1,
            Slot::Two => 2,
        }
    }

    pub fn config_cmd(self) -> u8 {
        match self {
            Slot::One => cmd::CONFIG_1,
            Slot::Two => cmd::CONFIG_2,
        }
    }

    pub fn hmac_cmd(self) -> u8 {
        match self {
            Slot::One => cmd::CHAL_HMAC_1,
            Slot::Two => cmd::CHAL_HMAC_2,
        }
    }
}

/// How commands reach the OTP application.
pub trait OtpBackend {
    /// The current status.
    fn read_status(&mut self) -> Result<Status>;
    /// A write command (configure, delete, swap); returns the status reported after it.
    fn write_update(&mut self, cmd: u8, data: &[u8]) -> Result<Status>;
    /// A read command (serial, challenge); returns `resp_len` bytes of answer (CRC already checked).
    fn send_and_receive(&mut self, cmd: u8, data: &[u8], resp_len: usize) -> Result<Vec<u8>>;
    /// "HID" or "CCID", for messages.
    fn kind(&self) -> &'static str;
}

/// The OTP application of one key.
pub struct OtpSession<B: OtpBackend> {
    backend: B,
    status: Status,
}

impl<B: OtpBackend> OtpSession<B> {
    pub fn open(mut backend: B) -> Result<OtpSession<B>> {
        let status = backend.read_status()?;
        Ok(OtpSession { backend, status })
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn into_backend(self) -> B {
        self.backend
    }

    pub fn refresh(&mut self) -> Result<Status> {
        self.status = self.backend.read_status()?;
        Ok(self.status)
    }

    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    /// The serial number (the key must allow reading it over the API, as keys ship).
    pub fn serial(&mut self) -> Result<u32> {
        let r = self.backend.send_and_receive(cmd::DEVICE_SERIAL, &[], 4)?;
        Ok(u32::from_be_bytes([r[0], r[1], r[2], r[3]]))
    }

    fn write(&mut self, cmd: u8, data: &[u8], what: &str) -> Result<()> {
        let before = self.status;
        let after = self.backend.write_update(cmd, data)?;
        self.status = after;
        if after.accepted_after(&before) {
            Ok(())
        } else {
            Err(HwError::Rejected(format!(
                "{what} was not accepted (wrong or missing access code, or the key does not support this configuration)"
            )))
        }
    }

    /// Writes `config` to `slot`. Refuses a programmed slot unless `force`. `access_code` is the slot's
    /// current access code, if it has one.
    pub fn program(
        &mut self,
        slot: Slot,
        config: &SlotConfig,
        access_code: Option<[u8; ACC_CODE_SIZE]>,
        force: bool,
    ) -> Result<()> {
        if !force && self.status.slot_programmed(slot) {
            return Err(HwError::SlotProgrammed(slot.number()));
        }
        let bytes = config.to_bytes()?;
        self.write(
            slot.config_cmd(),
            &with_access_code(&bytes, access_code),
            &format!("programming slot {}", slot.number()),
        )
    }

    /// Deletes the configuration of `slot` (52 zero bytes, no CRC, like ykman and libykpers).
    pub fn delete(&mut self, slot: Slot, access_code: Option<[u8; ACC_CODE_SIZE]>) -> Result<()> {
        self.write(
            slot.config_cmd(),
            &with_access_code(&[0u8; CONFIG_SIZE], access_code),
            &format!("deleting slot {}", slot.number()),
        )
    }

    /// Swaps the configurations of slot 1 and slot 2.
    pub fn swap(&mut self) -> Result<()> {
        self.write(cmd::SWAP, &[], "swapping the slots")
    }

    /// HMAC-SHA1 of `challenge` (at most 63 bytes: the padding rule needs one byte of room) with the slot's key.
    pub fn hmac_sha1(&mut self, slot: Slot, challenge: &[u8]) -> Result<[u8; 20]> {
        let padded = pad_challenge(challenge)?;
        let r = self
            .backend
            .send_and_receive(slot.hmac_cmd(), &padded, 20)?;
        let mut out = [0u8; 20];
        out.copy_from_slice(&r[..20]);
        Ok(out)
    }
}

fn with_access_code(
    config: &[u8; CONFIG_SIZE],
    access_code: Option<[u8; ACC_CODE_SIZE]>,
) -> Vec<u8> {
    let mut data = config.to_vec();
    data.extend_from_slice(&access_code.unwrap_or([0; ACC_CODE_SIZE]));
    data
}

/// Pads a challenge to 64 bytes with a byte different from its last one (the HMAC_LT64 convention).
pub fn pad_challenge(challenge: &[u8]) -> Result<[u8; 64]> {
    if challenge.len() > 63 {
        return Err(HwError::Invalid(format!(
            "challenge is {} bytes; at most 63 with HMAC_LT64",
            challenge.len()
        )));
    }
    let pad = match challenge.last() {
        Some(0) => 1,
        _ => 0,
    };
    let mut out = [pad; 64];
    out[..challenge.len()].copy_from_slice(challenge);
    Ok(out)
}

/// Parses a 6-byte access code given as 12 hex digits.
pub fn parse_access_code(hex_code: &str) -> Result<[u8; ACC_CODE_SIZE]> {
    let bytes = hex::decode(hex_code.trim())
        .map_err(|_| HwError::Invalid("access code must be 12 hex digits".into()))?;
    bytes
        .try_into()
        .map_err(|_| HwError::Invalid("access code must be 12 hex digits (6 bytes)".into()))
}
