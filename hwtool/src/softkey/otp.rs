//! The software key's OTP application: slots, access codes, pgmSeq, serial, HMAC challenge-response and a
//! simulated button press that types what the slot would type (HOTP code or Yubico OTP).

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

use crate::crc;
use crate::modhex;
use crate::oath::HashAlgo;
use crate::otp::config::{ACC_CODE_SIZE, CONFIG_SIZE, Decoded, SlotMode};
use crate::otp::{CONFIG1_TOUCH, CONFIG1_VALID, CONFIG2_TOUCH, CONFIG2_VALID, Status, cmd};

/// What an OTP command produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OtpReply {
    /// A write command ran (accepted or not: the pgmSeq in the status tells).
    Status,
    /// A read command's answer.
    Data(Vec<u8>),
    /// Not supported or not configured for it (the status word a CCID client gets).
    Error(u16),
}

/// One write the key received, accepted or not (tests compare these bytes with the oracle's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRecord {
    pub cmd: u8,
    pub data: Vec<u8>,
    pub accepted: bool,
}

/// State of the two OTP slots.
#[derive(Clone, Debug, Default)]
pub struct OtpApplet {
    pub slots: [Option<[u8; CONFIG_SIZE]>; 2],
    pub pgm_seq: u8,
    pub writes: Vec<WriteRecord>,
    /// Per slot: HOTP moving factor / Yubico OTP usage counter, set when the slot is written.
    counters: [u32; 2],
    session: [u8; 2],
}

impl OtpApplet {
    pub fn status(&self, version: [u8; 3]) -> Status {
        let mut touch = 0u16;
        for (i, (valid, touch_bit)) in [
            (CONFIG1_VALID, CONFIG1_TOUCH),
            (CONFIG2_VALID, CONFIG2_TOUCH),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(c) = &self.slots[i] {
                touch |= valid;
                let chal = matches!(
                    Decoded::from_bytes(c),
                    Some(Decoded {
                        mode: SlotMode::ChalResp { .. },
                        ..
                    })
                );
                if !chal {
                    touch |= touch_bit;
                }
            }
        }
        Status {
            version,
            pgm_seq: self.pgm_seq,
            touch_level: touch,
        }
    }

    /// The decoded configuration of slot 1 or 2.
    pub fn decoded(&self, slot: u8) -> Option<Decoded> {
        let i = usize::from(slot.checked_sub(1)?);
        self.slots.get(i)?.as_ref().and_then(Decoded::from_bytes)
    }

    fn bump(&mut self) {
        self.pgm_seq = if self.slots.iter().any(Option::is_some) {
            self.pgm_seq.wrapping_add(1).max(1)
        } else {
            0
        };
    }

    fn write_slot(&mut self, i: usize, payload: &[u8]) -> bool {
        let mut data = [0u8; CONFIG_SIZE + ACC_CODE_SIZE];
        let n = payload.len().min(data.len());
        data[..n].copy_from_slice(&payload[..n]);
        let mut config = [0u8; CONFIG_SIZE];
        config.copy_from_slice(&data[..CONFIG_SIZE]);
        let given = &data[CONFIG_SIZE..];
        if let Some(current) = self.slots[i].as_ref().and_then(Decoded::from_bytes)
            && current.access_code != [0; ACC_CODE_SIZE]
            && current.access_code != given
        {
            return false;
        }
        if config.iter().all(|&b| b == 0) {
            self.slots[i] = None;
        } else {
            let Some(d) = Decoded::from_bytes(&config) else {
                return false;
            };
            self.counters[i] = match d.mode {
                SlotMode::Hotp { imf, .. } => imf,
                _ => 1,
            };
            self.session[i] = 0;
            self.slots[i] = Some(config);
        }
        self.bump();
        true
    }

    /// Runs one slot command as the firmware would.
    pub fn command(&mut self, command: u8, payload: &[u8], serial: u32) -> OtpReply {
        let write = |me: &mut OtpApplet, ok: bool| {
            me.writes.push(WriteRecord {
                cmd: command,
                data: payload.to_vec(),
                accepted: ok,
            });
            OtpReply::Status
        };
        match command {
            cmd::CONFIG_1 | cmd::CONFIG_2 => {
                let i = usize::from(command == cmd::CONFIG_2);
                let ok = self.write_slot(i, payload);
                write(self, ok)
            }
            cmd::SWAP => {
                let acc_ok = self.slots.iter().all(|s| {
                    s.as_ref()
                        .and_then(Decoded::from_bytes)
                        .is_none_or(|d| d.access_code == [0; ACC_CODE_SIZE])
                });
                if acc_ok {
                    self.slots.swap(0, 1);
                    self.counters.swap(0, 1);
                    self.bump();
                }
                write(self, acc_ok)
            }
            cmd::DEVICE_SERIAL => OtpReply::Data(serial.to_be_bytes().to_vec()),
            cmd::CHAL_HMAC_1 | cmd::CHAL_HMAC_2 => {
                let slot = if command == cmd::CHAL_HMAC_1 { 1 } else { 2 };
                match self.decoded(slot) {
                    Some(Decoded {
                        mode: SlotMode::ChalResp { key, .. },
                        cfg,
                        ..
                    }) => {
                        let mut challenge = payload.get(..64).unwrap_or(payload).to_vec();
                        if cfg & crate::otp::config::cfg::HMAC_LT64 != 0
                            && let Some(&last) = challenge.last()
                        {
                            while challenge.len() > 1 && challenge.last() == Some(&last) {
                                challenge.pop();
                            }
                        }
                        OtpReply::Data(HashAlgo::Sha1.hmac(&key, &challenge))
                    }
                    _ => OtpReply::Error(0x6A80),
                }
            }
            _ => OtpReply::Error(0x6D00),
        }
    }

    /// Whether a challenge to `slot` waits for a touch.
    pub fn needs_touch(&self, command: u8) -> bool {
        let slot = match command {
            cmd::CHAL_HMAC_1 => 1,
            cmd::CHAL_HMAC_2 => 2,
            _ => return false,
        };
        matches!(
            self.decoded(slot),
            Some(Decoded {
                mode: SlotMode::ChalResp { touch: true, .. },
                ..
            })
        )
    }

    /// What the key types when slot `slot` is touched (without the trailing Enter), or `None` for an
    /// empty or challenge-response slot. Advances the slot's counter.
    pub fn press(&mut self, slot: u8) -> Option<String> {
        let d = self.decoded(slot)?;
        let i = usize::from(slot - 1);
        match d.mode {
            SlotMode::Hotp {
                key,
                digits,
                token_id,
                ..
            } => {
                let counter = self.counters[i];
                self.counters[i] = counter.wrapping_add(1);
                Some(modhex::encode(&token_id) + &hotp(&key, u64::from(counter), digits))
            }
            SlotMode::YubicoOtp {
                public_id,
                private_id,
                aes_key,
            } => {
                let use_ctr = u16::try_from(self.counters[i]).unwrap_or(u16::MAX);
                let session = self.session[i];
                self.session[i] = session.wrapping_add(1);
                let mut plain = [0u8; 16];
                plain[..6].copy_from_slice(&private_id);
                plain[6..8].copy_from_slice(&use_ctr.to_le_bytes());
                let tstp = 0x0012_3456u32 + u32::from(session) * 8;
                plain[8..11].copy_from_slice(&tstp.to_le_bytes()[..3]);
                plain[11] = session;
                plain[12..14].copy_from_slice(&[0x5A, 0xA5]);
                let c = !crc::crc16(&plain[..14]);
                plain[14..].copy_from_slice(&c.to_le_bytes());
                let cipher = Aes128::new(GenericArray::from_slice(&aes_key));
                let mut block = GenericArray::clone_from_slice(&plain);
                cipher.encrypt_block(&mut block);
                Some(modhex::encode(&public_id) + &modhex::encode(&block))
            }
            SlotMode::ChalResp { .. } => None,
        }
    }
}

/// RFC 4226 HOTP with HMAC-SHA1.
pub fn hotp(key: &[u8], counter: u64, digits: u8) -> String {
    let h = HashAlgo::Sha1.hmac(key, &counter.to_be_bytes());
    crate::oath::format_code(digits, truncate(&h))
}

/// RFC 4226 dynamic truncation (4 bytes, before masking).
pub fn truncate(h: &[u8]) -> [u8; 4] {
    let off = usize::from(h.last().copied().unwrap_or(0) & 0x0F);
    let mut out = [0u8; 4];
    if let Some(b) = h.get(off..off + 4) {
        out.copy_from_slice(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_vectors() {
        let want = ["755224", "287082", "359152", "969429", "338314"];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", c as u64, 6), *w);
        }
    }
}
