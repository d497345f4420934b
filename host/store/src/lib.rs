//! Tessera's state: typed records in sled behind the `Store` trait, seeds sealed at rest, durable commits.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod codec;
mod commit;
pub mod records;
pub mod seal;
mod sled_store;
#[cfg(test)]
mod tests;

pub use commit::CommitTicket;

pub use records::*;
pub use seal::{SealError, Sealer};
pub use sled_store::SledStore;

/// Errors of the store. None of them is the caller's fault; the API maps them to HTTP 500.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Io(String),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("durable commit failed: {0}")]
    Commit(String),
    /// A caller broke the store's contract (for example `update_token` changing the serial): a bug upstream.
    #[error("invalid store request: {0}")]
    Invalid(String),
}

/// A token as read, with what is needed to update it only if nobody changed it meanwhile.
#[derive(Clone, Debug)]
pub struct Versioned<T> {
    pub value: T,
    /// The stored bytes the value was decoded from (compare-and-swap witness).
    pub raw: Vec<u8>,
}

/// Outcome of a conditional write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cas {
    /// Written.
    Done,
    /// The record changed (or vanished) since it was read; nothing was written.
    Conflict,
}

/// Filter for `list_tokens`; `None` fields match everything.
#[derive(Clone, Debug, Default)]
pub struct TokenFilter {
    pub serial: Option<String>,
    pub tokentype: Option<String>,
    /// Tokens owned by this user (resolver, user id).
    pub owner: Option<(String, String)>,
    /// Tokens in this realm.
    pub realm: Option<String>,
}

/// Everything Tessera stores. Implementations must be safe to share between threads.
/// Writes are atomic per call. A write is durable (survives a process or machine crash) only once
/// `commit` has returned for it: callers that answer a client based on a write call `commit` first.
pub trait Store: Send + Sync + 'static {
    // ---- tokens ----
    fn get_token(&self, serial: &str) -> Result<Option<Versioned<TokenRecord>>, StoreError>;
    /// Insert a new token, assigning `id`. Returns false (and writes nothing) if the serial exists.
    fn insert_token(&self, token: TokenRecord) -> Result<bool, StoreError>;
    /// Replace `old` with `new` (same serial) only if the stored bytes are still `old.raw`.
    /// Keeps the owner index in step with `new.owner`.
    fn update_token(
        &self,
        old: &Versioned<TokenRecord>,
        new: &TokenRecord,
    ) -> Result<Cas, StoreError>;
    /// Delete a token and its index entries. Returns false if it did not exist.
    fn delete_token(&self, serial: &str) -> Result<bool, StoreError>;
    /// Tokens matching the filter, ordered by serial.
    fn list_tokens(&self, filter: &TokenFilter) -> Result<Vec<TokenRecord>, StoreError>;
    /// Serials of the tokens owned by (resolver, user id), from the owner index.
    fn tokens_of_user(&self, resolver: &str, user_id: &str) -> Result<Vec<String>, StoreError>;

    // ---- resolvers, realms, admins, config ----
    fn put_resolver(&self, r: &ResolverRecord) -> Result<(), StoreError>;
    fn get_resolver(&self, name: &str) -> Result<Option<ResolverRecord>, StoreError>;
    fn list_resolvers(&self) -> Result<Vec<ResolverRecord>, StoreError>;
    fn delete_resolver(&self, name: &str) -> Result<bool, StoreError>;
    /// Insert or replace; `id` is assigned on first insert and kept on replace.
    fn put_realm(&self, r: RealmRecord) -> Result<RealmRecord, StoreError>;
    fn get_realm(&self, name: &str) -> Result<Option<RealmRecord>, StoreError>;
    fn list_realms(&self) -> Result<Vec<RealmRecord>, StoreError>;
    fn delete_realm(&self, name: &str) -> Result<bool, StoreError>;
    fn put_admin(&self, a: &AdminRecord) -> Result<(), StoreError>;
    fn get_admin(&self, name: &str) -> Result<Option<AdminRecord>, StoreError>;
    fn list_admins(&self) -> Result<Vec<AdminRecord>, StoreError>;
    fn delete_admin(&self, name: &str) -> Result<bool, StoreError>;
    /// System configuration (privacyIDEA's `/system/` keys, `DefaultRealm`, the JWT secret ...).
    fn get_config(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn set_config(&self, key: &str, value: &str) -> Result<(), StoreError>;
    fn delete_config(&self, key: &str) -> Result<bool, StoreError>;

    // ---- policies ----
    fn put_policy(&self, p: &PolicyRecord) -> Result<(), StoreError>;
    fn list_policies(&self) -> Result<Vec<PolicyRecord>, StoreError>;
    fn delete_policy(&self, name: &str) -> Result<bool, StoreError>;

    // ---- challenges ----
    /// Insert or replace the challenge of (transaction id, serial).
    fn put_challenge(&self, c: &ChallengeRecord) -> Result<(), StoreError>;
    /// The challenges of one transaction, expired ones included (the caller decides).
    fn challenges(&self, transaction_id: &str) -> Result<Vec<ChallengeRecord>, StoreError>;
    /// Remove every challenge of a transaction; returns how many there were. Atomic per
    /// challenge: of two concurrent callers, each challenge is reported removed by exactly one.
    fn take_challenges(&self, transaction_id: &str) -> Result<usize, StoreError>;
    /// Remove the challenges that expired before `now`; returns how many.
    fn purge_challenges(&self, now: f64) -> Result<usize, StoreError>;

    // ---- durability ----
    /// Make every write that returned before this call durable (group commit: concurrent callers
    /// share one flush + fdatasync). The returned ticket resolves once the data is on disk.
    fn commit(&self) -> CommitTicket;
}
