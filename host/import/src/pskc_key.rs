//! One PSKC `<KeyPackage>`, as read from the XML, turned into an imported token with privacyIDEA's rules:
//! serial from `DeviceInfo/SerialNo` else `Key/@Id` (Yubico's `serial:slot` ids become `UBAM<serial>_<slot>`
//! / `UBOM...`), type from the `Algorithm` URI, otplen from `ResponseFormat/@Length` (default 6), hash from
//! `Suite` (default sha1), counter, time step, description from `Manufacturer` (default `imported`).

use zeroize::Zeroizing;

use crate::pskc_crypto::{self, Cipher, DecryptError, MacAlg};
use crate::token::{ImportedToken, add_yubikey_ids, base_info, parse_hashlib};

/// The Algorithm URI of Yubico's AES (Yubico OTP) keys.
const YUBICO_AES: &str = "http://www.yubico.com/#yubikey-aes";

/// What a `<KeyPackage>` says, as text, before any checking.
#[derive(Default)]
pub struct RawPackage {
    /// Line of the `<KeyPackage>` tag.
    pub line: usize,
    pub manufacturer: Option<String>,
    pub serial_no: Option<String>,
    pub key_count: usize,
    pub key_id: Option<String>,
    pub algorithm: Option<String>,
    pub response_length: Option<String>,
    pub suite: Option<String>,
    pub plain_secret: Option<Zeroizing<String>>,
    pub encryption_method: Option<String>,
    pub cipher_value: Option<String>,
    pub value_mac: Option<String>,
    pub counter: Option<String>,
    pub time_interval: Option<String>,
    pub time_drift: Option<String>,
    /// A `Counter`, `Time...` value came encrypted (not supported).
    pub encrypted_data: bool,
    pub user_id: Option<String>,
}

/// The keys a file's header gave: the value encryption key and the MAC (algorithm and key).
#[derive(Default)]
pub struct Keys {
    pub encryption: Option<Zeroizing<Vec<u8>>>,
    pub mac: Option<(MacAlg, Zeroizing<Vec<u8>>)>,
}

/// Why a key package was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The `ValueMAC` is missing or does not verify.
    Mac(String),
    /// The secret does not decrypt with the key given.
    Decrypt(String),
    /// The secret is encrypted but no key was given.
    NoKey,
    /// Anything else about this package.
    Other(String),
}

impl KeyError {
    /// The reason shown to the admin.
    pub fn reason(&self) -> String {
        match self {
            KeyError::Mac(r) | KeyError::Decrypt(r) | KeyError::Other(r) => r.clone(),
            KeyError::NoKey => {
                "the secret is encrypted but no pre-shared key or password was given".to_owned()
            }
        }
    }
}

impl RawPackage {
    /// True when the secret is an `EncryptedValue`.
    pub fn is_encrypted(&self) -> bool {
        self.cipher_value.is_some()
    }

    /// The serial privacyIDEA gives this package (`None` when neither SerialNo nor Key Id is there).
    pub fn serial(&self) -> Option<String> {
        let id = self.key_id.as_deref().map(str::trim).unwrap_or_default();
        let algorithm = self.algorithm.as_deref().map(str::trim).unwrap_or_default();
        let yubico_prefix = match algorithm {
            YUBICO_AES => Some("UBAM"),
            "urn:ietf:params:xml:ns:keyprov:pskc:hotp" => Some("UBOM"),
            _ => None,
        };
        if let (Some(prefix), Some((serial, slot))) = (yubico_prefix, yubico_key_id(id)) {
            return Some(format!("{prefix}{serial}_{slot}"));
        }
        let serial_no = self.serial_no.as_deref().map(str::trim).unwrap_or_default();
        [serial_no, id]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// Checks and converts the package.
    pub fn into_token(self, keys: &Keys) -> Result<ImportedToken, KeyError> {
        if self.key_count == 0 {
            return Err(KeyError::Other("the KeyPackage has no Key".into()));
        }
        if self.key_count > 1 {
            return Err(KeyError::Other(
                "the KeyPackage has more than one Key".into(),
            ));
        }
        let serial = self
            .serial()
            .ok_or_else(|| KeyError::Other("no DeviceInfo/SerialNo and no Key Id".into()))?;
        let otpkey = self.secret(keys)?;
        let algorithm = self.algorithm.as_deref().map(str::trim).unwrap_or_default();
        let tokentype = match algorithm {
            YUBICO_AES => "yubikey".to_owned(),
            "" => return Err(KeyError::Other("the Key has no Algorithm".into())),
            uri => pskc_crypto::uri_suffix(uri),
        };
        if self.encrypted_data {
            return Err(KeyError::Other(
                "encrypted Counter or Time values are not supported".into(),
            ));
        }
        let length = parse_opt::<u32>(self.response_length.as_deref(), "ResponseFormat Length")?;
        let mut token = ImportedToken {
            serial,
            tokentype: tokentype.clone(),
            otpkey,
            otplen: 6,
            hashlib: None,
            counter: 0,
            timestep: None,
            description: self
                .manufacturer
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .unwrap_or("imported")
                .to_owned(),
            user: None,
            line: self.line,
            info: base_info(),
        };
        match tokentype.as_str() {
            "hotp" | "totp" => self.oath(&mut token, length)?,
            "yubikey" => {
                if token.otpkey.len() != 16 {
                    return Err(KeyError::Other("a Yubico OTP key is 16 bytes".into()));
                }
                let (public_id, private_id) = yubico_user_id(self.user_id.as_deref());
                let fallback = 32 + u32::try_from(public_id.map_or(12, str::len)).unwrap_or(12);
                token.otplen = length.unwrap_or(fallback);
                add_yubikey_ids(&mut token.info, public_id.unwrap_or_default(), private_id);
            }
            "pw" => {
                token.otplen =
                    length.unwrap_or_else(|| u32::try_from(token.otpkey.len()).unwrap_or(0));
            }
            other => {
                return Err(KeyError::Other(format!(
                    "algorithm '{other}' cannot be imported (hotp, totp, Yubico AES, pw)"
                )));
            }
        }
        Ok(token)
    }

    /// otplen, hash, counter, time step and drift of an OATH key.
    fn oath(&self, token: &mut ImportedToken, length: Option<u32>) -> Result<(), KeyError> {
        token.otplen = match length {
            None => 6,
            Some(n @ (6 | 8)) => n,
            Some(n) => {
                return Err(KeyError::Other(format!(
                    "ResponseFormat Length {n} is not 6 or 8"
                )));
            }
        };
        let hash = match self
            .suite
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => "sha1",
            Some(s) => parse_hashlib(s).ok_or_else(|| {
                KeyError::Other(format!("Suite '{s}' is not sha1, sha256 or sha512"))
            })?,
        };
        token.hashlib = Some(hash.to_owned());
        token.counter = parse_opt::<u64>(self.counter.as_deref(), "Counter")?.unwrap_or(0);
        if token.tokentype == "totp" {
            let step =
                parse_opt::<u32>(self.time_interval.as_deref(), "TimeInterval")?.unwrap_or(30);
            if !(1..=3600).contains(&step) {
                return Err(KeyError::Other(format!(
                    "TimeInterval {step} is not 1..3600 seconds"
                )));
            }
            token.timestep = Some(step);
            // RFC 6030 counts the drift in time steps; privacyIDEA's timeShift is in seconds.
            if let Some(drift) = parse_opt::<i64>(self.time_drift.as_deref(), "TimeDrift")? {
                let seconds = drift.saturating_mul(i64::from(step));
                token
                    .info
                    .insert("timeShift".to_owned(), seconds.to_string());
            }
        }
        Ok(())
    }

    /// The secret in clear: base64 `PlainValue`, or `EncryptedValue` checked against `ValueMAC` and decrypted.
    fn secret(&self, keys: &Keys) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if let Some(plain) = &self.plain_secret {
            return pskc_crypto::base64_decode(plain)
                .map(Zeroizing::new)
                .ok_or_else(|| KeyError::Other("the PlainValue secret is not base64".into()));
        }
        let Some(cipher_text) = &self.cipher_value else {
            return Err(KeyError::Other(
                "the Key has no secret (PlainValue or EncryptedValue)".into(),
            ));
        };
        let method = self.encryption_method.as_deref().unwrap_or_default();
        let cipher = Cipher::from_uri(method).ok_or_else(|| {
            KeyError::Other(format!(
                "encryption '{method}' is not supported (aes128/192/256-cbc)"
            ))
        })?;
        let data = pskc_crypto::base64_decode(cipher_text)
            .ok_or_else(|| KeyError::Other("the CipherValue is not base64".into()))?;
        let Some(key) = &keys.encryption else {
            return Err(KeyError::NoKey);
        };
        match (&keys.mac, &self.value_mac) {
            (Some((alg, mac_key)), Some(value_mac)) => {
                let expected = pskc_crypto::base64_decode(value_mac)
                    .ok_or_else(|| KeyError::Mac("the ValueMAC is not base64".into()))?;
                if !pskc_crypto::mac_verifies(*alg, mac_key, &data, &expected) {
                    return Err(KeyError::Mac("the ValueMAC does not verify".into()));
                }
            }
            (Some(_), None) => {
                return Err(KeyError::Mac("the encrypted secret has no ValueMAC".into()));
            }
            (None, Some(_)) => {
                return Err(KeyError::Mac(
                    "a ValueMAC but no MACMethod in the file header".into(),
                ));
            }
            // No MAC in the file at all: only the padding tells a wrong key.
            (None, None) => {}
        }
        pskc_crypto::decrypt(cipher, key, &data).map_err(|e| match e {
            DecryptError::KeyLength => KeyError::Decrypt(format!(
                "the key given is {} bytes; {method} needs {}",
                key.len(),
                cipher.key_len()
            )),
            DecryptError::Shape => {
                KeyError::Other("the CipherValue is not an IV and AES blocks".into())
            }
            DecryptError::Padding => {
                KeyError::Decrypt("the secret does not decrypt (wrong key?)".into())
            }
        })
    }
}

/// `283599:1` -> ("283599", "1") when it starts with digits, a colon and digits (privacyIDEA's `\d+:\d+`).
fn yubico_key_id(id: &str) -> Option<(&str, &str)> {
    let mut parts = id.split(':');
    let serial = parts.next()?;
    let slot = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(serial) && digits(slot)).then_some((serial, slot))
}

/// Yubico's `UserId` `CN=<public id>, UID=<private id>` (draft-josefsson-keyprov-pskc-yubikey).
fn yubico_user_id(user_id: Option<&str>) -> (Option<&str>, Option<&str>) {
    let mut public_id = None;
    let mut private_id = None;
    for part in user_id.unwrap_or_default().split(',') {
        match part.trim().split_once('=') {
            Some(("CN", v)) if crate::modhex::is_modhex(v.trim()) => public_id = Some(v.trim()),
            Some(("UID", v)) if crate::token::is_hex_of_len(v.trim(), 6) => {
                private_id = Some(v.trim())
            }
            _ => {}
        }
    }
    (public_id, private_id)
}

fn parse_opt<T: std::str::FromStr>(text: Option<&str>, what: &str) -> Result<Option<T>, KeyError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<T>()
            .map(Some)
            .map_err(|_| KeyError::Other(format!("{what} '{t}' is not a valid number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yubico_ids() {
        assert_eq!(yubico_key_id("283599:1"), Some(("283599", "1")));
        assert_eq!(yubico_key_id("283599"), None);
        assert_eq!(yubico_key_id("a:1"), None);
        assert_eq!(
            yubico_user_id(Some("CN=ekhgjhbctrgn, UID=ca62baca62ba")),
            (Some("ekhgjhbctrgn"), Some("ca62baca62ba"))
        );
        assert_eq!(
            yubico_user_id(Some("UID=jsmith,DC=example-bank,DC=net")),
            (None, None)
        );
    }

    #[test]
    fn serial_rules() {
        let mut raw = RawPackage {
            key_id: Some("12345678".into()),
            algorithm: Some("urn:ietf:params:xml:ns:keyprov:pskc:hotp".into()),
            ..RawPackage::default()
        };
        assert_eq!(raw.serial().as_deref(), Some("12345678"));
        raw.serial_no = Some(" 987654321 ".into());
        assert_eq!(raw.serial().as_deref(), Some("987654321"));
        raw.key_id = Some("508326:2".into());
        assert_eq!(raw.serial().as_deref(), Some("UBOM508326_2"));
        raw.algorithm = Some(YUBICO_AES.into());
        assert_eq!(raw.serial().as_deref(), Some("UBAM508326_2"));
    }
}
