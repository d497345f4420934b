//! The audit key pair (RSA-2048, PSS-SHA256 with maximal salt as privacyIDEA's `Sign`), its PEM files,
//! and privacyIDEA's response signature (`rsa_sha256_pss:<hex>` over `json.dumps(body, sort_keys=True)`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::AuditError;
use crate::pyjson::dumps_sorted;

/// File name of the private key in the key directory (PKCS#8 PEM, mode 0600).
pub const PRIVATE_KEY_FILE: &str = "audit-private.pem";
/// File name of the public key in the key directory (SubjectPublicKeyInfo PEM).
pub const PUBLIC_KEY_FILE: &str = "audit-public.pem";
/// Prefix of every signature, as privacyIDEA writes it.
pub const SIG_PREFIX: &str = "rsa_sha256_pss:";

const KEY_BITS: usize = 2048;

/// The public half: verifies checkpoints, anchors and signed responses.
#[derive(Clone, PartialEq)]
pub struct AuditPublicKey {
    key: RsaPublicKey,
}

impl std::fmt::Debug for AuditPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditPublicKey({} bits)", self.key.n().bits())
    }
}

impl AuditPublicKey {
    /// Reads a public key PEM: `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1, what privacyIDEA's
    /// `pi-manage create_audit_keys` writes).
    pub fn from_pem(pem: &str) -> Result<AuditPublicKey, AuditError> {
        let key = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|e| AuditError::Key(format!("public key: {e}")))?;
        Ok(AuditPublicKey { key })
    }

    /// Reads a public key PEM file.
    pub fn load(path: &Path) -> Result<AuditPublicKey, AuditError> {
        let pem = fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?;
        Self::from_pem(&pem)
    }

    /// The key as SPKI PEM.
    pub fn to_pem(&self) -> Result<String, AuditError> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| AuditError::Key(e.to_string()))
    }

    /// Whether `signature` (`rsa_sha256_pss:<hex>`) is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Some(hex_sig) = signature.strip_prefix(SIG_PREFIX) else {
            return false;
        };
        let Ok(sig) = hex::decode(hex_sig) else {
            return false;
        };
        let hashed = Sha256::digest(message);
        let scheme = Pss::new_with_salt::<Sha256>(max_salt_len(&self.key));
        self.key.verify(scheme, &hashed, &sig).is_ok()
    }

    /// Whether `body["signature"]` signs the rest of `body` as privacyIDEA signs responses.
    pub fn verify_response(&self, body: &serde_json::Value) -> bool {
        match body.get("signature").and_then(|s| s.as_str()) {
            Some(sig) => self.verify(dumps_sorted(body, &["signature"]).as_bytes(), sig),
            None => false,
        }
    }
}

/// The private key (and its public half). Cheap to clone.
#[derive(Clone)]
pub struct AuditKeys {
    private: Arc<RsaPrivateKey>,
    public: AuditPublicKey,
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKeys")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl AuditKeys {
    /// Generates a 2048-bit key pair and writes `audit-private.pem` (PKCS#8, mode 0600) and `audit-public.pem`
    /// into `dir` (created if missing). Refuses to overwrite an existing private key.
    pub fn create(dir: &Path) -> Result<AuditKeys, AuditError> {
        let keys = Self::generate()?;
        fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        let private_pem = keys
            .private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| AuditError::Key(e.to_string()))?;
        let private_path = dir.join(PRIVATE_KEY_FILE);
        write_new(&private_path, private_pem.as_bytes(), 0o600)?;
        let public_path = dir.join(PUBLIC_KEY_FILE);
        let public_pem = keys.public.to_pem()?;
        // The public key may be replaced: it is derived from the private key just written.
        fs::write(&public_path, public_pem).map_err(|e| AuditError::io(&public_path, e))?;
        if let Ok(d) = fs::File::open(dir) {
            d.sync_all().map_err(|e| AuditError::io(dir, e))?;
        }
        Ok(keys)
    }

    /// A fresh key pair in memory (tests, benches).
    pub fn generate() -> Result<AuditKeys, AuditError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
            .map_err(|e| AuditError::Key(e.to_string()))?;
        Ok(Self::from_private(private))
    }

    /// Reads `audit-private.pem` from `dir` (PKCS#8 or PKCS#1 PEM); the public key is derived from it.
    pub fn load(dir: &Path) -> Result<AuditKeys, AuditError> {
        let path = dir.join(PRIVATE_KEY_FILE);
        let pem = fs::read_to_string(&path).map_err(|e| AuditError::io(&path, e))?;
        Self::from_pem(&pem)
    }

    /// Reads a private key PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<AuditKeys, AuditError> {
        let private = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| AuditError::Key(format!("private key: {e}")))?;
        Ok(Self::from_private(private))
    }

    fn from_private(private: RsaPrivateKey) -> AuditKeys {
        let public = AuditPublicKey {
            key: private.to_public_key(),
        };
        AuditKeys {
            private: Arc::new(private),
            public,
        }
    }

    /// The public half.
    pub fn public(&self) -> &AuditPublicKey {
        &self.public
    }

    /// `rsa_sha256_pss:<hex>`: RSA-PSS, SHA-256, MGF1-SHA-256, maximal salt (privacyIDEA's `Sign.sign`).
    pub fn sign(&self, message: &[u8]) -> Result<String, AuditError> {
        let hashed = Sha256::digest(message);
        let scheme = Pss::new_with_salt::<Sha256>(max_salt_len(&self.public.key));
        let sig = self
            .private
            .sign_with_rng(&mut rand::rngs::OsRng, scheme, &hashed)
            .map_err(|e| AuditError::Key(format!("signing failed: {e}")))?;
        Ok(format!("{SIG_PREFIX}{}", hex::encode(sig)))
    }

    /// The `signature` privacyIDEA puts in a JSON answer: the body serialized as `json.dumps(body,
    /// sort_keys=True)` without its `signature` key. Put the request's `nonce` into the body first
    /// (see [`AuditKeys::add_signature`]). An empty string when signing fails (logged), as privacyIDEA does.
    pub fn sign_response(&self, body: &serde_json::Value) -> String {
        let text = dumps_sorted(body, &["signature"]);
        self.sign(text.as_bytes())
            .inspect_err(|e| tracing::error!(%e, "response not signed"))
            .unwrap_or_default()
    }

    /// What privacyIDEA's `sign_response` does to an answer: echo `nonce` (if the request had one), then add
    /// `signature`. Does nothing to a body that is not a JSON object.
    pub fn add_signature(&self, body: &mut serde_json::Value, nonce: Option<&str>) {
        if let (Some(nonce), Some(map)) = (nonce.filter(|n| !n.is_empty()), body.as_object_mut()) {
            map.insert("nonce".into(), nonce.into());
        }
        let sig = self.sign_response(body);
        if let Some(map) = body.as_object_mut() {
            map.insert("signature".into(), sig.into());
        }
    }

    /// See [`AuditPublicKey::verify_response`].
    pub fn verify_response(&self, body: &serde_json::Value) -> bool {
        self.public.verify_response(body)
    }
}

/// emLen - hLen - 2 (Python's `PSS.MAX_LENGTH`): 222 bytes for a 2048-bit key.
fn max_salt_len(key: &RsaPublicKey) -> usize {
    (key.n().bits() + 6) / 8 - 32 - 2
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AuditError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| AuditError::io(path, e))?;
    f.write_all(bytes).map_err(|e| AuditError::io(path, e))?;
    f.sync_all().map_err(|e| AuditError::io(path, e))
}
