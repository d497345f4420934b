//! Sealing secrets at rest: AES-256-GCM under a key read from a key file, bound to its record by the AAD.
//!
//! A sealed value is `nonce (12 bytes) || ciphertext || tag (16 bytes)`. The nonce is random, so one key
//! should seal fewer than 2^32 values (the usual bound for random 96-bit nonces); a token server is far below.
//! The AAD names the record the secret belongs to (for example `b"token:" + serial`), so a sealed seed
//! copied into another record does not open there.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce, Tag};
use rand::RngCore;
use zeroize::Zeroizing;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a key file could not be used or a sealed value could not be opened.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SealError {
    #[error("key file {0} does not exist")]
    KeyFileMissing(PathBuf),
    #[error(
        "key file {0} already exists; refusing to overwrite it (that would lose every sealed secret)"
    )]
    KeyFileExists(PathBuf),
    #[error("key file {path} is not a key: {reason} (expected 64 hex digits)")]
    KeyFileFormat { path: PathBuf, reason: String },
    #[error("key file {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// Wrong key, wrong AAD (the value belongs to another record) or altered bytes: GCM cannot tell which.
    #[error("sealed value does not open: wrong key, wrong record or altered bytes")]
    Open,
}

/// Seals and opens secrets with one AES-256-GCM key.
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer { .. }")
    }
}

impl Sealer {
    /// Write a new random key to `path` (64 hex digits and a newline, mode 0600, fsynced with its directory).
    /// Refuses to touch an existing file.
    pub fn create_key_file(path: &Path) -> Result<(), SealError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng
            .try_fill_bytes(key.as_mut())
            .map_err(|e| SealError::Random(e.to_string()))?;
        let mut text = Zeroizing::new(hex::encode(key.as_ref()));
        text.push('\n');

        let io = |e: std::io::Error| SealError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| match e.kind() {
                ErrorKind::AlreadyExists => SealError::KeyFileExists(path.to_path_buf()),
                _ => io(e),
            })?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        // The new directory entry must survive a crash too.
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent).and_then(|d| d.sync_all()).map_err(io)
    }

    /// Load the key in `path`. A file readable by group or others still loads, with a warning.
    pub fn from_key_file(path: &Path) -> Result<Sealer, SealError> {
        let io = |e: std::io::Error| SealError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let file = File::open(path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => SealError::KeyFileMissing(path.to_path_buf()),
            _ => io(e),
        })?;
        let mode = file.metadata().map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format_args!("{:o}", mode & 0o777),
                "key file is readable by other users; chmod 600 it");
        }
        let mut text = Zeroizing::new(Vec::with_capacity(2 * KEY_LEN + 1));
        // A key file is 65 bytes; do not read an arbitrary large file into memory.
        file.take(4 * KEY_LEN as u64)
            .read_to_end(&mut text)
            .map_err(io)?;
        let format = |reason: String| SealError::KeyFileFormat {
            path: path.to_path_buf(),
            reason,
        };
        let digits = text.as_slice().trim_ascii();
        if digits.len() != 2 * KEY_LEN {
            return Err(format(format!("{} characters", digits.len())));
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(digits, key.as_mut()).map_err(|e| format(e.to_string()))?;
        Ok(Sealer::from_key(&key))
    }

    /// A sealer for a raw key (tests and key migration).
    pub fn from_key(key: &[u8; KEY_LEN]) -> Sealer {
        Sealer {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// Encrypt `plain` bound to `aad`: returns `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + TAG_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        // GCM refuses only plaintexts or AADs over 2^36 bytes (64 GiB); the store seals seeds and passwords.
        #[allow(clippy::expect_used)]
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[NONCE_LEN..])
            .expect("AES-GCM input under 64 GiB");
        out.extend_from_slice(&tag);
        out
    }

    /// Decrypt a value made by `seal` with the same `aad`. The plaintext is wiped when dropped.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Open);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut plain = Zeroizing::new(body.to_vec());
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                aad,
                &mut plain,
                Tag::from_slice(tag),
            )
            .map_err(|_| SealError::Open)?;
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer_in(dir: &Path) -> Sealer {
        let path = dir.join("seal.key");
        Sealer::create_key_file(&path).unwrap();
        Sealer::from_key_file(&path).unwrap()
    }

    const SEED: &[u8] = b"12345678901234567890"; // RFC 4226 test seed

    #[test]
    fn round_trip_with_the_same_aad() {
        let dir = tempfile::tempdir().unwrap();
        let s = sealer_in(dir.path());
        let sealed = s.seal(b"token:OATH0001", SEED);
        assert_eq!(sealed.len(), NONCE_LEN + SEED.len() + TAG_LEN);
        assert!(!sealed.windows(SEED.len()).any(|w| w == SEED));
        assert_eq!(s.open(b"token:OATH0001", &sealed).unwrap().as_slice(), SEED);
        // Two seals of the same seed differ (fresh nonce).
        assert_ne!(s.seal(b"token:OATH0001", SEED), sealed);
        // The empty secret is allowed.
        assert!(s.open(b"x", &s.seal(b"x", b"")).unwrap().is_empty());
    }

    #[test]
    fn a_seed_moved_to_another_record_does_not_open() {
        let s = Sealer::from_key(&[7; 32]);
        let sealed = s.seal(b"token:OATH0001", SEED);
        assert!(matches!(
            s.open(b"token:OATH0002", &sealed),
            Err(SealError::Open)
        ));
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let s = Sealer::from_key(&[7; 32]);
        let sealed = s.seal(b"token:A", SEED);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                s.open(b"token:A", &bad).is_err(),
                "flipped byte {i} went unnoticed"
            );
        }
        assert!(s.open(b"token:A", &sealed[..sealed.len() - 1]).is_err());
        assert!(s.open(b"token:A", &sealed[..NONCE_LEN]).is_err());
    }

    #[test]
    fn another_key_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let a = sealer_in(dir.path());
        let b = Sealer::create_key_file(&dir.path().join("other.key"))
            .and_then(|()| Sealer::from_key_file(&dir.path().join("other.key")))
            .unwrap();
        let sealed = a.seal(b"token:A", SEED);
        assert!(matches!(b.open(b"token:A", &sealed), Err(SealError::Open)));
    }

    #[test]
    fn key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        Sealer::create_key_file(&path).unwrap();
        let before = std::fs::read(&path).unwrap();
        assert_eq!(before.len(), 65);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            Sealer::create_key_file(&path),
            Err(SealError::KeyFileExists(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn key_file_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.key");
        assert!(
            matches!(Sealer::from_key_file(&missing), Err(SealError::KeyFileMissing(p)) if p == missing)
        );
        let check = |content: &str| {
            let path = dir.path().join("bad.key");
            std::fs::write(&path, content).unwrap();
            Sealer::from_key_file(&path).map(|_| ())
        };
        assert!(matches!(
            check("abcd"),
            Err(SealError::KeyFileFormat { .. })
        ));
        assert!(matches!(
            check(&"zz".repeat(32)),
            Err(SealError::KeyFileFormat { .. })
        ));
        assert!(matches!(
            check(&"00".repeat(33)),
            Err(SealError::KeyFileFormat { .. })
        ));
        // A hand-written key without a trailing newline, or with CRLF, is fine (and 0644 only warns).
        check(&"0a".repeat(32)).unwrap();
        check(&format!("{}\r\n", "0A".repeat(32))).unwrap();
        let text = SealError::KeyFileFormat {
            path: "k".into(),
            reason: "4 characters".into(),
        }
        .to_string();
        assert!(text.contains("64 hex digits"), "{text}");
    }

    #[test]
    fn key_file_and_raw_key_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, format!("{}\n", "11".repeat(32))).unwrap();
        let from_file = Sealer::from_key_file(&path).unwrap();
        let sealed = Sealer::from_key(&[0x11; 32]).seal(b"a", b"secret");
        assert_eq!(from_file.open(b"a", &sealed).unwrap().as_slice(), b"secret");
    }
}
