//! The OTP HID frame protocol (host side): frames out as feature reports, status or data back, pgmSeq checked above.

use std::thread::sleep;
use std::time::{Duration, Instant};

use super::frame::{
    self, RESET_REPORT, RESP_PENDING_FLAG, RESP_TIMEOUT_WAIT_FLAG, SEQUENCE_MASK, SLOT_WRITE_FLAG,
};
use super::{OtpBackend, Status};
use crate::crc;
use crate::error::{HwError, Result};
use crate::transport::FeatureReports;

/// How long to wait for the device to take a report or finish a command (a touch can take 15 s).
const WRITE_READY_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(20);

/// OTP commands over HID feature reports.
pub struct OtpHid<F: FeatureReports> {
    dev: F,
    /// Called once when the key starts waiting for a touch.
    pub on_touch: Option<Box<dyn FnMut()>>,
}

enum Reply {
    Status(Status),
    Data(Vec<u8>),
}

impl<F: FeatureReports> OtpHid<F> {
    pub fn new(dev: F) -> OtpHid<F> {
        OtpHid {
            dev,
            on_touch: None,
        }
    }

    pub fn into_inner(self) -> F {
        self.dev
    }

    fn await_ready_to_write(&mut self) -> Result<()> {
        let deadline = Instant::now() + WRITE_READY_TIMEOUT;
        loop {
            let r = self.dev.get_feature()?;
            if r[7] & SLOT_WRITE_FLAG == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(HwError::Timeout(
                    "the key did not take the written report".into(),
                ));
            }
            sleep(Duration::from_millis(10));
        }
    }

    fn send_frame(&mut self, cmd: u8, data: &[u8]) -> Result<()> {
        let f = frame::build(cmd, data)?;
        for report in frame::reports(&f) {
            self.await_ready_to_write()?;
            self.dev.set_feature(&report)?;
        }
        Ok(())
    }

    fn read_frame(&mut self) -> Result<Reply> {
        let deadline = Instant::now() + RESPONSE_TIMEOUT;
        let mut response = Vec::new();
        let mut seq: u8 = 0;
        let mut touch_noted = false;
        loop {
            let r = self.dev.get_feature()?;
            let ctr = r[7];
            if ctr & RESP_PENDING_FLAG != 0 {
                if seq == ctr & SEQUENCE_MASK {
                    response.extend_from_slice(&r[..7]);
                    seq = seq.wrapping_add(1);
                } else if ctr & SEQUENCE_MASK == 0 {
                    self.dev.set_feature(&RESET_REPORT)?;
                    return Ok(Reply::Data(response));
                }
                continue;
            }
            if ctr == 0 {
                if !response.is_empty() {
                    return Err(HwError::Protocol(
                        "the key stopped in the middle of a response".into(),
                    ));
                }
                return Ok(Reply::Status(Status::parse(&r[1..7])?));
            }
            if Instant::now() > deadline {
                return Err(HwError::Timeout("no answer from the key".into()));
            }
            if ctr & RESP_TIMEOUT_WAIT_FLAG != 0 {
                if !touch_noted {
                    touch_noted = true;
                    if let Some(f) = self.on_touch.as_mut() {
                        f();
                    }
                }
                sleep(Duration::from_millis(100));
            } else {
                sleep(Duration::from_millis(20));
            }
        }
    }
}

impl<F: FeatureReports> OtpBackend for OtpHid<F> {
    fn read_status(&mut self) -> Result<Status> {
        let r = self.dev.get_feature()?;
        Status::parse(&r[1..7])
    }

    fn write_update(&mut self, cmd: u8, data: &[u8]) -> Result<Status> {
        self.send_frame(cmd, data)?;
        match self.read_frame()? {
            Reply::Status(s) => Ok(s),
            Reply::Data(d) => Err(HwError::Protocol(format!(
                "a write command answered with data {}",
                hex::encode(d)
            ))),
        }
    }

    fn send_and_receive(&mut self, cmd: u8, data: &[u8], resp_len: usize) -> Result<Vec<u8>> {
        self.send_frame(cmd, data)?;
        match self.read_frame()? {
            Reply::Data(d) if d.len() >= resp_len + 2 => {
                if !crc::check(&d[..resp_len + 2]) {
                    return Err(HwError::Protocol("response CRC mismatch".into()));
                }
                Ok(d[..resp_len].to_vec())
            }
            Reply::Data(d) => Err(HwError::Protocol(format!(
                "response of {} bytes, expected {}",
                d.len(),
                resp_len + 2
            ))),
            Reply::Status(_) => Err(HwError::Rejected(
                "the key answered with its status instead of data (slot not configured for this, or touch timeout)"
                    .into(),
            )),
        }
    }

    fn kind(&self) -> &'static str {
        "HID"
    }
}
