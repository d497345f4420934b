//! The cryptography RFC 6030 PSKC files use: AES-CBC with the IV prepended (xmlenc), HMAC over IV||ciphertext
//! for `ValueMAC`, and PBKDF2 for password-derived keys. RustCrypto only; secrets in wiped buffers.

use aes::{Aes128, Aes192, Aes256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

/// Largest PBKDF2 iteration count accepted (about a second of work): more is a denial of service.
pub const MAX_PBKDF2_ITERATIONS: u32 = 1_000_000;

/// The last part of an algorithm URI: `http://www.w3.org/2001/04/xmlenc#aes128-cbc` -> `aes128-cbc`.
pub fn uri_suffix(uri: &str) -> String {
    let uri = uri.trim();
    uri.rsplit(['#', ':', '/'])
        .next()
        .unwrap_or(uri)
        .to_ascii_lowercase()
}

/// An xmlenc block cipher (CBC mode, PKCS#7 padding, IV in front of the ciphertext).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// `http://www.w3.org/2001/04/xmlenc#aes128-cbc`
    Aes128,
    /// `http://www.w3.org/2001/04/xmlenc#aes192-cbc`
    Aes192,
    /// `http://www.w3.org/2001/04/xmlenc#aes256-cbc`
    Aes256,
}

impl Cipher {
    /// From an `EncryptionMethod` `Algorithm` URI.
    pub fn from_uri(uri: &str) -> Option<Cipher> {
        match uri_suffix(uri).as_str() {
            "aes128-cbc" => Some(Cipher::Aes128),
            "aes192-cbc" => Some(Cipher::Aes192),
            "aes256-cbc" => Some(Cipher::Aes256),
            _ => None,
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }
}

/// Why a value did not decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// The key does not have the cipher's length.
    KeyLength,
    /// Not an IV followed by whole blocks.
    Shape,
    /// The padding is wrong: almost always a wrong key.
    Padding,
}

/// Decrypts `iv || ciphertext`.
pub fn decrypt(
    cipher: Cipher,
    key: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    if key.len() != cipher.key_len() {
        return Err(DecryptError::KeyLength);
    }
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return Err(DecryptError::Shape);
    }
    let (iv, body) = data.split_at(16);
    let plain = match cipher {
        Cipher::Aes128 => cbc::Decryptor::<Aes128>::new_from_slices(key, iv)
            .map_err(|_| DecryptError::KeyLength)?
            .decrypt_padded_vec_mut::<Pkcs7>(body),
        Cipher::Aes192 => cbc::Decryptor::<Aes192>::new_from_slices(key, iv)
            .map_err(|_| DecryptError::KeyLength)?
            .decrypt_padded_vec_mut::<Pkcs7>(body),
        Cipher::Aes256 => cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
            .map_err(|_| DecryptError::KeyLength)?
            .decrypt_padded_vec_mut::<Pkcs7>(body),
    };
    plain.map(Zeroizing::new).map_err(|_| DecryptError::Padding)
}

/// The HMAC of a `MACMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    /// `http://www.w3.org/2000/09/xmldsig#hmac-sha1` (RFC 6030's mandatory one)
    Sha1,
    /// `http://www.w3.org/2001/04/xmldsig-more#hmac-sha224`
    Sha224,
    /// `http://www.w3.org/2001/04/xmldsig-more#hmac-sha256`
    Sha256,
    /// `http://www.w3.org/2001/04/xmldsig-more#hmac-sha384`
    Sha384,
    /// `http://www.w3.org/2001/04/xmldsig-more#hmac-sha512`
    Sha512,
}

impl MacAlg {
    /// From a `MACMethod` `Algorithm` (or PBKDF2 `PRF`) URI.
    pub fn from_uri(uri: &str) -> Option<MacAlg> {
        match uri_suffix(uri).as_str() {
            "hmac-sha1" => Some(MacAlg::Sha1),
            "hmac-sha224" => Some(MacAlg::Sha224),
            "hmac-sha256" => Some(MacAlg::Sha256),
            "hmac-sha384" => Some(MacAlg::Sha384),
            "hmac-sha512" => Some(MacAlg::Sha512),
            _ => None,
        }
    }
}

/// Checks `expected == HMAC(key, data)` in constant time.
pub fn mac_verifies(alg: MacAlg, key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
        match <M as Mac>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.verify_slice(expected).is_ok()
            }
            Err(_) => false,
        }
    }
    match alg {
        MacAlg::Sha1 => check::<Hmac<Sha1>>(key, data, expected),
        MacAlg::Sha224 => check::<Hmac<Sha224>>(key, data, expected),
        MacAlg::Sha256 => check::<Hmac<Sha256>>(key, data, expected),
        MacAlg::Sha384 => check::<Hmac<Sha384>>(key, data, expected),
        MacAlg::Sha512 => check::<Hmac<Sha512>>(key, data, expected),
    }
}

/// PBKDF2 with the given PRF (RFC 8018); `len` bytes.
pub fn pbkdf2(
    prf: MacAlg,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    match prf {
        MacAlg::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
        MacAlg::Sha224 => pbkdf2::pbkdf2_hmac::<Sha224>(password, salt, iterations, &mut out),
        MacAlg::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
        MacAlg::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, salt, iterations, &mut out),
        MacAlg::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
    }
    out
}

/// Base64 with any white space (XML indentation inside the value) removed.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6030_figure6_mac_key_decrypts_under_the_pre_shared_key() {
        // RFC 6030 Figure 6: pre-shared key 12345678901234567890123456789012; the MAC key is
        // 1122334455667788990011223344556677889900.
        let psk = hex::decode("12345678901234567890123456789012").unwrap();
        let data =
            base64_decode("ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX")
                .unwrap();
        let mac_key = decrypt(Cipher::Aes128, &psk, &data).unwrap();
        assert_eq!(
            hex::encode(&*mac_key),
            "1122334455667788990011223344556677889900"
        );
        let mut wrong = psk.clone();
        wrong[0] ^= 1;
        assert!(decrypt(Cipher::Aes128, &wrong, &data).is_err());
        assert_eq!(
            decrypt(Cipher::Aes256, &psk, &data),
            Err(DecryptError::KeyLength)
        );
        assert_eq!(
            decrypt(Cipher::Aes128, &psk, &data[..40]),
            Err(DecryptError::Shape)
        );
    }

    #[test]
    fn rfc6030_figure7_pbkdf2_key() {
        // Password "qwerty", salt Ej7/PEpyEpw=, 1000 iterations, 16 bytes -> 651e63cd57008476af1ff6422cd02e41.
        let salt = base64_decode("Ej7/PEpyEpw=").unwrap();
        let key = pbkdf2(MacAlg::Sha1, b"qwerty", &salt, 1000, 16);
        assert_eq!(hex::encode(&*key), "651e63cd57008476af1ff6422cd02e41");
    }

    #[test]
    fn algorithm_uris() {
        assert_eq!(
            Cipher::from_uri("http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
            Some(Cipher::Aes128)
        );
        assert_eq!(
            Cipher::from_uri("http://www.w3.org/2001/04/xmlenc#kw-aes128"),
            None
        );
        assert_eq!(
            MacAlg::from_uri("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
            Some(MacAlg::Sha256)
        );
        assert_eq!(
            MacAlg::from_uri(" http://www.w3.org/2000/09/xmldsig#hmac-sha1\n"),
            Some(MacAlg::Sha1)
        );
        assert_eq!(
            uri_suffix("urn:ietf:params:xml:ns:keyprov:pskc:totp"),
            "totp"
        );
    }
}
