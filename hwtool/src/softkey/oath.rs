//! The software key's OATH applet (YKOATH): credentials, codes, password (SET CODE / VALIDATE), reset.

use rand::RngCore;

use super::otp::truncate;
use crate::oath::{HashAlgo, OathType, PROP_REQUIRE_TOUCH, ins, tag};
use crate::tlv;

/// A stored credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftCredential {
    pub id: String,
    pub oath_type: OathType,
    pub algo: HashAlgo,
    pub digits: u8,
    pub key: Vec<u8>,
    pub touch: bool,
    pub counter: u32,
}

/// Applet state.
#[derive(Clone, Debug, Default)]
pub struct OathApplet {
    pub creds: Vec<SoftCredential>,
    pub salt: [u8; 8],
    pub password_key: Option<Vec<u8>>,
    unlocked: bool,
    challenge: [u8; 8],
    /// Touches simulated so far (each touch-required code counts one).
    pub touches: u32,
}

type Answer = (Vec<u8>, u16);

fn sw(code: u16) -> Answer {
    (Vec::new(), code)
}

/// Parses PUT data: TLVs, except that tag 0x78 (property) is followed by its value with no length byte.
fn parse_put(mut data: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data[0] == tag::PROPERTY {
            out.push((tag::PROPERTY, vec![*data.get(1)?]));
            data = &data[2..];
            continue;
        }
        let (t, v, used) = tlv::parse_one(data).ok()?;
        out.push((t, v.to_vec()));
        data = &data[used..];
    }
    Some(out)
}

impl OathApplet {
    pub fn new() -> OathApplet {
        let mut a = OathApplet::default();
        rand::rngs::OsRng.fill_bytes(&mut a.salt);
        a
    }

    /// SELECT: version, salt and, when a password is set, a fresh challenge.
    pub fn select(&mut self, version: [u8; 3]) -> Vec<u8> {
        let mut out = tlv::encode(tag::VERSION, &version);
        out.extend(tlv::encode(tag::NAME, &self.salt));
        self.unlocked = self.password_key.is_none();
        if self.password_key.is_some() {
            rand::rngs::OsRng.fill_bytes(&mut self.challenge);
            out.extend(tlv::encode(tag::CHALLENGE, &self.challenge));
            out.extend(tlv::encode(tag::ALGORITHM, &[HashAlgo::Sha1.bits()]));
        }
        out
    }

    fn code(&mut self, i: usize, challenge: &[u8], truncated: bool) -> Vec<u8> {
        let c = &mut self.creds[i];
        let msg = match c.oath_type {
            OathType::Hotp => {
                let m = u64::from(c.counter).to_be_bytes().to_vec();
                c.counter = c.counter.wrapping_add(1);
                m
            }
            OathType::Totp => challenge.to_vec(),
        };
        if c.touch {
            self.touches += 1;
        }
        let c = &self.creds[i];
        let h = c.algo.hmac(&c.key, &msg);
        if truncated {
            let mut v = vec![c.digits];
            v.extend_from_slice(&truncate(&h));
            tlv::encode(tag::TRUNCATED, &v)
        } else {
            let mut v = vec![c.digits];
            v.extend_from_slice(&h);
            tlv::encode(tag::RESPONSE, &v)
        }
    }

    /// Runs one command (after SELECT chose this applet).
    pub fn command(&mut self, ins_: u8, p1: u8, p2: u8, data: &[u8]) -> Answer {
        if !self.unlocked && !matches!(ins_, ins::VALIDATE | ins::RESET) {
            return sw(0x6982);
        }
        match ins_ {
            ins::PUT => {
                let Some(tlvs) = parse_put(data) else {
                    return sw(0x6A80);
                };
                let (Some(name), Some(key)) =
                    (tlv::find(&tlvs, tag::NAME), tlv::find(&tlvs, tag::KEY))
                else {
                    return sw(0x6A80);
                };
                if key.len() < 2 {
                    return sw(0x6A80);
                }
                let (Some(oath_type), Some(algo)) =
                    (OathType::from_bits(key[0]), HashAlgo::from_bits(key[0]))
                else {
                    return sw(0x6A80);
                };
                let imf = tlv::find(&tlvs, tag::IMF)
                    .and_then(|v| <[u8; 4]>::try_from(v).ok())
                    .map_or(0, u32::from_be_bytes);
                let cred = SoftCredential {
                    id: String::from_utf8_lossy(name).into_owned(),
                    oath_type,
                    algo,
                    digits: key[1],
                    key: key[2..].to_vec(),
                    touch: tlv::find(&tlvs, tag::PROPERTY)
                        .is_some_and(|p| p[0] & PROP_REQUIRE_TOUCH != 0),
                    counter: imf,
                };
                self.creds.retain(|c| c.id != cred.id);
                self.creds.push(cred);
                sw(0x9000)
            }
            ins::DELETE => {
                let Ok(tlvs) = tlv::parse(data) else {
                    return sw(0x6A80);
                };
                let name = tlv::find(&tlvs, tag::NAME).unwrap_or_default();
                let before = self.creds.len();
                self.creds.retain(|c| c.id.as_bytes() != name);
                sw(if self.creds.len() < before {
                    0x9000
                } else {
                    0x6A82
                })
            }
            ins::RESET if p1 == 0xDE && p2 == 0xAD => {
                *self = OathApplet::new();
                self.unlocked = true;
                sw(0x9000)
            }
            ins::LIST => {
                let mut out = Vec::new();
                for c in &self.creds {
                    let mut v = vec![c.oath_type.bits() | c.algo.bits()];
                    v.extend_from_slice(c.id.as_bytes());
                    out.extend(tlv::encode(tag::NAME_LIST, &v));
                }
                (out, 0x9000)
            }
            ins::CALCULATE => {
                let Ok(tlvs) = tlv::parse(data) else {
                    return sw(0x6A80);
                };
                let name = tlv::find(&tlvs, tag::NAME).unwrap_or_default();
                let challenge = tlv::find(&tlvs, tag::CHALLENGE)
                    .unwrap_or_default()
                    .to_vec();
                match self.creds.iter().position(|c| c.id.as_bytes() == name) {
                    Some(i) => (self.code(i, &challenge, p2 == 1), 0x9000),
                    None => sw(0x6A82),
                }
            }
            ins::CALCULATE_ALL => {
                let Ok(tlvs) = tlv::parse(data) else {
                    return sw(0x6A80);
                };
                let challenge = tlv::find(&tlvs, tag::CHALLENGE)
                    .unwrap_or_default()
                    .to_vec();
                let mut out = Vec::new();
                for i in 0..self.creds.len() {
                    let c = &self.creds[i];
                    out.extend(tlv::encode(tag::NAME, c.id.as_bytes()));
                    if c.touch {
                        out.extend(tlv::encode(tag::TOUCH, &[c.digits]));
                    } else if c.oath_type == OathType::Hotp {
                        out.extend(tlv::encode(tag::HOTP, &[c.digits]));
                    } else {
                        out.extend(self.code(i, &challenge, p2 == 1));
                    }
                }
                (out, 0x9000)
            }
            ins::SET_CODE => {
                let Ok(tlvs) = tlv::parse(data) else {
                    return sw(0x6A80);
                };
                match tlv::find(&tlvs, tag::KEY) {
                    Some([]) => {
                        self.password_key = None;
                        sw(0x9000)
                    }
                    Some(k) if k.len() > 1 => {
                        let key = k[1..].to_vec();
                        let challenge = tlv::find(&tlvs, tag::CHALLENGE).unwrap_or_default();
                        let response = tlv::find(&tlvs, tag::RESPONSE).unwrap_or_default();
                        if HashAlgo::Sha1.hmac(&key, challenge) != response {
                            return sw(0x6A80);
                        }
                        self.password_key = Some(key);
                        sw(0x9000)
                    }
                    _ => sw(0x6A80),
                }
            }
            ins::VALIDATE => {
                let Some(key) = self.password_key.clone() else {
                    return sw(0x6984);
                };
                let Ok(tlvs) = tlv::parse(data) else {
                    return sw(0x6A80);
                };
                let response = tlv::find(&tlvs, tag::RESPONSE).unwrap_or_default();
                if HashAlgo::Sha1.hmac(&key, &self.challenge) != response {
                    return sw(0x6A80);
                }
                self.unlocked = true;
                let host = tlv::find(&tlvs, tag::CHALLENGE).unwrap_or_default();
                (
                    tlv::encode(tag::RESPONSE, &HashAlgo::Sha1.hmac(&key, host)),
                    0x9000,
                )
            }
            _ => sw(0x6D00),
        }
    }
}
