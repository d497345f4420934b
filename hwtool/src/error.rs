//! The one error type of the library: what went wrong talking to a key or to the server, in words an admin can act on.

use thiserror::Error;

/// Everything a key operation can fail with.
#[derive(Debug, Error)]
pub enum HwError {
    #[error(
        "cannot reach the PC/SC service (pcscd): {0}. Is pcscd running? (start it with `pcscd` or its systemd socket)"
    )]
    NoService(String),
    #[error(
        "no smart card reader found (is a YubiKey plugged in, with its CCID interface enabled?)"
    )]
    NoReader,
    #[error("no reader matches \"{filter}\"; readers present: {available}")]
    ReaderNotFound { filter: String, available: String },
    #[error("no YubiKey in reader \"{0}\"")]
    NoCard(String),
    #[error("no YubiKey found (no PC/SC reader with a card, and no YubiKey OTP HID interface)")]
    NoDevice,
    #[error("PC/SC error: {0}")]
    Pcsc(String),
    #[error("HID error: {0}")]
    Hid(String),
    #[error("{what}: the key answered status word {sw:04X} ({meaning})")]
    Status {
        what: String,
        sw: u16,
        meaning: &'static str,
    },
    #[error("the key refused the command: {0}")]
    Rejected(String),
    #[error("slot {0} is already programmed: pass --force to overwrite it")]
    SlotProgrammed(u8),
    #[error(
        "the OATH applet is password protected: give its password (--password or TESSERA_OATH_PASSWORD)"
    )]
    OathLocked,
    #[error("wrong OATH password")]
    OathWrongPassword,
    #[error("unexpected answer from the key: {0}")]
    Protocol(String),
    #[error("timed out waiting for the key: {0}")]
    Timeout(String),
    #[error("{0}")]
    Invalid(String),
}

/// Short for `Result<T, HwError>`.
pub type Result<T> = std::result::Result<T, HwError>;

/// ISO 7816 meaning of the status words YubiKey applets return.
pub fn sw_meaning(sw: u16) -> &'static str {
    match sw {
        0x9000 => "success",
        0x6700 => "wrong length",
        0x6982 => "security status not satisfied (wrong or missing password / access code)",
        0x6984 => "reference data not usable",
        0x6985 => "conditions of use not satisfied (touch timeout?)",
        0x6A80 => "incorrect data",
        0x6A82 => "not found",
        0x6A84 => "not enough memory",
        0x6B00 => "wrong parameters",
        0x6D00 => "instruction not supported",
        0x6E00 => "class not supported",
        0x6F00 => "unknown error",
        _ => "unexpected status",
    }
}
