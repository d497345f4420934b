//! The records Tessera keeps, as stored on disk (versioned: every stored value starts as `{"v":1,...}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who owns a token: a user id inside a resolver, reached through a realm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenOwner {
    pub realm: String,
    pub resolver: String,
    pub user_id: String,
}

/// One token. The seed is sealed (AES-256-GCM, see `seal`) before it reaches this record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Numeric id shown as `id` in `GET /token/`, assigned by the store on insert.
    pub id: u64,
    pub serial: String,
    /// The plugin's type name, for example `hotp`.
    pub tokentype: String,
    pub active: bool,
    pub revoked: bool,
    pub locked: bool,
    pub description: String,
    pub otplen: u32,
    /// privacyIDEA's `count`: next usable counter / time step.
    pub count: u64,
    pub count_window: u32,
    pub sync_window: u32,
    pub failcount: u32,
    pub maxfail: u32,
    /// privacyIDEA's tokeninfo: plugin-owned entries plus host entries (`count_auth`, `last_auth`, ...).
    pub info: BTreeMap<String, String>,
    /// PHC string of the OTP PIN (argon2id); `None` means the empty PIN.
    pub pin_hash: Option<String>,
    /// The sealed seed (nonce || ciphertext || tag), bound to the serial; `None` for keyless types.
    /// Stored as a hex string.
    #[serde(with = "hex_bytes")]
    pub sealed_key: Option<Vec<u8>>,
    pub owner: Option<TokenOwner>,
    /// Realms the token belongs to (the owner's realm is added on assignment).
    pub realms: Vec<String>,
    pub rollout_state: String,
}

/// A resolver configuration as given to `POST /resolver/<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverRecord {
    pub name: String,
    /// Wire type, for example `passwdresolver`.
    pub rtype: String,
    /// Configuration fields; password fields are sealed by the caller before storing.
    pub data: BTreeMap<String, String>,
}

/// One resolver inside a realm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealmResolver {
    pub name: String,
    /// Lower is searched first; `None` sorts last.
    pub priority: Option<u32>,
}

/// A realm: an ordered set of resolvers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealmRecord {
    pub id: u64,
    pub name: String,
    pub resolvers: Vec<RealmResolver>,
}

/// A local administrator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRecord {
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// `Option<Vec<u8>>` as an optional hex string: half the size of a JSON number array and faster to parse.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| hex::decode(text).map_err(D::Error::custom))
            .transpose()
    }
}

/// A policy, stored as the JSON its owner (`tessera-policy`) writes; the store does not interpret it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    pub body: String,
}

/// An open challenge of one token, privacyIDEA's `challenge` table row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChallengeRecord {
    /// 20 decimal digits, shared by all challenges created by one request.
    pub transaction_id: String,
    pub serial: String,
    /// Data the token type keeps with the challenge (for example the challenge text sent).
    pub data: String,
    /// Unix time of creation and of expiry.
    pub created: f64,
    pub expires: f64,
    /// Set when an out-of-band answer arrived (`/validate/polltransaction` reports it).
    pub answered: bool,
}
