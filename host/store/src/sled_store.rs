//! `SledStore`: the `Store` trait over sled trees, with an owner index kept in step by transactions.
//!
//! Trees: `tokens` (serial -> token), `token_owners` (escaped `resolver 0 user_id 0 serial` -> empty),
//! `resolvers`, `realms`, `admins`, `policies` (name -> record), `challenges` (`transaction id 0 serial`
//! -> record), `config` (key -> string) and `meta` (id counters and the store format). Values are `codec` envelopes. sled 0.34 runs every transaction under a global write
//! lock that single-key operations respect, so a plain `compare_and_swap` is atomic with respect to them.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::{IVec, Transactional, Tree};

use crate::codec::{corrupt, decode, encode, owner_key, owner_prefix, serial_of_owner_key};
use crate::commit::{Committer, DiskSyncer, Syncer};
use crate::{
    AdminRecord, Cas, ChallengeRecord, CommitTicket, PolicyRecord, RealmRecord, ResolverRecord,
    Store, StoreError, TokenFilter, TokenRecord, Versioned,
};

const TOKENS: &str = "tokens";
const OWNERS: &str = "token_owners";
const FORMAT_KEY: &[u8] = b"format";
const FORMAT: &[u8] = b"1";
const TOKEN_SEQ: &[u8] = b"token_id_seq";
const REALM_SEQ: &[u8] = b"realm_id_seq";

/// The sled-backed store. Dropping it answers pending commits and stops the commit thread.
pub struct SledStore {
    // Declared first so it drops first: the commit thread finishes before the trees go.
    committer: Committer,
    dir: PathBuf,
    // pub(crate) so tests can damage records behind the store's back.
    pub(crate) tokens: Tree,
    pub(crate) owners: Tree,
    resolvers: Tree,
    realms: Tree,
    admins: Tree,
    pub(crate) config: Tree,
    pub(crate) meta: Tree,
    policies: Tree,
    challenges: Tree,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Io(e.to_string()),
    }
}

fn tx_err(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => io(e),
    }
}

/// Abort a transaction with a store error.
fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

fn storage(e: UnabortableTransactionError) -> ConflictableTransactionError<StoreError> {
    e.into()
}

impl SledStore {
    /// Open (or create) the store in `dir` and start its commit thread.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        Self::open_with(dir, |db, dir| Ok(Box::new(DiskSyncer::new(db, dir)?)))
    }

    /// Open with a syncer built from the sled handle (tests wrap the production syncer).
    pub(crate) fn open_with(
        dir: &Path,
        syncer: impl FnOnce(sled::Db, &Path) -> Result<Box<dyn Syncer>, StoreError>,
    ) -> Result<SledStore, StoreError> {
        let created = !dir.exists();
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Io(format!("creating {}: {e}", dir.display())))?;
        let db = sled::Config::new().path(dir).open().map_err(io)?;
        let tree = |name: &str| db.open_tree(name).map_err(io);
        let store_meta = tree("meta")?;
        match store_meta.get(FORMAT_KEY).map_err(io)? {
            None => {
                let _ = store_meta.insert(FORMAT_KEY, FORMAT).map_err(io)?;
            }
            Some(v) if v == FORMAT => {}
            Some(v) => {
                return Err(corrupt(
                    "meta",
                    FORMAT_KEY,
                    &format_args!("unknown store format {:?}", String::from_utf8_lossy(&v)),
                ));
            }
        }
        let mut syncer = syncer(db.clone(), dir)?;
        // sled never fsyncs its `conf` file or directory entries: make a new store durable right away.
        syncer.sync()?;
        if created && let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(|e| StoreError::Io(format!("fsync {}: {e}", parent.display())))?;
        }
        Ok(SledStore {
            committer: Committer::start(syncer)?,
            dir: dir.to_path_buf(),
            tokens: tree(TOKENS)?,
            owners: tree(OWNERS)?,
            resolvers: tree("resolvers")?,
            realms: tree("realms")?,
            admins: tree("admins")?,
            config: tree("config")?,
            meta: store_meta,
            policies: tree("policies")?,
            challenges: tree("challenges")?,
        })
    }

    /// (sync rounds done, commit tickets answered): tickets / syncs is the group-commit batch size.
    pub fn commit_stats(&self) -> (u64, u64) {
        self.committer.stats()
    }

    /// Tokens of an owner, decoded, in serial order.
    fn owned_tokens(&self, resolver: &str, user_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let mut out = Vec::new();
        for serial in self.tokens_of_user(resolver, user_id)? {
            // The index and the tokens tree change together; a miss means a concurrent delete.
            if let Some(raw) = self.tokens.get(&serial).map_err(io)? {
                out.push(decode(TOKENS, serial.as_bytes(), &raw)?);
            }
        }
        Ok(out)
    }

    /// Index keys pointing at `serial` (only for deleting a token whose record does not decode).
    fn index_keys_of(&self, serial: &str) -> Result<Vec<IVec>, StoreError> {
        let mut keys = Vec::new();
        for entry in self.owners.iter().keys() {
            let key = entry.map_err(io)?;
            if serial_of_owner_key(&key).is_ok_and(|s| s == serial) {
                keys.push(key);
            }
        }
        Ok(keys)
    }
}

/// The next value of a counter in `meta` (first value 1).
fn next_id(
    meta: &TransactionalTree,
    key: &[u8],
) -> Result<u64, ConflictableTransactionError<StoreError>> {
    let last = match meta.get(key).map_err(storage)? {
        None => 0,
        Some(v) => {
            let bytes: [u8; 8] = v
                .as_ref()
                .try_into()
                .map_err(|_| abort(corrupt("meta", key, &"not a u64")))?;
            u64::from_be_bytes(bytes)
        }
    };
    let next = last + 1;
    let _ = meta.insert(key, &next.to_be_bytes()).map_err(storage)?;
    Ok(next)
}

/// `transaction id 0 serial`: the challenges of one transaction are one prefix scan.
fn challenge_key(transaction_id: &str, serial: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(transaction_id.len() + 1 + serial.len());
    k.extend_from_slice(transaction_id.as_bytes());
    k.push(0);
    k.extend_from_slice(serial.as_bytes());
    k
}

fn owner_index_key(t: &TokenRecord) -> Option<Vec<u8>> {
    t.owner
        .as_ref()
        .map(|o| owner_key(&o.resolver, &o.user_id, &t.serial))
}

fn get_decoded<T: DeserializeOwned>(
    tree: &Tree,
    name: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match tree.get(key).map_err(io)? {
        None => Ok(None),
        Some(raw) => decode(name, key.as_bytes(), &raw).map(Some),
    }
}

fn list_decoded<T: DeserializeOwned>(tree: &Tree, name: &str) -> Result<Vec<T>, StoreError> {
    tree.iter()
        .map(|kv| {
            let (key, raw) = kv.map_err(io)?;
            decode(name, &key, &raw)
        })
        .collect()
}

fn put_encoded<T: Serialize>(tree: &Tree, key: &str, value: &T) -> Result<(), StoreError> {
    let _ = tree.insert(key, encode(value)?).map_err(io)?;
    Ok(())
}

fn remove(tree: &Tree, key: &str) -> Result<bool, StoreError> {
    Ok(tree.remove(key).map_err(io)?.is_some())
}

impl Store for SledStore {
    fn get_token(&self, serial: &str) -> Result<Option<Versioned<TokenRecord>>, StoreError> {
        let Some(raw) = self.tokens.get(serial).map_err(io)? else {
            return Ok(None);
        };
        let value = decode(TOKENS, serial.as_bytes(), &raw)?;
        Ok(Some(Versioned {
            value,
            raw: raw.to_vec(),
        }))
    }

    fn insert_token(&self, token: TokenRecord) -> Result<bool, StoreError> {
        let index = owner_index_key(&token);
        (&self.tokens, &self.owners, &self.meta)
            .transaction(|(tokens, owners, meta)| {
                if tokens.get(token.serial.as_bytes())?.is_some() {
                    return Ok(false);
                }
                let mut stored = token.clone();
                stored.id = next_id(meta, TOKEN_SEQ)?;
                let _ = tokens.insert(stored.serial.as_bytes(), encode(&stored).map_err(abort)?)?;
                if let Some(key) = &index {
                    let _ = owners.insert(key.as_slice(), &[])?;
                }
                Ok(true)
            })
            .map_err(tx_err)
    }

    fn update_token(
        &self,
        old: &Versioned<TokenRecord>,
        new: &TokenRecord,
    ) -> Result<Cas, StoreError> {
        if new.serial != old.value.serial || new.id != old.value.id {
            return Err(StoreError::Invalid(format!(
                "update_token may not change serial or id ({} #{} -> {} #{})",
                old.value.serial, old.value.id, new.serial, new.id
            )));
        }
        let bytes = encode(new)?;
        if old.value.owner == new.owner {
            // Hot path: the index does not change, so one compare-and-swap on the token is enough.
            let swapped = self
                .tokens
                .compare_and_swap(new.serial.as_bytes(), Some(old.raw.as_slice()), Some(bytes))
                .map_err(io)?;
            return Ok(if swapped.is_ok() {
                Cas::Done
            } else {
                Cas::Conflict
            });
        }
        let (old_key, new_key) = (owner_index_key(&old.value), owner_index_key(new));
        (&self.tokens, &self.owners)
            .transaction(|(tokens, owners)| {
                match tokens.get(new.serial.as_bytes())? {
                    Some(current) if current == old.raw.as_slice() => {}
                    _ => return Ok(Cas::Conflict),
                }
                let _ = tokens.insert(new.serial.as_bytes(), bytes.as_slice())?;
                if let Some(key) = &old_key {
                    let _ = owners.remove(key.as_slice())?;
                }
                if let Some(key) = &new_key {
                    let _ = owners.insert(key.as_slice(), &[])?;
                }
                Ok(Cas::Done)
            })
            .map_err(tx_err)
    }

    fn delete_token(&self, serial: &str) -> Result<bool, StoreError> {
        let attempt = (&self.tokens, &self.owners).transaction(|(tokens, owners)| {
            let Some(raw) = tokens.get(serial.as_bytes())? else {
                return Ok(false);
            };
            let token: TokenRecord = decode(TOKENS, serial.as_bytes(), &raw).map_err(abort)?;
            let _ = tokens.remove(serial.as_bytes())?;
            if let Some(key) = owner_index_key(&token) {
                let _ = owners.remove(key)?;
            }
            Ok(true)
        });
        match attempt {
            Err(TransactionError::Abort(StoreError::Corrupt(why))) => {
                // An undecodable token must still be deletable: find its index entries by scanning.
                tracing::warn!(serial, why, "deleting a corrupt token record");
                let keys = self.index_keys_of(serial)?;
                (&self.tokens, &self.owners)
                    .transaction(|(tokens, owners)| {
                        for key in &keys {
                            let _ = owners.remove(key)?;
                        }
                        Ok(tokens.remove(serial.as_bytes())?.is_some())
                    })
                    .map_err(tx_err)
            }
            other => other.map_err(tx_err),
        }
    }

    fn list_tokens(&self, filter: &TokenFilter) -> Result<Vec<TokenRecord>, StoreError> {
        let candidates = if let Some(serial) = &filter.serial {
            get_decoded(&self.tokens, TOKENS, serial)?
                .into_iter()
                .collect()
        } else if let Some((resolver, user_id)) = &filter.owner {
            self.owned_tokens(resolver, user_id)?
        } else {
            list_decoded(&self.tokens, TOKENS)?
        };
        let keep = |t: &TokenRecord| {
            filter.serial.as_ref().is_none_or(|s| *s == t.serial)
                && filter
                    .tokentype
                    .as_ref()
                    .is_none_or(|ty| *ty == t.tokentype)
                && filter.owner.as_ref().is_none_or(|(r, u)| {
                    t.owner
                        .as_ref()
                        .is_some_and(|o| o.resolver == *r && o.user_id == *u)
                })
                && filter.realm.as_ref().is_none_or(|realm| {
                    t.realms.contains(realm) || t.owner.as_ref().is_some_and(|o| o.realm == *realm)
                })
        };
        Ok(candidates.into_iter().filter(keep).collect())
    }

    fn tokens_of_user(&self, resolver: &str, user_id: &str) -> Result<Vec<String>, StoreError> {
        self.owners
            .scan_prefix(owner_prefix(resolver, user_id))
            .keys()
            .map(|key| serial_of_owner_key(&key.map_err(io)?))
            .collect()
    }

    fn put_resolver(&self, r: &ResolverRecord) -> Result<(), StoreError> {
        put_encoded(&self.resolvers, &r.name, r)
    }
    fn get_resolver(&self, name: &str) -> Result<Option<ResolverRecord>, StoreError> {
        get_decoded(&self.resolvers, "resolvers", name)
    }
    fn list_resolvers(&self) -> Result<Vec<ResolverRecord>, StoreError> {
        list_decoded(&self.resolvers, "resolvers")
    }
    fn delete_resolver(&self, name: &str) -> Result<bool, StoreError> {
        remove(&self.resolvers, name)
    }

    fn put_realm(&self, r: RealmRecord) -> Result<RealmRecord, StoreError> {
        (&self.realms, &self.meta)
            .transaction(|(realms, meta)| {
                let mut stored = r.clone();
                stored.id = match realms.get(r.name.as_bytes())? {
                    Some(raw) => {
                        decode::<RealmRecord>("realms", r.name.as_bytes(), &raw)
                            .map_err(abort)?
                            .id
                    }
                    None => next_id(meta, REALM_SEQ)?,
                };
                let _ = realms.insert(r.name.as_bytes(), encode(&stored).map_err(abort)?)?;
                Ok(stored)
            })
            .map_err(tx_err)
    }
    fn get_realm(&self, name: &str) -> Result<Option<RealmRecord>, StoreError> {
        get_decoded(&self.realms, "realms", name)
    }
    fn list_realms(&self) -> Result<Vec<RealmRecord>, StoreError> {
        list_decoded(&self.realms, "realms")
    }
    fn delete_realm(&self, name: &str) -> Result<bool, StoreError> {
        remove(&self.realms, name)
    }

    fn put_admin(&self, a: &AdminRecord) -> Result<(), StoreError> {
        put_encoded(&self.admins, &a.name, a)
    }
    fn get_admin(&self, name: &str) -> Result<Option<AdminRecord>, StoreError> {
        get_decoded(&self.admins, "admins", name)
    }
    fn list_admins(&self) -> Result<Vec<AdminRecord>, StoreError> {
        list_decoded(&self.admins, "admins")
    }
    fn delete_admin(&self, name: &str) -> Result<bool, StoreError> {
        remove(&self.admins, name)
    }

    fn get_config(&self, key: &str) -> Result<Option<String>, StoreError> {
        get_decoded(&self.config, "config", key)
    }
    fn set_config(&self, key: &str, value: &str) -> Result<(), StoreError> {
        put_encoded(&self.config, key, &value)
    }
    fn delete_config(&self, key: &str) -> Result<bool, StoreError> {
        remove(&self.config, key)
    }

    fn put_policy(&self, p: &PolicyRecord) -> Result<(), StoreError> {
        put_encoded(&self.policies, &p.name, p)
    }
    fn list_policies(&self) -> Result<Vec<PolicyRecord>, StoreError> {
        list_decoded(&self.policies, "policies")
    }
    fn delete_policy(&self, name: &str) -> Result<bool, StoreError> {
        remove(&self.policies, name)
    }

    fn put_challenge(&self, c: &ChallengeRecord) -> Result<(), StoreError> {
        let key = challenge_key(&c.transaction_id, &c.serial);
        let _ = self.challenges.insert(key, encode(c)?).map_err(io)?;
        Ok(())
    }
    fn challenges(&self, transaction_id: &str) -> Result<Vec<ChallengeRecord>, StoreError> {
        self.challenges
            .scan_prefix(challenge_key(transaction_id, ""))
            .map(|kv| {
                let (k, v) = kv.map_err(io)?;
                decode("challenges", &k, &v)
            })
            .collect()
    }
    fn take_challenges(&self, transaction_id: &str) -> Result<usize, StoreError> {
        let mut taken = 0;
        for key in self
            .challenges
            .scan_prefix(challenge_key(transaction_id, ""))
            .keys()
        {
            taken += usize::from(
                self.challenges
                    .remove(key.map_err(io)?)
                    .map_err(io)?
                    .is_some(),
            );
        }
        Ok(taken)
    }
    fn purge_challenges(&self, now: f64) -> Result<usize, StoreError> {
        let mut purged = 0;
        for kv in self.challenges.iter() {
            let (k, v) = kv.map_err(io)?;
            let expired = match decode::<ChallengeRecord>("challenges", &k, &v) {
                Ok(c) => c.expires < now,
                // An undecodable challenge can never be answered: drop it.
                Err(_) => true,
            };
            if expired {
                purged += usize::from(
                    self.challenges
                        .compare_and_swap(&k, Some(&v), None::<&[u8]>)
                        .map_err(io)?
                        .is_ok(),
                );
            }
        }
        Ok(purged)
    }

    fn commit(&self) -> CommitTicket {
        self.committer.ticket()
    }
}
