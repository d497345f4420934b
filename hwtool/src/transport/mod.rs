//! Transport traits (one APDU link, one HID feature-report link), the APDU channel on top, and device discovery.
//!
//! Modelled on webauthn-rs's `transport` module: a transport finds devices, a device moves bytes, and the
//! protocol code above it (`otp`, `oath`) never knows whether the bytes went over PC/SC, hidraw or into
//! the in-process software key.

#[cfg(feature = "hid")]
pub mod hid;
pub mod pcsc;

use crate::apdu::{Apdu, ApduForm, split_sw};
use crate::error::{HwError, Result, sw_meaning};

/// A link that carries command APDUs to a card and brings back the response (data followed by SW1 SW2).
pub trait ApduConnection {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>>;
    /// The reader or device name, for messages.
    fn name(&self) -> String;
}

/// The OTP HID interface: 8-byte feature reports (report id 0 is added and stripped by the implementation).
pub trait FeatureReports {
    fn get_feature(&mut self) -> Result<[u8; 8]>;
    fn set_feature(&mut self, report: &[u8; 8]) -> Result<()>;
}

/// Status words.
pub const SW_OK: u16 = 0x9000;

/// An APDU link plus the encoding choice and `61xx` (more data) handling.
pub struct Channel {
    conn: Box<dyn ApduConnection>,
    pub form: ApduForm,
}

impl Channel {
    pub fn new(conn: Box<dyn ApduConnection>, form: ApduForm) -> Channel {
        Channel { conn, form }
    }

    pub fn name(&self) -> String {
        self.conn.name()
    }

    /// Sends one command; while the card answers `61xx`, fetches the rest with `remaining_ins`
    /// (`A5` for OATH, `C0` GET RESPONSE otherwise). Returns all data and the final status word.
    pub fn send(&mut self, apdu: &Apdu, remaining_ins: u8) -> Result<(Vec<u8>, u16)> {
        let resp = self.conn.transmit(&apdu.encode(self.form)?)?;
        let (data, mut sw) = split_sw(&resp)?;
        let mut all = data.to_vec();
        let mut rounds = 0;
        while sw >> 8 == 0x61 {
            rounds += 1;
            if rounds > 1024 {
                return Err(HwError::Protocol("endless 61xx response chain".into()));
            }
            let more = Apdu::new(remaining_ins, 0, 0, vec![]);
            let resp = self.conn.transmit(&more.encode(self.form)?)?;
            let (data, next) = split_sw(&resp)?;
            all.extend_from_slice(data);
            sw = next;
        }
        Ok((all, sw))
    }

    /// `send`, failing unless the status word is 9000.
    pub fn send_ok(&mut self, apdu: &Apdu, remaining_ins: u8, what: &str) -> Result<Vec<u8>> {
        let (data, sw) = self.send(apdu, remaining_ins)?;
        if sw != SW_OK {
            return Err(status_error(what, sw));
        }
        Ok(data)
    }

    /// SELECT by AID; the applet's answer.
    pub fn select(&mut self, aid: &[u8], what: &str) -> Result<Vec<u8>> {
        self.send_ok(&Apdu::new(0xA4, 0x04, 0x00, aid.to_vec()), 0xC0, what)
    }
}

/// The error for a status word other than 9000.
pub fn status_error(what: &str, sw: u16) -> HwError {
    HwError::Status {
        what: what.to_string(),
        sw,
        meaning: sw_meaning(sw),
    }
}
