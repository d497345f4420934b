//! Local administrators and the JWT signing secret.

use rand::RngCore;
use tessera_proto::{ErrorKind, PiError};
use tessera_store::{AdminRecord, Sealer, Store};

use crate::{Tessera, store_err};

const JWT_SECRET_KEY: &str = "jwt_secret";
const JWT_SECRET_AAD: &[u8] = b"config:jwt_secret";

/// The HS256 key, created (32 random bytes, sealed with the enckey) on first start.
pub(crate) fn load_or_create_jwt_secret(
    store: &dyn Store,
    sealer: &Sealer,
) -> Result<Vec<u8>, PiError> {
    if let Some(hexed) = store.get_config(JWT_SECRET_KEY).map_err(store_err)? {
        let sealed = hex::decode(hexed).map_err(|_| jwt_corrupt())?;
        return sealer
            .open(JWT_SECRET_AAD, &sealed)
            .map(|k| k.to_vec())
            .map_err(|_| jwt_corrupt());
    }
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    store
        .set_config(
            JWT_SECRET_KEY,
            &hex::encode(sealer.seal(JWT_SECRET_AAD, &key)),
        )
        .map_err(store_err)?;
    store.commit().wait_blocking().map_err(store_err)?;
    Ok(key)
}

fn jwt_corrupt() -> PiError {
    tracing::error!(
        "the stored JWT secret cannot be opened with this enckey (was the enckey replaced?)"
    );
    PiError::internal()
}

impl Tessera {
    /// Whether `name`/`password` is a local administrator. Unknown names cost a hash too, so that
    /// timing does not tell which names exist.
    pub async fn verify_admin(&self, name: &str, password: &str) -> Result<bool, PiError> {
        let admin = self.inner.store.get_admin(name).map_err(store_err)?;
        match admin {
            Some(a) => {
                self.inner
                    .pins
                    .verify(a.password_hash, password.to_string())
                    .await
            }
            None => {
                let _ = self.inner.pins.hash(password.to_string()).await;
                Ok(false)
            }
        }
    }

    /// Create or replace an administrator (durable when this returns).
    pub async fn add_admin(&self, name: &str, password: &str) -> Result<(), PiError> {
        if name.is_empty()
            || name.len() > 64
            || name.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(PiError::parameter(format!(
                "invalid administrator name '{name}'"
            )));
        }
        if password.is_empty() {
            return Err(PiError::parameter(
                "the administrator password must not be empty",
            ));
        }
        let password_hash = self.inner.pins.hash(password.to_string()).await?;
        self.inner
            .store
            .put_admin(&AdminRecord {
                name: name.to_string(),
                password_hash,
            })
            .map_err(store_err)?;
        self.inner.store.commit().wait().await.map_err(store_err)
    }

    pub fn list_admins(&self) -> Result<Vec<String>, PiError> {
        Ok(self
            .inner
            .store
            .list_admins()
            .map_err(store_err)?
            .into_iter()
            .map(|a| a.name)
            .collect())
    }

    pub async fn delete_admin(&self, name: &str) -> Result<(), PiError> {
        if !self.inner.store.delete_admin(name).map_err(store_err)? {
            return Err(PiError::new(
                ErrorKind::ResourceNotFound,
                format!("no administrator named '{name}'"),
            ));
        }
        self.inner.store.commit().wait().await.map_err(store_err)
    }
}
