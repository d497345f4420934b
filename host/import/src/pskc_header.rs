//! The PSKC header: what `EncryptionKey` and `MACMethod` say, turned into the value key and MAC key,
//! from a pre-shared key or a password (PBKDF2, RFC 6030 §6.2) and the encrypted `MACKey` (§6.1.1).

use zeroize::Zeroizing;

use crate::pskc_crypto::{self, Cipher, MAX_PBKDF2_ITERATIONS, MacAlg};
use crate::pskc_key::Keys;
use crate::{FileError, Secret};

/// What the header says about encryption.
#[derive(Default)]
pub struct Header {
    pub encryption_key: bool,
    pub derived_key: bool,
    pub kdf_algorithm: Option<String>,
    pub salt: Option<String>,
    pub iterations: Option<String>,
    pub key_length: Option<String>,
    pub prf: Option<String>,
    pub mac_method: Option<String>,
    pub mac_key_method: Option<String>,
    pub mac_key_cipher: Option<String>,
}

/// The value encryption key (pre-shared or PBKDF2-derived) and the MAC key, from the header and the secret.
pub fn keys_from_header(h: &Header, secret: Secret) -> Result<Keys, FileError> {
    let encryption = if h.derived_key {
        let password = match secret {
            Secret::Password(p) => p,
            Secret::Psk(_) => {
                return Err(FileError::WrongSecretKind(
                    "the file's key is derived from a password: give the password, not a pre-shared key",
                ));
            }
            Secret::None => return Err(FileError::SecretRequired("give the password")),
        };
        Some(derive_key(h, password.as_bytes())?)
    } else {
        match secret {
            Secret::Psk(psk) => {
                if !matches!(psk.len(), 16 | 24 | 32) {
                    return Err(FileError::BadPsk);
                }
                Some(psk)
            }
            Secret::Password(_) if h.encryption_key => {
                return Err(FileError::WrongSecretKind(
                    "the file is encrypted with a pre-shared key: give the key (psk), not a password",
                ));
            }
            Secret::None if h.encryption_key => {
                return Err(FileError::SecretRequired("give the pre-shared key (psk)"));
            }
            Secret::Password(_) | Secret::None => None,
        }
    };
    let mac = match &h.mac_method {
        None => None,
        Some(uri) => {
            let alg = MacAlg::from_uri(uri)
                .ok_or_else(|| FileError::Unsupported(format!("MAC algorithm '{}'", uri.trim())))?;
            match (&h.mac_key_cipher, &encryption) {
                (Some(cipher_value), Some(key)) => {
                    let method = h.mac_key_method.as_deref().unwrap_or_default();
                    let cipher = Cipher::from_uri(method).ok_or_else(|| {
                        FileError::Unsupported(format!("MAC key encryption '{method}'"))
                    })?;
                    let data = pskc_crypto::base64_decode(cipher_value).ok_or_else(|| {
                        FileError::BadHeader("the MACKey CipherValue is not base64".into())
                    })?;
                    let mac_key = pskc_crypto::decrypt(cipher, key, &data).map_err(|_| {
                        FileError::WrongSecret("the MAC key does not decrypt".into())
                    })?;
                    Some((alg, mac_key))
                }
                (Some(_), None) => {
                    return Err(FileError::SecretRequired("give the pre-shared key (psk)"));
                }
                // No MACKey: earlier drafts MAC with the encryption key itself.
                (None, Some(key)) => Some((alg, key.clone())),
                (None, None) => None,
            }
        }
    };
    Ok(Keys { encryption, mac })
}

/// PBKDF2 from the `DerivedKey` parameters (RFC 6030 §6.2, Figure 7).
fn derive_key(h: &Header, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, FileError> {
    let kdf = h.kdf_algorithm.as_deref().unwrap_or_default();
    if pskc_crypto::uri_suffix(kdf) != "pbkdf2" {
        return Err(FileError::Unsupported(format!(
            "key derivation '{kdf}' (only PBKDF2)"
        )));
    }
    let missing = |what: &str| FileError::BadHeader(format!("PBKDF2 parameters without {what}"));
    let salt = h.salt.as_deref().ok_or_else(|| missing("Salt/Specified"))?;
    let salt = pskc_crypto::base64_decode(salt)
        .ok_or_else(|| FileError::BadHeader("the PBKDF2 salt is not base64".into()))?;
    let iterations: u32 = h
        .iterations
        .as_deref()
        .ok_or_else(|| missing("IterationCount"))?
        .parse()
        .map_err(|_| FileError::BadHeader("IterationCount is not a number".into()))?;
    if !(1..=MAX_PBKDF2_ITERATIONS).contains(&iterations) {
        return Err(FileError::Unsupported(format!(
            "{iterations} PBKDF2 iterations (at most {MAX_PBKDF2_ITERATIONS})"
        )));
    }
    let length: usize = h
        .key_length
        .as_deref()
        .ok_or_else(|| missing("KeyLength"))?
        .parse()
        .map_err(|_| FileError::BadHeader("KeyLength is not a number".into()))?;
    if !matches!(length, 16 | 24 | 32) {
        return Err(FileError::Unsupported(format!(
            "a {length}-byte derived key (16, 24 or 32)"
        )));
    }
    let prf = match h.prf.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => MacAlg::Sha1,
        Some(uri) => MacAlg::from_uri(uri)
            .ok_or_else(|| FileError::Unsupported(format!("PBKDF2 PRF '{uri}'")))?,
    };
    Ok(pskc_crypto::pbkdf2(
        prf, password, &salt, iterations, length,
    ))
}
