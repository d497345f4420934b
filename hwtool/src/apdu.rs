//! ISO 7816-4 command APDUs in short and extended form, encoding (client) and parsing (software key).

use crate::error::{HwError, Result};

/// How a client encodes APDUs: YubiKeys take both; ykman 5 sends extended ones to USB keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApduForm {
    /// Short unless the data is longer than 255 bytes.
    #[default]
    Auto,
    Short,
    Extended,
}

/// One command APDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Apdu {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// Expected response length (`None`: no Le field). 256 (short) / 65536 (extended) encode as zero.
    pub le: Option<usize>,
}

impl Apdu {
    pub fn new(ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> Apdu {
        Apdu {
            cla: 0,
            ins,
            p1,
            p2,
            data,
            le: None,
        }
    }

    /// The bytes on the wire.
    pub fn encode(&self, form: ApduForm) -> Result<Vec<u8>> {
        let extended = match form {
            ApduForm::Extended => true,
            ApduForm::Short => false,
            ApduForm::Auto => self.data.len() > 255 || self.le.is_some_and(|l| l > 256),
        };
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if extended {
            if self.data.len() > 65535 {
                return Err(HwError::Invalid("APDU data longer than 65535 bytes".into()));
            }
            if !self.data.is_empty() || self.le.is_some() {
                out.push(0);
            }
            if !self.data.is_empty() {
                out.extend_from_slice(&u16_of(self.data.len()).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.extend_from_slice(&u16_of(le.min(65536) % 65536).to_be_bytes());
            }
        } else {
            if self.data.len() > 255 {
                return Err(HwError::Invalid(
                    "APDU data longer than 255 bytes needs the extended form".into(),
                ));
            }
            if !self.data.is_empty() {
                out.push(u8_of(self.data.len()));
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push(u8_of(le.min(256) % 256));
            }
        }
        Ok(out)
    }

    /// Parses a command APDU as a card sees it (short or extended). `Err(sw)` is the status word to answer.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Apdu, u16> {
        if bytes.len() < 4 {
            return Err(0x6700);
        }
        let mut apdu = Apdu {
            cla: bytes[0],
            ins: bytes[1],
            p1: bytes[2],
            p2: bytes[3],
            data: Vec::new(),
            le: None,
        };
        let body = &bytes[4..];
        match body.len() {
            0 => {}
            1 => {
                apdu.le = Some(if body[0] == 0 {
                    256
                } else {
                    usize::from(body[0])
                })
            }
            _ if body[0] != 0 => {
                let lc = usize::from(body[0]);
                let rest = &body[1..];
                match rest.len().checked_sub(lc) {
                    Some(0) => apdu.data = rest.to_vec(),
                    Some(1) => {
                        apdu.data = rest[..lc].to_vec();
                        apdu.le = Some(if rest[lc] == 0 {
                            256
                        } else {
                            usize::from(rest[lc])
                        });
                    }
                    _ => return Err(0x6700),
                }
            }
            3 => {
                let le = usize::from(u16::from_be_bytes([body[1], body[2]]));
                apdu.le = Some(if le == 0 { 65536 } else { le });
            }
            n if n > 3 => {
                let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
                let rest = &body[3..];
                match rest.len().checked_sub(lc) {
                    Some(0) => apdu.data = rest.to_vec(),
                    Some(2) => {
                        apdu.data = rest[..lc].to_vec();
                        let le = usize::from(u16::from_be_bytes([rest[lc], rest[lc + 1]]));
                        apdu.le = Some(if le == 0 { 65536 } else { le });
                    }
                    _ => return Err(0x6700),
                }
            }
            _ => return Err(0x6700),
        }
        Ok(apdu)
    }
}

fn u16_of(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn u8_of(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// Splits a response into data and status word.
pub fn split_sw(resp: &[u8]) -> Result<(&[u8], u16)> {
    match resp.len().checked_sub(2) {
        Some(n) => Ok((&resp[..n], u16::from_be_bytes([resp[n], resp[n + 1]]))),
        None => Err(HwError::Protocol(format!(
            "response shorter than a status word: {}",
            hex::encode(resp)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(apdu: &Apdu, form: ApduForm, wire: &str) {
        let bytes = apdu.encode(form).unwrap();
        assert_eq!(hex::encode(&bytes), wire, "{form:?}");
        assert_eq!(&Apdu::parse(&bytes).unwrap(), apdu, "round trip {wire}");
    }

    #[test]
    fn short_and_extended_forms() {
        let select = Apdu::new(0xA4, 0x04, 0x00, vec![0xA0, 0, 0, 5, 0x27, 0x21, 1]);
        check(&select, ApduForm::Short, "00a4040007a0000005272101");
        check(&select, ApduForm::Extended, "00a40400000007a0000005272101");
        let list = Apdu::new(0xA1, 0, 0, vec![]);
        check(&list, ApduForm::Short, "00a10000");
        check(&list, ApduForm::Extended, "00a10000");
        let mut with_le = Apdu::new(0xA5, 0, 0, vec![]);
        with_le.le = Some(256);
        check(&with_le, ApduForm::Short, "00a5000000");
        with_le.le = Some(65536);
        check(&with_le, ApduForm::Extended, "00a50000000000");
        let mut both = Apdu::new(0x01, 0x03, 0, vec![1, 2, 3]);
        both.le = Some(6);
        check(&both, ApduForm::Short, "000103000301020306");
        check(&both, ApduForm::Extended, "000103000000030102030006");
        let big = Apdu::new(0x01, 0, 0, vec![7; 300]);
        assert!(big.encode(ApduForm::Short).is_err());
        assert_eq!(big.encode(ApduForm::Auto).unwrap()[4..7], [0, 1, 44]);
        assert_eq!(Apdu::parse(&[0, 1, 2]), Err(0x6700));
        assert_eq!(Apdu::parse(&[0, 1, 2, 3, 5, 1]), Err(0x6700));
    }
}
