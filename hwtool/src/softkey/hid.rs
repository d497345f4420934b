//! The software key's OTP HID interface: the device side of the frame protocol (sequence numbers, skipped
//! zero reports, frame CRC, busy and touch flags, chunked responses with CRC, the reset report).

use std::sync::{Arc, Mutex};

use super::otp::OtpReply;
use super::{SoftKey, lock};
use crate::crc;
use crate::error::Result;
use crate::otp::frame::{
    FRAME_SIZE, PAYLOAD_SIZE, REPORT_DATA, RESET_REPORT, RESP_PENDING_FLAG, RESP_TIMEOUT_WAIT_FLAG,
    SEQUENCE_MASK, SLOT_WRITE_FLAG,
};
use crate::transport::FeatureReports;

/// How many status polls a touch-triggered challenge waits before the simulated user touches.
const TOUCH_POLLS: u32 = 3;

#[derive(Debug)]
enum State {
    Idle,
    WaitingTouch { polls: u32, data: Vec<u8> },
    Responding { data: Vec<u8>, seq: usize },
}

/// The HID side of a shared software key.
pub struct SoftHid {
    key: Arc<Mutex<SoftKey>>,
    frame: [u8; FRAME_SIZE],
    state: State,
    /// Reports to answer with the write flag still set (the device "consuming" the last report).
    busy: u32,
    /// Every report the host wrote (tests check which chunks were skipped).
    pub written: Vec<[u8; 8]>,
    /// Frames the device dropped because their CRC was wrong.
    pub bad_frames: u32,
}

impl SoftHid {
    pub fn new(key: Arc<Mutex<SoftKey>>) -> SoftHid {
        SoftHid {
            key,
            frame: [0; FRAME_SIZE],
            state: State::Idle,
            busy: 0,
            written: Vec::new(),
            bad_frames: 0,
        }
    }

    fn status_report(&self, flags: u8) -> [u8; 8] {
        let s = lock(&self.key).otp_status().to_bytes();
        let mut r = [0u8; 8];
        r[1..7].copy_from_slice(&s);
        r[7] = flags;
        r
    }

    fn run_frame(&mut self) {
        let stored =
            u16::from_le_bytes([self.frame[PAYLOAD_SIZE + 1], self.frame[PAYLOAD_SIZE + 2]]);
        if crc::crc16(&self.frame[..PAYLOAD_SIZE]) != stored {
            self.bad_frames += 1;
            return;
        }
        let command = self.frame[PAYLOAD_SIZE];
        let mut key = lock(&self.key);
        let serial = key.serial;
        let touch = key.otp.needs_touch(command);
        match key
            .otp
            .command(command, &self.frame[..PAYLOAD_SIZE], serial)
        {
            OtpReply::Status | OtpReply::Error(_) => self.state = State::Idle,
            OtpReply::Data(mut data) => {
                let c = !crc::crc16(&data);
                data.extend_from_slice(&c.to_le_bytes());
                while data.len() % REPORT_DATA != 0 {
                    data.push(0);
                }
                self.state = if touch {
                    State::WaitingTouch { polls: 0, data }
                } else {
                    State::Responding { data, seq: 0 }
                };
            }
        }
    }
}

impl FeatureReports for SoftHid {
    fn get_feature(&mut self) -> Result<[u8; 8]> {
        if self.busy > 0 {
            self.busy -= 1;
            return Ok(self.status_report(SLOT_WRITE_FLAG));
        }
        let (report, next) = match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => (self.status_report(0), State::Idle),
            State::WaitingTouch { polls, data } if polls < TOUCH_POLLS => (
                self.status_report(RESP_TIMEOUT_WAIT_FLAG),
                State::WaitingTouch {
                    polls: polls + 1,
                    data,
                },
            ),
            State::WaitingTouch { data, .. } => {
                lock(&self.key).otp_touches += 1;
                (
                    self.status_report(RESP_TIMEOUT_WAIT_FLAG),
                    State::Responding { data, seq: 0 },
                )
            }
            State::Responding { data, seq } => {
                let mut r = [0u8; 8];
                let chunks = data.len() / REPORT_DATA;
                if seq < chunks {
                    r[..REPORT_DATA]
                        .copy_from_slice(&data[seq * REPORT_DATA..(seq + 1) * REPORT_DATA]);
                    r[7] = RESP_PENDING_FLAG | (u8::try_from(seq).unwrap_or(0) & SEQUENCE_MASK);
                    (r, State::Responding { data, seq: seq + 1 })
                } else {
                    // All sent: sequence 0 again until the host resets.
                    r[7] = RESP_PENDING_FLAG;
                    (r, State::Responding { data, seq })
                }
            }
        };
        self.state = next;
        Ok(report)
    }

    fn set_feature(&mut self, report: &[u8; 8]) -> Result<()> {
        self.written.push(*report);
        if *report == RESET_REPORT {
            self.state = State::Idle;
            return Ok(());
        }
        let flags = report[7];
        if flags & SLOT_WRITE_FLAG == 0 {
            return Ok(());
        }
        let seq = usize::from(flags & SEQUENCE_MASK);
        if seq * REPORT_DATA >= FRAME_SIZE {
            return Ok(());
        }
        if seq == 0 {
            self.frame = [0; FRAME_SIZE];
            self.state = State::Idle;
        }
        self.frame[seq * REPORT_DATA..(seq + 1) * REPORT_DATA]
            .copy_from_slice(&report[..REPORT_DATA]);
        self.busy = 1;
        if (seq + 1) * REPORT_DATA == FRAME_SIZE {
            self.run_frame();
        }
        Ok(())
    }
}
