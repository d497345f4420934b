//! A software YubiKey: the OTP and OATH applets behind an APDU interface (for a virtual PC/SC card) and behind
//! the OTP HID frame protocol (for in-process HID tests), sharing one state.

pub mod hid;
pub mod oath;
pub mod otp;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::apdu::Apdu;
use crate::oath::OATH_AID;
use crate::otp::Status;
use crate::otp::ccid::OTP_AID;
use crate::transport::ApduConnection;
use oath::OathApplet;
use otp::{OtpApplet, OtpReply};

/// The ATR of a YubiKey 4/5 over USB CCID.
pub const ATR: [u8; 18] = [
    0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x59, 0x75, 0x62, 0x69, 0x6B, 0x65, 0x79,
    0x34, 0xD4,
];
/// Largest response chunk before `61xx` chaining.
const CHUNK: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Selected {
    None,
    Otp,
    Oath,
}

/// One software key.
#[derive(Debug)]
pub struct SoftKey {
    pub serial: u32,
    pub version: [u8; 3],
    pub otp: OtpApplet,
    pub oath: OathApplet,
    selected: Selected,
    pending: Vec<u8>,
    /// Every command APDU received, as sent (tests check short and extended forms arrived).
    pub apdu_log: Vec<Vec<u8>>,
    /// Touches the simulated user gave for touch-triggered challenge-response over HID.
    pub otp_touches: u32,
}

impl SoftKey {
    /// A blank key with this serial, firmware 5.4.3.
    pub fn new(serial: u32) -> SoftKey {
        SoftKey {
            serial,
            version: [5, 4, 3],
            otp: OtpApplet::default(),
            oath: OathApplet::new(),
            selected: Selected::None,
            pending: Vec::new(),
            apdu_log: Vec::new(),
            otp_touches: 0,
        }
    }

    /// A blank key shared between a transport and a test.
    pub fn shared(serial: u32) -> Arc<Mutex<SoftKey>> {
        Arc::new(Mutex::new(SoftKey::new(serial)))
    }

    pub fn otp_status(&self) -> Status {
        self.otp.status(self.version)
    }

    /// Card reset or power cycle: nothing selected, OATH locked again.
    pub fn power_cycle(&mut self) {
        self.selected = Selected::None;
        self.pending.clear();
    }

    /// Answers one command APDU (short or extended) with data and status word.
    pub fn process_apdu(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.apdu_log.push(bytes.to_vec());
        let (data, sw) = match Apdu::parse(bytes) {
            Ok(apdu) => self.dispatch(&apdu),
            Err(sw) => (Vec::new(), sw),
        };
        if sw != 0x9000 {
            return with_sw(data, sw);
        }
        self.pending = data;
        self.next_chunk()
    }

    fn next_chunk(&mut self) -> Vec<u8> {
        let n = self.pending.len().min(CHUNK);
        let chunk: Vec<u8> = self.pending.drain(..n).collect();
        match self.pending.len() {
            0 => with_sw(chunk, 0x9000),
            left => with_sw(chunk, 0x6100 | u16::try_from(left.min(255)).unwrap_or(0xFF)),
        }
    }

    fn dispatch(&mut self, a: &Apdu) -> (Vec<u8>, u16) {
        if a.ins == 0xA4 && a.p1 == 0x04 {
            self.pending.clear();
            return if a.data == OATH_AID {
                self.selected = Selected::Oath;
                (self.oath.select(self.version), 0x9000)
            } else if a.data == OTP_AID {
                self.selected = Selected::Otp;
                (self.otp_status().to_bytes().to_vec(), 0x9000)
            } else {
                self.selected = Selected::None;
                (Vec::new(), 0x6A82)
            };
        }
        if matches!(a.ins, 0xA5 | 0xC0) && !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            return (pending, 0x9000);
        }
        match self.selected {
            Selected::Oath => self.oath.command(a.ins, a.p1, a.p2, &a.data),
            Selected::Otp => match a.ins {
                0x01 => match self.otp.command(a.p1, &a.data, self.serial) {
                    OtpReply::Status => (self.otp_status().to_bytes().to_vec(), 0x9000),
                    OtpReply::Data(d) => (d, 0x9000),
                    OtpReply::Error(sw) => (Vec::new(), sw),
                },
                0x03 => (self.otp_status().to_bytes().to_vec(), 0x9000),
                _ => (Vec::new(), 0x6D00),
            },
            Selected::None => (Vec::new(), 0x6D00),
        }
    }
}

fn with_sw(mut data: Vec<u8>, sw: u16) -> Vec<u8> {
    data.extend_from_slice(&sw.to_be_bytes());
    data
}

/// Locks a shared key; a poisoned lock (a panicking test) still gives the state.
pub fn lock(key: &Mutex<SoftKey>) -> MutexGuard<'_, SoftKey> {
    key.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An in-process APDU link to a shared software key.
pub struct SoftCard(pub Arc<Mutex<SoftKey>>);

impl ApduConnection for SoftCard {
    fn transmit(&mut self, apdu: &[u8]) -> crate::error::Result<Vec<u8>> {
        Ok(lock(&self.0).process_apdu(apdu))
    }

    fn name(&self) -> String {
        "software YubiKey".to_string()
    }
}
