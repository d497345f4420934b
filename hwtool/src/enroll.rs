//! Enrollment in one step: program a slot with a fresh secret, then create the matching token on the server.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::error::HwError;
use crate::modhex;
use crate::otp::config::{ACC_CODE_SIZE, SlotConfig, SlotMode};
use crate::otp::{OtpBackend, OtpSession, Slot};
use crate::record::Record;
use crate::server::{Server, ServerError};

/// What to write into the slot and which token type it becomes on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollMode {
    /// OATH-HOTP, token type `hotp`, serial `UBOM<serial>_<slot>`.
    Hotp { digits: u8 },
    /// Yubico OTP with the serial-derived public id, token type `yubikey`, serial `UBAM<serial>_<slot>`.
    YubicoOtp,
}

/// One enrollment.
#[derive(Clone, Debug)]
pub struct EnrollRequest {
    pub user: String,
    pub realm: String,
    pub slot: Slot,
    pub mode: EnrollMode,
    /// Overwrite a programmed slot and re-initialise an existing token of the same serial.
    pub force: bool,
    /// The slot's current access code, if it has one (kept as the new one too).
    pub access_code: Option<[u8; ACC_CODE_SIZE]>,
    pub description: Option<String>,
}

/// A finished enrollment.
#[derive(Debug)]
pub struct Enrolled {
    pub token_serial: String,
    pub key_serial: u32,
    /// The secret written (HOTP key or AES key); shown only on request.
    pub secret: Zeroizing<Vec<u8>>,
}

/// Why an enrollment stopped, and whether the key was already changed.
#[derive(Debug, Error)]
pub enum EnrollError {
    #[error("{0} (nothing was changed)")]
    Key(#[from] HwError),
    #[error("{0} (nothing was changed)")]
    Server(#[from] ServerError),
    #[error(
        "token {0} already exists on the server (nothing was changed); pass --force to write a new secret and replace it"
    )]
    TokenExists(String),
    #[error(
        "YubiKey {key_serial} slot {slot} now holds a NEW secret, but the server did not create token {token_serial}: {cause}.\n\
         The key and the server do not match; the old slot content is gone.\n\
         To finish: fix the cause and run the same enroll command again with --force (it writes another fresh secret).\n\
         To undo on the key: tessera-hwtool otp delete {slot} --force{acc_hint}"
    )]
    HalfDone {
        key_serial: u32,
        slot: u8,
        token_serial: String,
        cause: ServerError,
        acc_hint: &'static str,
    },
}

/// Generates `n` random bytes.
pub fn random_bytes(n: usize) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(vec![0u8; n]);
    rand::rngs::OsRng.fill_bytes(&mut v);
    v
}

/// The public id ykman derives from a serial: `ff 00` followed by the serial (big-endian).
pub fn public_id_from_serial(serial: u32) -> Vec<u8> {
    let mut id = vec![0xFF, 0x00];
    id.extend_from_slice(&serial.to_be_bytes());
    id
}

/// The privacyIDEA-style token serial for a key slot.
pub fn token_serial(mode: EnrollMode, key_serial: u32, slot: Slot) -> String {
    let prefix = match mode {
        EnrollMode::Hotp { .. } => "UBOM",
        EnrollMode::YubicoOtp => "UBAM",
    };
    format!("{prefix}{key_serial}_{}", slot.number())
}

/// A fresh secret for `mode` in a slot configuration, and the record of what it holds.
pub fn fresh(
    mode: EnrollMode,
    key_serial: u32,
    slot: Slot,
    access_code: Option<[u8; ACC_CODE_SIZE]>,
) -> (SlotConfig, Record) {
    let mut record = Record {
        key_serial,
        slot: slot.number(),
        token_serial: token_serial(mode, key_serial, slot),
        hotp_digits: None,
        public_id: Vec::new(),
        private_id: None,
        secret: Zeroizing::new(Vec::new()),
        access_code,
        time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    let slot_mode = match mode {
        EnrollMode::Hotp { digits } => {
            record.secret = random_bytes(20);
            record.hotp_digits = Some(digits);
            SlotMode::Hotp {
                key: record.secret.to_vec(),
                digits,
                token_id: Vec::new(),
                imf: 0,
            }
        }
        EnrollMode::YubicoOtp => {
            record.secret = random_bytes(16);
            record.public_id = public_id_from_serial(key_serial);
            let mut private_id = [0u8; 6];
            private_id.copy_from_slice(&random_bytes(6));
            record.private_id = Some(private_id);
            let mut aes_key = [0u8; 16];
            aes_key.copy_from_slice(&record.secret);
            SlotMode::YubicoOtp {
                public_id: record.public_id.clone(),
                private_id,
                aes_key,
            }
        }
    };
    let mut config = SlotConfig::new(slot_mode);
    config.new_access_code = access_code;
    (config, record)
}

/// The `/token/init` parameters for a programmed slot (`user` may be empty: an unassigned token).
pub fn token_params(
    record: &Record,
    user: &str,
    realm: &str,
    description: Option<&str>,
) -> Vec<(String, String)> {
    let (token_type, otplen, what) = match record.hotp_digits {
        Some(d) => ("hotp", usize::from(d), "OATH-HOTP"),
        None => ("yubikey", 32 + 2 * record.public_id.len(), "Yubico OTP"),
    };
    let description = description.map_or_else(
        || format!("YubiKey {} slot {} {what}", record.key_serial, record.slot),
        str::to_string,
    );
    let mut p = vec![
        ("type".to_string(), token_type.to_string()),
        ("serial".to_string(), record.token_serial.clone()),
        ("otpkey".to_string(), hex::encode(&record.secret[..])),
        ("otplen".to_string(), otplen.to_string()),
        ("description".to_string(), description),
    ];
    if !user.is_empty() {
        p.push(("user".to_string(), user.to_string()));
    }
    if !realm.is_empty() {
        p.push(("realm".to_string(), realm.to_string()));
    }
    if record.hotp_digits.is_none() {
        p.push((
            "yubikey.prefix".to_string(),
            modhex::encode(&record.public_id),
        ));
    }
    p
}

/// Programs the key and creates the token. `server` must be logged in.
pub fn enroll<B: OtpBackend>(
    server: &Server,
    otp: &mut OtpSession<B>,
    req: &EnrollRequest,
) -> Result<Enrolled, EnrollError> {
    let key_serial = otp.serial()?;
    let serial = token_serial(req.mode, key_serial, req.slot);
    if !req.force && otp.refresh()?.slot_programmed(req.slot) {
        return Err(HwError::SlotProgrammed(req.slot.number()).into());
    }
    if !req.force && server.token_exists(&serial)? {
        return Err(EnrollError::TokenExists(serial));
    }
    let (config, record) = fresh(req.mode, key_serial, req.slot, req.access_code);
    otp.program(req.slot, &config, req.access_code, true)?;
    let params = Zeroizing::new(token_params(
        &record,
        &req.user,
        &req.realm,
        req.description.as_deref(),
    ));
    let form: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match server.init_token(&form) {
        Ok(_) => Ok(Enrolled {
            token_serial: serial,
            key_serial,
            secret: record.secret,
        }),
        Err(cause) => Err(half_done(&record, cause)),
    }
}

/// The error for a key that was written when the server then refused the token.
pub fn half_done(record: &Record, cause: ServerError) -> EnrollError {
    EnrollError::HalfDone {
        key_serial: record.key_serial,
        slot: record.slot,
        token_serial: record.token_serial.clone(),
        cause,
        acc_hint: if record.access_code.is_some() {
            " --access-code <the access code>"
        } else {
            ""
        },
    }
}
