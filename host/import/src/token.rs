//! What every parser yields: an imported token or a per-item error, and the naming and hash rules they share.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

/// A token read from an import file, ready to be stored (the seed is wiped when dropped).
#[derive(Clone)]
pub struct ImportedToken {
    /// Serial as privacyIDEA names it (e.g. `UBAM12345678_X` for a YubiKey).
    pub serial: String,
    /// privacyIDEA token type: `hotp`, `totp`, `yubikey` or `pw`.
    pub tokentype: String,
    /// The secret: HMAC key for hotp/totp, AES key for yubikey, the password bytes for pw.
    pub otpkey: Zeroizing<Vec<u8>>,
    /// OTP length (digits for hotp/totp; public id length + 32 for yubikey).
    pub otplen: u32,
    /// `sha1`, `sha256` or `sha512` for hotp/totp; `None` for the others.
    pub hashlib: Option<String>,
    /// Counter the token starts at (HOTP moving factor); 0 when the file does not say.
    pub counter: u64,
    /// TOTP time step in seconds; `None` for the other types.
    pub timestep: Option<u32>,
    /// Description privacyIDEA gives the token (`imported`, the public id, the PSKC manufacturer).
    pub description: String,
    /// Owner from a `# version: 2` OATH CSV.
    pub user: Option<ImportUser>,
    /// 1-based line of the file where the token's row (or `<KeyPackage>` tag) is.
    pub line: usize,
    /// Token info to store with it: always `tokenkind=hardware`; `yubikey.prefix` / `yubikey.tokenid`
    /// for YubiKeys when the file names them; `timeShift` (seconds) from a PSKC `TimeDrift`.
    pub info: BTreeMap<String, String>,
}

impl fmt::Debug for ImportedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedToken")
            .field("serial", &self.serial)
            .field("tokentype", &self.tokentype)
            .field("otpkey", &format_args!("<{} bytes>", self.otpkey.len()))
            .field("otplen", &self.otplen)
            .field("hashlib", &self.hashlib)
            .field("counter", &self.counter)
            .field("timestep", &self.timestep)
            .field("description", &self.description)
            .field("user", &self.user)
            .field("line", &self.line)
            .field("info", &self.info)
            .finish()
    }
}

/// The owner columns of a `# version: 2` OATH CSV row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportUser {
    /// Login name.
    pub user: String,
    /// Resolver name; may be empty (privacyIDEA then looks the user up in the realm).
    pub resolver: String,
    /// Realm name; may be empty (the default realm).
    pub realm: String,
}

/// One row or key package that was not imported, and why. The rest of the file goes on unless `fatal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// 1-based line in the file.
    pub line: usize,
    /// The serial the token would have had, when it could be read.
    pub serial: Option<String>,
    /// Why, in words for the admin.
    pub reason: String,
    /// The file could not be read past this point (I/O or XML syntax error): nothing more follows.
    pub fatal: bool,
}

impl ItemError {
    pub(crate) fn new(line: usize, serial: Option<&str>, reason: impl Into<String>) -> Self {
        ItemError {
            line,
            serial: serial.filter(|s| !s.is_empty()).map(str::to_owned),
            reason: reason.into(),
            fatal: false,
        }
    }

    pub(crate) fn fatal(line: usize, reason: impl Into<String>) -> Self {
        ItemError {
            line,
            serial: None,
            reason: reason.into(),
            fatal: true,
        }
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(serial) = &self.serial {
            write!(f, " ({serial})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ItemError {}

/// The hash privacyIDEA assumes from a key's length: 32 bytes sha256, 64 bytes sha512, otherwise sha1.
/// (privacyIDEA also maps 28 and 48 bytes to sha224 / sha384, which Tessera's OATH plugins do not offer.)
pub(crate) fn hashlib_for_key(key: &[u8]) -> &'static str {
    match key.len() {
        32 => "sha256",
        64 => "sha512",
        _ => "sha1",
    }
}

/// Normalises a hash name from a file (`SHA256`, `hmac-sha256`, ...) to one Tessera knows.
pub(crate) fn parse_hashlib(text: &str) -> Option<&'static str> {
    let lower = text.trim().to_ascii_lowercase();
    let name = lower.strip_prefix("hmac-").unwrap_or(&lower);
    match name.replace('-', "").as_str() {
        "sha1" => Some("sha1"),
        "sha256" => Some("sha256"),
        "sha512" => Some("sha512"),
        _ => None,
    }
}

/// Token info every imported token carries: privacyIDEA marks imported tokens as hardware.
pub(crate) fn base_info() -> BTreeMap<String, String> {
    BTreeMap::from([("tokenkind".to_owned(), "hardware".to_owned())])
}

/// Adds what a YubiKey import knows about the device: the public id (the OTP prefix, modhex) and the
/// private id (hex). privacyIDEA learns both from the first OTP; knowing them up front lets a first OTP
/// from another key with the same AES key be refused.
pub(crate) fn add_yubikey_ids(
    info: &mut BTreeMap<String, String>,
    public_id: &str,
    private_id: Option<&str>,
) {
    if !public_id.is_empty() {
        info.insert("yubikey.prefix".to_owned(), public_id.to_ascii_lowercase());
    }
    if let Some(private_id) = private_id.filter(|p| !p.is_empty()) {
        info.insert(
            "yubikey.tokenid".to_owned(),
            private_id.to_ascii_lowercase(),
        );
    }
}

/// Decodes a hex field into a wiped buffer.
pub(crate) fn hex_secret(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    if text.is_empty() {
        return None;
    }
    hex::decode(text).ok().map(Zeroizing::new)
}

/// True for exactly `len` bytes written as hex.
pub(crate) fn is_hex_of_len(text: &str, len: usize) -> bool {
    text.len() == len * 2 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_from_key_length_and_names() {
        assert_eq!(hashlib_for_key(&[0; 20]), "sha1");
        assert_eq!(hashlib_for_key(&[0; 32]), "sha256");
        assert_eq!(hashlib_for_key(&[0; 64]), "sha512");
        assert_eq!(hashlib_for_key(&[0; 16]), "sha1");
        assert_eq!(parse_hashlib("SHA256"), Some("sha256"));
        assert_eq!(parse_hashlib("hmac-sha-512"), Some("sha512"));
        assert_eq!(parse_hashlib("md5"), None);
    }

    #[test]
    fn debug_never_shows_the_seed() {
        let t = ImportedToken {
            serial: "S".into(),
            tokentype: "hotp".into(),
            otpkey: Zeroizing::new(b"12345678901234567890".to_vec()),
            otplen: 6,
            hashlib: Some("sha1".into()),
            counter: 0,
            timestep: None,
            description: String::new(),
            user: None,
            line: 1,
            info: base_info(),
        };
        let shown = format!("{t:?}");
        assert!(shown.contains("<20 bytes>"), "{shown}");
        assert!(!shown.contains("49, 50"), "{shown}");
    }
}
