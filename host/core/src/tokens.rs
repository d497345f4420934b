//! Token administration: `/token/init` and the other `/token/*` operations.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use serde_json::{Map, Value, json};
use tessera_proto::types::{TokenPage, TokenView};
use tessera_proto::{ErrorKind, Params, PiError};
use tessera_runtime::{EnrollRequest, ResyncRequest, TokenState};
use tessera_store::{Cas, TokenFilter, TokenOwner, TokenRecord};
use zeroize::Zeroizing;

use crate::{Tessera, call_err, qr, store_err};

/// Parameters of `/token/init` the host handles itself; the rest go to the plugin.
const HOST_PARAMS: &[&str] = &[
    "type",
    "serial",
    "otpkey",
    "pin",
    "user",
    "realm",
    "description",
];

/// How often a compare-and-swap update is retried before giving up.
const MAX_RETRIES: usize = 64;

/// The answer of `/token/init`.
#[derive(Debug)]
pub struct InitResult {
    pub serial: String,
    /// The `detail` object: the plugin's entries (`googleurl`, `otpkey`, ...) plus `serial`, `rollout_state`.
    pub detail: Map<String, Value>,
}

impl Tessera {
    /// `POST /token/init`.
    pub async fn init_token(&self, params: &Params) -> Result<InitResult, PiError> {
        let ttype = params
            .get_nonempty("type")
            .unwrap_or("hotp")
            .to_ascii_lowercase();
        let info = self
            .inner
            .runtime
            .token_type(&ttype)
            .cloned()
            .ok_or_else(|| {
                let known: Vec<String> = self
                    .inner
                    .runtime
                    .token_types()
                    .into_iter()
                    .map(|t| t.type_name)
                    .collect();
                PiError::parameter(format!(
                    "unknown token type '{}'; known types: {}",
                    crate::shorten(&ttype),
                    known.join(", ")
                ))
            })?;
        let owner = match params.get_nonempty("user") {
            Some(u) => Some(self.resolve_user(u, params.get_nonempty("realm"))?),
            None => None,
        };
        let genkey = params.bool_or("genkey", false)?;
        let otpkey = match params.get_nonempty("otpkey") {
            Some(_) if genkey => {
                return Err(PiError::parameter(
                    "give either 'otpkey' or 'genkey=1', not both",
                ));
            }
            Some(k) => Some(decode_hex_key(k)?),
            None => None,
        };
        let serial = match params.get_nonempty("serial") {
            Some(s) => {
                check_serial(s)?;
                s.to_string()
            }
            None => self.new_serial(&info.serial_prefix)?,
        };
        let rules =
            self.enrollment_rules(&ttype, &serial, owner.as_ref(), params.get_nonempty("pin"))?;
        let pin_hash = match params.get_nonempty("pin") {
            Some(pin) => Some(self.inner.pins.hash(pin.to_string()).await?),
            None => None,
        };
        let mut plugin_params: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !HOST_PARAMS.contains(k))
            .filter(|(k, _)| !rules.overrides.iter().any(|(o, _)| o == k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        plugin_params.extend(rules.overrides.iter().cloned());
        let now = self.now();
        let enrollment = self
            .inner
            .runtime
            .enroll(
                &ttype,
                EnrollRequest {
                    serial: serial.clone(),
                    params: plugin_params,
                    otpkey,
                    username: owner.as_ref().map(|o| o.login.clone()),
                    issuer: rules
                        .issuer
                        .clone()
                        .unwrap_or_else(|| self.inner.cfg.issuer.clone()),
                    now: now as u64,
                },
            )
            .map_err(call_err)?;
        let sealed_key = enrollment
            .key
            .as_ref()
            .map(|k| self.inner.sealer.seal(&key_aad(&serial), k));
        let realms = owner
            .as_ref()
            .map(|o| vec![o.realm.clone()])
            .unwrap_or_default();
        let sys = self.sysconfig();
        let record = TokenRecord {
            id: 0,
            serial: serial.clone(),
            tokentype: ttype,
            active: true,
            revoked: false,
            locked: false,
            description: params.get("description").unwrap_or_default().to_string(),
            otplen: enrollment.state.otplen,
            count: enrollment.state.counter,
            count_window: sys.default_count_window,
            sync_window: sys.default_sync_window,
            failcount: 0,
            maxfail: sys.default_maxfail,
            info: enrollment.state.info.clone(),
            pin_hash,
            sealed_key,
            owner: owner.map(|o| TokenOwner {
                realm: o.realm,
                resolver: o.resolver,
                user_id: o.user_id,
            }),
            realms,
            rollout_state: String::new(),
        };
        if !self.inner.store.insert_token(record).map_err(store_err)? {
            return Err(PiError::new(
                ErrorKind::TokenAdmin,
                format!(
                    "ERR301: A token with the serial '{serial}' already exists. Delete it first or choose another serial."
                ),
            ));
        }
        self.inner.store.commit().wait().await.map_err(store_err)?;
        let mut detail = Map::new();
        for entry in enrollment.detail {
            let mut obj: Map<String, Value> = entry
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            if let Some(field) = &entry.qr_field
                && let Some(img) = entry
                    .fields
                    .iter()
                    .find(|(k, _)| k == field)
                    .and_then(|(_, v)| qr::png_data_uri(v))
            {
                obj.insert("img".into(), Value::String(img));
            }
            detail.insert(entry.key, Value::Object(obj));
        }
        detail.insert("serial".into(), json!(serial));
        detail.insert("rollout_state".into(), json!(""));
        Ok(InitResult { serial, detail })
    }

    fn new_serial(&self, prefix: &str) -> Result<String, PiError> {
        for _ in 0..16 {
            let candidate = format!("{prefix}{:08X}", rand::thread_rng().r#gen::<u32>());
            if self
                .inner
                .store
                .get_token(&candidate)
                .map_err(store_err)?
                .is_none()
            {
                return Ok(candidate);
            }
        }
        Err(PiError::internal())
    }

    /// `GET /token/`.
    /// `GET /token/`: the tokens matching the filters that `visible` lets the caller see, paged.
    pub fn list_tokens(
        &self,
        params: &Params,
        visible: impl Fn(&TokenRecord) -> bool,
    ) -> Result<TokenPage, PiError> {
        let mut filter = TokenFilter {
            serial: params.get_nonempty("serial").map(str::to_string),
            tokentype: params.get_nonempty("type").map(str::to_ascii_lowercase),
            realm: params.get_nonempty("realm").map(str::to_string),
            owner: None,
        };
        if let Some(user) = params.get_nonempty("user") {
            let u = self.resolve_user(user, params.get_nonempty("realm"))?;
            filter.owner = Some((u.resolver, u.user_id));
            filter.realm = None;
        }
        let page = params.u64_or("page", 1)?.max(1) as usize;
        let pagesize = params.u64_or("pagesize", 15)?.clamp(1, 10_000) as usize;
        let mut all = self.inner.store.list_tokens(&filter).map_err(store_err)?;
        all.retain(|t| visible(t));
        let count = all.len();
        let snap = self.inner.directory.snapshot();
        let mut names: HashMap<(String, String), String> = HashMap::new();
        let mut tokens = Vec::new();
        for t in all.into_iter().skip((page - 1) * pagesize).take(pagesize) {
            let (username, resolver, user_id, user_realm) = match &t.owner {
                Some(o) => {
                    let key = (o.resolver.clone(), o.user_id.clone());
                    let name = match names.get(&key) {
                        Some(n) => n.clone(),
                        None => {
                            let n = self
                                .username_of(&snap, &o.resolver, &o.user_id)?
                                .unwrap_or_default();
                            names.insert(key, n.clone());
                            n
                        }
                    };
                    (name, o.resolver.clone(), o.user_id.clone(), o.realm.clone())
                }
                None => Default::default(),
            };
            tokens.push(TokenView {
                active: t.active,
                count: t.count,
                count_window: t.count_window,
                description: t.description,
                failcount: t.failcount,
                id: t.id,
                info: t.info,
                locked: t.locked,
                maxfail: t.maxfail,
                otplen: t.otplen,
                realms: t.realms,
                user_editable: t.owner.as_ref().map(|_| false),
                resolver,
                revoked: t.revoked,
                rollout_state: t.rollout_state,
                serial: t.serial,
                sync_window: t.sync_window,
                tokentype: t.tokentype,
                user_id,
                user_realm,
                username,
            });
        }
        let pages = count.div_ceil(pagesize).max(1);
        Ok(TokenPage {
            count,
            current: page,
            next: (page < pages).then_some(page + 1),
            prev: (page > 1).then_some(page - 1),
            tokens,
        })
    }

    /// `DELETE /token/<serial>`.
    pub async fn delete_token(&self, serial: &str) -> Result<(), PiError> {
        if !self.inner.store.delete_token(serial).map_err(store_err)? {
            return Err(PiError::token_not_found());
        }
        self.inner.store.commit().wait().await.map_err(store_err)
    }

    /// `POST /token/assign`: give a token to a user (optionally with a PIN).
    pub async fn assign_token(&self, params: &Params) -> Result<(), PiError> {
        let serial = params.required_nonempty("serial")?;
        let user = self.resolve_user(
            params.required_nonempty("user")?,
            params.get_nonempty("realm"),
        )?;
        let pin_hash = match params.get_nonempty("pin") {
            Some(p) => Some(self.inner.pins.hash(p.to_string()).await?),
            None => None,
        };
        self.modify_token(serial, |t| {
            if let Some(o) = &t.owner
                && (o.resolver != user.resolver || o.user_id != user.user_id)
            {
                return Err(PiError::new(
                    ErrorKind::TokenAdmin,
                    format!("ERR301: The token '{serial}' is already assigned to another user. Unassign it first."),
                ));
            }
            t.owner = Some(TokenOwner { realm: user.realm.clone(), resolver: user.resolver.clone(), user_id: user.user_id.clone() });
            if !t.realms.contains(&user.realm) {
                t.realms.push(user.realm.clone());
            }
            if pin_hash.is_some() {
                t.pin_hash = pin_hash.clone();
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// `POST /token/unassign`: remove the owner, the PIN and the fail counter.
    pub async fn unassign_token(&self, serial: &str) -> Result<(), PiError> {
        self.modify_token(serial, |t| {
            t.owner = None;
            t.pin_hash = None;
            t.failcount = 0;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// `POST /token/enable` and `/token/disable`.
    pub async fn set_token_active(&self, serial: &str, active: bool) -> Result<(), PiError> {
        self.modify_token(serial, |t| {
            t.active = active;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// `POST /token/reset`: fail counter to 0.
    pub async fn reset_token(&self, serial: &str) -> Result<(), PiError> {
        self.modify_token(serial, |t| {
            t.failcount = 0;
            t.info.remove("failcounter_exceeded");
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// `POST /token/setpin` (`otppin`).
    pub async fn set_token_pin(&self, serial: &str, pin: &str) -> Result<(), PiError> {
        let hash = if pin.is_empty() {
            None
        } else {
            Some(self.inner.pins.hash(pin.to_string()).await?)
        };
        self.modify_token(serial, |t| {
            t.pin_hash = hash.clone();
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// `POST /token/set`: `description`, `max_failcount`, `count_window`, `sync_window`.
    /// Returns how many attributes were set.
    pub async fn set_token_attributes(
        &self,
        serial: &str,
        params: &Params,
    ) -> Result<u64, PiError> {
        let description = params.get("description").map(str::to_string);
        let mut numbers = Vec::new();
        for key in ["max_failcount", "count_window", "sync_window"] {
            if params.get_nonempty(key).is_some() {
                let v = params.u64_or(key, 0)?;
                let v = u32::try_from(v)
                    .map_err(|_| PiError::parameter(format!("'{key}' is too large: {v}")))?;
                numbers.push((key, v));
            }
        }
        let n = numbers.len() as u64 + u64::from(description.is_some());
        if n == 0 {
            return Err(PiError::parameter(
                "nothing to set: give at least one of description, max_failcount, count_window, sync_window",
            ));
        }
        self.modify_token(serial, |t| {
            if let Some(d) = &description {
                t.description = d.clone();
            }
            for (key, v) in &numbers {
                match *key {
                    "max_failcount" => t.maxfail = *v,
                    "count_window" => t.count_window = *v,
                    _ => t.sync_window = *v,
                }
            }
            Ok(())
        })
        .await?;
        Ok(n)
    }

    /// `POST /token/resync`: find `otp1`, `otp2` as consecutive values and move the counter past them.
    pub async fn resync_token(
        &self,
        serial: &str,
        otp1: &str,
        otp2: &str,
    ) -> Result<bool, PiError> {
        let now = self.now() as u64;
        let mut found = false;
        self.modify_token(serial, |t| {
            let key = self.open_key(t)?;
            let req = ResyncRequest {
                key: &key,
                state: state_of(t),
                otp1: otp1.to_string(),
                otp2: otp2.to_string(),
                now,
                window: t.sync_window,
            };
            found = false;
            if let Some(s) = self
                .inner
                .runtime
                .resync(&t.tokentype, &t.serial, req)
                .map_err(call_err)?
            {
                found = true;
                t.count = s.counter;
                t.info.extend(s.info);
            }
            Ok(())
        })
        .await?;
        Ok(found)
    }

    /// Read-modify-write one token with compare-and-swap; durable before it returns.
    pub(crate) async fn modify_token(
        &self,
        serial: &str,
        mut change: impl FnMut(&mut TokenRecord) -> Result<(), PiError>,
    ) -> Result<TokenRecord, PiError> {
        for _ in 0..MAX_RETRIES {
            let current = self
                .inner
                .store
                .get_token(serial)
                .map_err(store_err)?
                .ok_or_else(PiError::token_not_found)?;
            let mut next = current.value.clone();
            change(&mut next)?;
            if next == current.value {
                return Ok(next);
            }
            if self
                .inner
                .store
                .update_token(&current, &next)
                .map_err(store_err)?
                == Cas::Done
            {
                self.inner.store.commit().wait().await.map_err(store_err)?;
                return Ok(next);
            }
        }
        tracing::error!(serial, "token update kept conflicting");
        Err(PiError::internal())
    }

    /// The token's clear key (empty for keyless types).
    pub(crate) fn open_key(&self, t: &TokenRecord) -> Result<Zeroizing<Vec<u8>>, PiError> {
        match &t.sealed_key {
            None => Ok(Zeroizing::new(Vec::new())),
            Some(sealed) => self.inner.sealer.open(&key_aad(&t.serial), sealed).map_err(|e| {
                tracing::error!(serial = %t.serial, error = %e, "token key cannot be opened (wrong enckey or tampered record)");
                PiError::internal()
            }),
        }
    }
}

/// The plugin's view of a stored token.
pub(crate) fn state_of(t: &TokenRecord) -> TokenState {
    TokenState {
        counter: t.count,
        otplen: t.otplen,
        info: t.info.clone(),
    }
}

/// Associated data binding a sealed key to its token.
pub(crate) fn key_aad(serial: &str) -> Vec<u8> {
    let mut aad = b"token:".to_vec();
    aad.extend_from_slice(serial.as_bytes());
    aad
}

fn decode_hex_key(k: &str) -> Result<Zeroizing<Vec<u8>>, PiError> {
    let k = k.trim();
    if !k.len().is_multiple_of(2) || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PiError::parameter(
            "'otpkey' must be the key in hexadecimal (an even number of 0-9, a-f characters)",
        ));
    }
    let bytes =
        hex::decode(k).map_err(|_| PiError::parameter("'otpkey' is not valid hexadecimal"))?;
    if bytes.is_empty() || bytes.len() > 128 {
        return Err(PiError::parameter("'otpkey' must be 1 to 128 bytes long"));
    }
    Ok(Zeroizing::new(bytes))
}

fn check_serial(s: &str) -> Result<(), PiError> {
    let ok = s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(PiError::parameter(format!(
            "invalid serial '{}': use at most 64 letters, digits, '-', '_', '.' or ':'",
            crate::shorten(s)
        )))
    }
}

/// Merge host-owned counters into a token's info (privacyIDEA keeps them as strings).
pub(crate) fn bump_info_counter(info: &mut BTreeMap<String, String>, key: &str) {
    let n = info
        .get(key)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    info.insert(key.to_string(), n.to_string());
}
