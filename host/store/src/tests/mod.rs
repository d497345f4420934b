//! Store tests over real sled directories: record CRUD and the owner index, group commit, crash durability.

mod challenges;
mod crud;
mod durability;

use std::collections::BTreeMap;

use crate::{TokenOwner, TokenRecord};

/// An HOTP token as enrollment would create it.
pub(crate) fn token(serial: &str) -> TokenRecord {
    TokenRecord {
        id: 0,
        serial: serial.into(),
        tokentype: "hotp".into(),
        active: true,
        revoked: false,
        locked: false,
        description: String::new(),
        otplen: 6,
        count: 0,
        count_window: 10,
        sync_window: 1000,
        failcount: 0,
        maxfail: 10,
        info: BTreeMap::from([("hashlib".into(), "sha1".into())]),
        pin_hash: None,
        sealed_key: Some(vec![0xAB; 48]),
        owner: None,
        realms: Vec::new(),
        rollout_state: String::new(),
    }
}

pub(crate) fn owner(realm: &str, resolver: &str, user_id: &str) -> Option<TokenOwner> {
    Some(TokenOwner {
        realm: realm.into(),
        resolver: resolver.into(),
        user_id: user_id.into(),
    })
}
