//! PIN and password hashing: argon2id with configurable cost, run off the async workers.

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tessera_proto::PiError;

/// argon2id cost. The default is OWASP's (t=2, 19 MiB, p=1); privacyIDEA's own default is t=9, 64 MiB, p=4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinHashParams {
    pub t_cost: u32,
    pub m_cost_kib: u32,
    pub p_cost: u32,
}

impl Default for PinHashParams {
    fn default() -> Self {
        PinHashParams {
            t_cost: 2,
            m_cost_kib: 19_456,
            p_cost: 1,
        }
    }
}

/// Hashes and verifies PINs and admin passwords.
#[derive(Clone, Debug)]
pub struct PinHasher {
    params: Params,
}

impl PinHasher {
    pub fn new(p: PinHashParams) -> Result<Self, PiError> {
        let params = Params::new(p.m_cost_kib, p.t_cost, p.p_cost, None)
            .map_err(|e| PiError::parameter(format!("invalid argon2 parameters: {e}")))?;
        Ok(PinHasher { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// PHC string of `secret` with a fresh salt. Runs on the blocking pool.
    pub async fn hash(&self, secret: String) -> Result<String, PiError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            this.argon2()
                .hash_password(secret.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| internal(format!("argon2 hash failed: {e}")))
        })
        .await
        .map_err(|e| internal(format!("hash task failed: {e}")))?
    }

    /// Whether `secret` matches the PHC string (parameters are read from the string). Runs on the
    /// blocking pool so that a slow hash never stalls the async workers.
    pub async fn verify(&self, phc: String, secret: String) -> Result<bool, PiError> {
        tokio::task::spawn_blocking(move || verify_now(&phc, &secret))
            .await
            .map_err(|e| internal(format!("verify task failed: {e}")))?
    }
}

fn verify_now(phc: &str, secret: &str) -> Result<bool, PiError> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| internal(format!("stored hash unreadable: {e}")))?;
    Ok(Argon2::default()
        .verify_password(secret.as_bytes(), &parsed)
        .is_ok())
}

fn internal(detail: String) -> PiError {
    tracing::error!(%detail, "pin hashing");
    PiError::internal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = PinHasher::new(PinHashParams {
            t_cost: 1,
            m_cost_kib: 1024,
            p_cost: 1,
        })
        .unwrap();
        let phc = h.hash("test".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(h.verify(phc.clone(), "test".into()).await.unwrap());
        assert!(!h.verify(phc, "tesT".into()).await.unwrap());
    }
}
