//! Who may touch which token: the object of an admin right (the token's realm), and the
//! ownership rule of self-service (a realm user acts on their own tokens only).

use tessera_proto::PiError;
use tessera_store::TokenRecord;

use crate::{ResolvedUser, Tessera, store_err};

/// The realm, resolver and user id an admin policy sees when the object is this token.
/// A token without owner or realm has the realm "" (matches only policies without a realm).
pub fn token_target(t: &TokenRecord) -> (String, Option<String>) {
    match &t.owner {
        Some(o) => (o.realm.clone(), Some(o.resolver.clone())),
        None => (t.realms.first().cloned().unwrap_or_default(), None),
    }
}

impl Tessera {
    /// The token, or 404/601.
    pub fn token_record(&self, serial: &str) -> Result<TokenRecord, PiError> {
        self.inner
            .store
            .get_token(serial)
            .map_err(store_err)?
            .map(|v| v.value)
            .ok_or_else(PiError::token_not_found)
    }

    /// A realm user's own token, else 404/601 (the same answer as for a token that does not
    /// exist: a user learns nothing about other users' serials).
    pub fn own_token(&self, user: &ResolvedUser, serial: &str) -> Result<TokenRecord, PiError> {
        let t = self.token_record(serial)?;
        match &t.owner {
            Some(o) if o.resolver == user.resolver && o.user_id == user.user_id => Ok(t),
            _ => Err(PiError::token_not_found()),
        }
    }
}

/// Does `t` belong to `user`?
pub fn owned_by(t: &TokenRecord, user: &ResolvedUser) -> bool {
    t.owner
        .as_ref()
        .is_some_and(|o| o.resolver == user.resolver && o.user_id == user.user_id)
}
