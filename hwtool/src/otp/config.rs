//! The 52-byte OTP slot configuration (`struct config_st` of ykdef.h): built from a mode, checked by CRC, decoded back.

use crate::crc;
use crate::error::{HwError, Result};

pub const CONFIG_SIZE: usize = 52;
pub const ACC_CODE_SIZE: usize = 6;
pub const FIXED_SIZE: usize = 16;
pub const UID_SIZE: usize = 6;
pub const KEY_SIZE: usize = 16;
/// HMAC keys are 20 bytes: 16 in `key`, 4 in `uid`.
pub const HMAC_KEY_SIZE: usize = 20;

/// Offsets in the configuration.
const OFF_UID: usize = 16;
const OFF_KEY: usize = 22;
const OFF_ACC: usize = 38;
const OFF_FIXED_SIZE: usize = 44;
const OFF_EXT: usize = 45;
const OFF_TKT: usize = 46;
const OFF_CFG: usize = 47;
const OFF_CRC: usize = 50;

/// extFlags.
pub mod ext {
    pub const SERIAL_BTN_VISIBLE: u8 = 0x01;
    pub const SERIAL_USB_VISIBLE: u8 = 0x02;
    pub const SERIAL_API_VISIBLE: u8 = 0x04;
    pub const USE_NUMERIC_KEYPAD: u8 = 0x08;
    pub const FAST_TRIG: u8 = 0x10;
    pub const ALLOW_UPDATE: u8 = 0x20;
    pub const DORMANT: u8 = 0x40;
    pub const LED_INV: u8 = 0x80;
}

/// tktFlags.
pub mod tkt {
    pub const TAB_FIRST: u8 = 0x01;
    pub const APPEND_TAB1: u8 = 0x02;
    pub const APPEND_TAB2: u8 = 0x04;
    pub const APPEND_DELAY1: u8 = 0x08;
    pub const APPEND_DELAY2: u8 = 0x10;
    pub const APPEND_CR: u8 = 0x20;
    pub const OATH_HOTP: u8 = 0x40;
    pub const CHAL_RESP: u8 = 0x40;
    pub const PROTECT_CFG2: u8 = 0x80;
}

/// cfgFlags (their meaning depends on the mode).
pub mod cfg {
    pub const SEND_REF: u8 = 0x01;
    pub const OATH_HOTP8: u8 = 0x02;
    pub const HMAC_LT64: u8 = 0x04;
    pub const CHAL_BTN_TRIG: u8 = 0x08;
    pub const OATH_FIXED_MODHEX1: u8 = 0x10;
    pub const CHAL_YUBICO: u8 = 0x20;
    pub const CHAL_HMAC: u8 = 0x22;
    pub const OATH_FIXED_MODHEX2: u8 = 0x40;
    pub const OATH_FIXED_MODHEX: u8 = 0x50;
}

/// What a slot does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotMode {
    /// OATH-HOTP (RFC 4226) typed on touch. `key` up to 20 bytes (zero-padded, which HMAC ignores).
    /// `token_id` is sent before the code, all of it as modhex. `imf` (initial moving factor) is a multiple of 16.
    Hotp {
        key: Vec<u8>,
        digits: u8,
        token_id: Vec<u8>,
        imf: u32,
    },
    /// Yubico OTP: public id (0..16 bytes, typed as modhex), private id and AES-128 key.
    YubicoOtp {
        public_id: Vec<u8>,
        private_id: [u8; UID_SIZE],
        aes_key: [u8; KEY_SIZE],
    },
    /// HMAC-SHA1 challenge-response (challenges shorter than 64 bytes), optionally waiting for a touch.
    ChalResp { key: Vec<u8>, touch: bool },
}

/// A full slot configuration: the mode, an optional access code to set, and where the code ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotConfig {
    pub mode: SlotMode,
    /// The access code the slot will require from now on (`None`: no access code).
    pub new_access_code: Option<[u8; ACC_CODE_SIZE]>,
    /// Press Enter after the typed OTP (HOTP and Yubico OTP; ignored for challenge-response).
    pub append_cr: bool,
}

impl SlotConfig {
    pub fn new(mode: SlotMode) -> SlotConfig {
        SlotConfig {
            mode,
            new_access_code: None,
            append_cr: true,
        }
    }

    /// The 52 bytes written to the key, with the CRC, as ykman and libykpers build them for the same options.
    pub fn to_bytes(&self) -> Result<[u8; CONFIG_SIZE]> {
        let mut c = [0u8; CONFIG_SIZE];
        let mut ext = ext::SERIAL_API_VISIBLE | ext::ALLOW_UPDATE;
        let cr = if self.append_cr { tkt::APPEND_CR } else { 0 };
        match &self.mode {
            SlotMode::Hotp {
                key,
                digits,
                token_id,
                imf,
            } => {
                put_hmac_key(&mut c, key)?;
                if token_id.len() > FIXED_SIZE {
                    return Err(HwError::Invalid(format!(
                        "token id is {} bytes; at most {FIXED_SIZE}",
                        token_id.len()
                    )));
                }
                c[..token_id.len()].copy_from_slice(token_id);
                c[OFF_FIXED_SIZE] = len_u8(token_id.len());
                if imf % 16 != 0 || imf / 16 > 0xFFFF {
                    return Err(HwError::Invalid(format!(
                        "initial moving factor {imf} must be a multiple of 16 up to {}",
                        0xFFFF * 16
                    )));
                }
                let imf16 = u16::try_from(imf / 16).unwrap_or(u16::MAX);
                c[OFF_UID + 4..OFF_UID + 6].copy_from_slice(&imf16.to_be_bytes());
                ext |= ext::FAST_TRIG;
                c[OFF_TKT] = tkt::OATH_HOTP | cr;
                c[OFF_CFG] = match digits {
                    6 => 0,
                    8 => cfg::OATH_HOTP8,
                    d => {
                        return Err(HwError::Invalid(format!(
                            "HOTP digits must be 6 or 8, not {d}"
                        )));
                    }
                };
                if !token_id.is_empty() {
                    c[OFF_CFG] |= cfg::OATH_FIXED_MODHEX;
                }
            }
            SlotMode::YubicoOtp {
                public_id,
                private_id,
                aes_key,
            } => {
                if public_id.len() > FIXED_SIZE {
                    return Err(HwError::Invalid(format!(
                        "public id is {} bytes; at most {FIXED_SIZE}",
                        public_id.len()
                    )));
                }
                c[..public_id.len()].copy_from_slice(public_id);
                c[OFF_FIXED_SIZE] = len_u8(public_id.len());
                c[OFF_UID..OFF_UID + UID_SIZE].copy_from_slice(private_id);
                c[OFF_KEY..OFF_KEY + KEY_SIZE].copy_from_slice(aes_key);
                ext |= ext::FAST_TRIG;
                c[OFF_TKT] = cr;
            }
            SlotMode::ChalResp { key, touch } => {
                put_hmac_key(&mut c, key)?;
                c[OFF_TKT] = tkt::CHAL_RESP;
                c[OFF_CFG] = cfg::CHAL_HMAC | cfg::HMAC_LT64;
                if *touch {
                    c[OFF_CFG] |= cfg::CHAL_BTN_TRIG;
                }
            }
        }
        c[OFF_EXT] = ext;
        if let Some(acc) = self.new_access_code {
            c[OFF_ACC..OFF_ACC + ACC_CODE_SIZE].copy_from_slice(&acc);
        }
        let crc = !crc::crc16(&c[..OFF_CRC]);
        c[OFF_CRC..].copy_from_slice(&crc.to_le_bytes());
        Ok(c)
    }
}

fn len_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn put_hmac_key(c: &mut [u8; CONFIG_SIZE], key: &[u8]) -> Result<()> {
    if key.len() > HMAC_KEY_SIZE {
        return Err(HwError::Invalid(format!(
            "HMAC key is {} bytes; a YubiKey slot holds at most {HMAC_KEY_SIZE}",
            key.len()
        )));
    }
    let mut k = [0u8; HMAC_KEY_SIZE];
    k[..key.len()].copy_from_slice(key);
    c[OFF_KEY..OFF_KEY + KEY_SIZE].copy_from_slice(&k[..KEY_SIZE]);
    c[OFF_UID..OFF_UID + 4].copy_from_slice(&k[KEY_SIZE..]);
    Ok(())
}

/// A configuration read back into its parts (what a key does with the bytes it was sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub mode: SlotMode,
    pub access_code: [u8; ACC_CODE_SIZE],
    pub ext: u8,
    pub tkt: u8,
    pub cfg: u8,
}

impl Decoded {
    /// Decodes a configuration by mode, as ykpers does; `None` if the CRC is wrong.
    pub fn from_bytes(c: &[u8; CONFIG_SIZE]) -> Option<Decoded> {
        if !crc::check(c) {
            return None;
        }
        let (tktf, cfgf) = (c[OFF_TKT], c[OFF_CFG]);
        let fixed_len = usize::from(c[OFF_FIXED_SIZE]).min(FIXED_SIZE);
        let mut key20 = [0u8; HMAC_KEY_SIZE];
        key20[..KEY_SIZE].copy_from_slice(&c[OFF_KEY..OFF_KEY + KEY_SIZE]);
        key20[KEY_SIZE..].copy_from_slice(&c[OFF_UID..OFF_UID + 4]);
        let mode = if tktf & tkt::OATH_HOTP != 0 {
            if cfgf & cfg::CHAL_HMAC == cfg::CHAL_HMAC {
                SlotMode::ChalResp {
                    key: key20.to_vec(),
                    touch: cfgf & cfg::CHAL_BTN_TRIG != 0,
                }
            } else if cfgf & cfg::CHAL_HMAC == cfg::CHAL_YUBICO {
                // Yubico challenge-response: not produced by this tool; shown as Yubico OTP keys.
                SlotMode::YubicoOtp {
                    public_id: c[..fixed_len].to_vec(),
                    private_id: uid_of(c),
                    aes_key: aes_of(c),
                }
            } else {
                SlotMode::Hotp {
                    key: key20.to_vec(),
                    digits: if cfgf & cfg::OATH_HOTP8 != 0 { 8 } else { 6 },
                    token_id: c[..fixed_len].to_vec(),
                    imf: u32::from(u16::from_be_bytes([c[OFF_UID + 4], c[OFF_UID + 5]])) * 16,
                }
            }
        } else {
            SlotMode::YubicoOtp {
                public_id: c[..fixed_len].to_vec(),
                private_id: uid_of(c),
                aes_key: aes_of(c),
            }
        };
        let mut access_code = [0u8; ACC_CODE_SIZE];
        access_code.copy_from_slice(&c[OFF_ACC..OFF_ACC + ACC_CODE_SIZE]);
        Some(Decoded {
            mode,
            access_code,
            ext: c[OFF_EXT],
            tkt: tktf,
            cfg: cfgf,
        })
    }
}

fn uid_of(c: &[u8; CONFIG_SIZE]) -> [u8; UID_SIZE] {
    let mut u = [0u8; UID_SIZE];
    u.copy_from_slice(&c[OFF_UID..OFF_UID + UID_SIZE]);
    u
}

fn aes_of(c: &[u8; CONFIG_SIZE]) -> [u8; KEY_SIZE] {
    let mut k = [0u8; KEY_SIZE];
    k.copy_from_slice(&c[OFF_KEY..OFF_KEY + KEY_SIZE]);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three configurations ykman 4.0.9, ykman 5.9.2 and libykpers all produced (research doc §2.3, §4.2).
    fn check(config: SlotConfig, expected_hex: &str) {
        let bytes = config.to_bytes().unwrap();
        assert_eq!(hex::encode(bytes), expected_hex);
        let decoded = Decoded::from_bytes(&bytes).unwrap();
        match (&decoded.mode, &config.mode) {
            (SlotMode::Hotp { key: a, .. }, SlotMode::Hotp { key: b, .. })
            | (SlotMode::ChalResp { key: a, .. }, SlotMode::ChalResp { key: b, .. }) => {
                assert_eq!(&a[..b.len()], &b[..]);
            }
            (a, b) => assert_eq!(a, b),
        }
    }

    #[test]
    fn recorded_configurations() {
        check(
            SlotConfig::new(SlotMode::ChalResp {
                key: hex::decode("303132333435363738393a3b3c3d3e3f40414243").unwrap(),
                touch: false,
            }),
            "00000000000000000000000000000000404142430000303132333435363738393a3b3c3d3e3f0000000000000024402600000921",
        );
        check(
            SlotConfig::new(SlotMode::Hotp {
                key: b"12345678901234567890".to_vec(),
                digits: 8,
                token_id: vec![],
                imf: 0,
            }),
            "00000000000000000000000000000000373839300000313233343536373839303132333435360000000000000034600200009173",
        );
        check(
            SlotConfig::new(SlotMode::YubicoOtp {
                public_id: hex::decode("ff0000bc614e").unwrap(),
                private_id: [0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f],
                aes_key: hex::decode("00112233445566778899aabbccddeeff")
                    .unwrap()
                    .try_into()
                    .unwrap(),
            }),
            "ff0000bc614e000000000000000000000a1b2c3d4e5f00112233445566778899aabbccddeeff00000000000006342000000079ea",
        );
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let hotp = |key: Vec<u8>, digits, imf| {
            SlotConfig::new(SlotMode::Hotp {
                key,
                digits,
                token_id: vec![],
                imf,
            })
            .to_bytes()
        };
        assert!(hotp(vec![1; 21], 6, 0).is_err());
        assert!(hotp(vec![1; 20], 7, 0).is_err());
        assert!(hotp(vec![1; 20], 6, 17).is_err());
        assert!(hotp(vec![1; 20], 6, 16 * 0x10000).is_err());
        assert!(hotp(vec![1; 20], 6, 16 * 0xFFFF).is_ok());
    }
}
