//! Policies in the server: stored as `tessera-policy` JSON in the store, compiled into an in-memory
//! `PolicySet` that requests read without locks held (replaced after every write), the `/policy/*`
//! operations, and the rights checks of administrators and users.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tessera_policy::{Catalogue, Policy, PolicySet, Query, Scope};
use tessera_proto::{ErrorKind, Params, PiError};
use tessera_store::{PolicyRecord, Store};

use crate::{Tessera, shorten, store_err};

/// The compiled policies and the action catalogue they were checked against.
#[derive(Debug)]
pub(crate) struct Policies {
    set: RwLock<Arc<PolicySet>>,
    catalogue: Catalogue,
}

impl Policies {
    pub fn load(store: &dyn Store, token_types: &[String]) -> Result<Self, PiError> {
        let catalogue = Catalogue::new(token_types);
        let set = read_set(store)?;
        Ok(Policies {
            set: RwLock::new(Arc::new(set)),
            catalogue,
        })
    }
    pub fn current(&self) -> Arc<PolicySet> {
        match self.set.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    fn reload(&self, store: &dyn Store) -> Result<(), PiError> {
        let fresh = Arc::new(read_set(store)?);
        match self.set.write() {
            Ok(mut g) => *g = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(())
    }
}

fn read_set(store: &dyn Store) -> Result<PolicySet, PiError> {
    let mut policies = Vec::new();
    for rec in store.list_policies().map_err(store_err)? {
        match serde_json::from_str::<Policy>(&rec.body) {
            Ok(p) => policies.push(p),
            Err(e) => {
                tracing::error!(policy = %rec.name, error = %e, "stored policy cannot be read; it is ignored");
            }
        }
    }
    let set = PolicySet::compile(policies);
    for (name, why) in set.broken() {
        tracing::warn!(policy = %name, reason = %why, "policy never matches");
    }
    Ok(set)
}

/// The object an administrator acts on, for realm-scoped admin rights.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target<'a> {
    pub realm: Option<&'a str>,
    pub resolver: Option<&'a str>,
    pub user: Option<&'a str>,
}

/// Who is calling an admin or self-service endpoint.
#[derive(Clone, Debug)]
pub enum Caller {
    Admin {
        name: String,
    },
    /// A realm user (logged in through `/auth` with their user-store password).
    User {
        login: String,
        realm: String,
    },
}

/// privacyIDEA's `webui:login_mode`: what a realm user's `/auth` password is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMode {
    /// The user-store password (the default).
    UserStore,
    /// The user's tokens, as `/validate/check` (a challenge may come first).
    Tokens,
    /// Realm users may not log in.
    Disabled,
}

impl Tessera {
    /// The `webui:login_mode` for a user.
    pub fn login_mode(&self, user: &crate::ResolvedUser) -> Result<LoginMode, PiError> {
        let set = self.policy_set();
        if !set.has_active(Scope::Webui) {
            return Ok(LoginMode::UserStore);
        }
        let mut q = Query::new(Scope::Webui, self.now() as i64);
        q.realm = Some(&user.realm);
        q.resolver = Some(&user.resolver);
        q.user = Some(&user.login);
        let m = set.matching(&q);
        Ok(match m.value("login_mode")?.and_then(|v| v.as_str()) {
            Some("privacyIDEA") => LoginMode::Tokens,
            Some("disable") => LoginMode::Disabled,
            _ => LoginMode::UserStore,
        })
    }

    /// The policy set requests are evaluated against right now.
    pub fn policy_set(&self) -> Arc<PolicySet> {
        self.inner.policies.current()
    }

    /// Scopes and actions, as `GET /policy/defs`.
    pub fn policy_defs(&self, scope: Option<&str>) -> Result<Value, PiError> {
        let cat = &self.inner.policies.catalogue;
        match scope {
            None => Ok(cat.to_json()),
            Some(s) => Ok(cat.scope_json(s.parse::<Scope>()?)),
        }
    }

    /// `POST /policy/<name>`: create, or change the fields sent (privacyIDEA's `set_policy`).
    /// Returns the policy's position (privacyIDEA's id).
    pub async fn set_policy(&self, name: &str, params: &Params) -> Result<usize, PiError> {
        let catalogue = &self.inner.policies.catalogue;
        let sent = |k: &str| params.get(k).map(str::to_string);
        let policy = match self.policy_set().get(name) {
            Some(stored) => stored.update_from_params(sent, catalogue)?,
            None => Policy::from_params(name, sent, catalogue)?,
        };
        self.store_policy(&policy).await?;
        let set = self.policy_set();
        Ok(set
            .policies()
            .iter()
            .position(|p| p.name == name)
            .map_or(0, |i| i + 1))
    }

    async fn store_policy(&self, policy: &Policy) -> Result<(), PiError> {
        let body = serde_json::to_string(policy).map_err(|e| {
            tracing::error!(error = %e, "policy cannot be encoded");
            PiError::internal()
        })?;
        let store = self.inner.store.as_ref();
        store
            .put_policy(&PolicyRecord {
                name: policy.name.clone(),
                body,
            })
            .map_err(store_err)?;
        store.commit().wait().await.map_err(store_err)?;
        self.inner.policies.reload(store)
    }

    /// `GET /policy/` with optional `name`, `scope`, `realm`, `active` filters.
    pub fn list_policies(&self, params: &Params) -> Result<Vec<Value>, PiError> {
        let scope = params
            .get_nonempty("scope")
            .map(str::parse::<Scope>)
            .transpose()?;
        let active = params
            .get_nonempty("active")
            .map(|a| {
                crate::sysconfig::parse_bool(a)
                    .ok_or_else(|| PiError::parameter("active must be true or false"))
            })
            .transpose()?;
        let realm = params.get_nonempty("realm").map(str::to_lowercase);
        let name = params.get_nonempty("name");
        let set = self.policy_set();
        Ok(set
            .policies()
            .iter()
            .filter(|p| scope.is_none_or(|s| p.scope == s))
            .filter(|p| active.is_none_or(|a| p.active == a))
            .filter(|p| name.is_none_or(|n| p.name == n))
            .filter(|p| {
                realm.as_deref().is_none_or(|r| {
                    p.realm.is_empty() || p.realm.iter().any(|x| x.to_lowercase() == r)
                })
            })
            .map(Policy::to_json)
            .collect())
    }

    /// One policy by name, as `GET /policy/<name>` shows it.
    pub fn get_policy(&self, name: &str) -> Result<Value, PiError> {
        self.policy_set()
            .get(name)
            .map(Policy::to_json)
            .ok_or_else(|| policy_not_found(name))
    }

    /// `DELETE /policy/<name>`.
    pub async fn delete_policy(&self, name: &str) -> Result<(), PiError> {
        let store = self.inner.store.as_ref();
        if !store.delete_policy(name).map_err(store_err)? {
            return Err(policy_not_found(name));
        }
        store.commit().wait().await.map_err(store_err)?;
        self.inner.policies.reload(store)
    }

    /// `POST /policy/enable/<name>` and `/policy/disable/<name>`.
    pub async fn activate_policy(&self, name: &str, active: bool) -> Result<(), PiError> {
        let mut policy = self
            .policy_set()
            .get(name)
            .cloned()
            .ok_or_else(|| policy_not_found(name))?;
        policy.active = active;
        self.store_policy(&policy).await
    }

    /// May `caller` do `action` on `target`? Administrators are checked in the admin scope,
    /// realm users in the user scope (on their own realm). Allowed while the scope has no active
    /// policy. Returns the names of the granting policies (audit), or 403/303.
    pub fn check_right(
        &self,
        caller: &Caller,
        action: &str,
        target: Target<'_>,
        client: Option<IpAddr>,
    ) -> Result<Vec<String>, PiError> {
        let set = self.policy_set();
        let now = self.now() as i64;
        let (scope, role) = match caller {
            Caller::Admin { .. } => (Scope::Admin, "Admin"),
            Caller::User { .. } => (Scope::User, "User"),
        };
        let mut q = Query::new(scope, now);
        match caller {
            Caller::Admin { name } => {
                q.adminuser = Some(name);
                q.realm = target.realm;
                q.resolver = target.resolver;
                q.user = target.user;
            }
            Caller::User { login, realm } => {
                q.realm = Some(realm);
                q.user = Some(login);
            }
        }
        q.client = client;
        let allowed = set.allows(action, &q);
        if allowed.yes {
            return Ok(allowed.policies.iter().map(|s| s.to_string()).collect());
        }
        Err(PiError::new(
            ErrorKind::Policy,
            format!(
                "ERR303: {role} actions are defined, but the action {} is not allowed!",
                shorten(action)
            ),
        ))
    }

    /// The rights list of `/auth` (`result.value.rights`).
    pub fn rights_of(&self, caller: &Caller) -> Vec<String> {
        let set = self.policy_set();
        let now = self.now() as i64;
        let q = match caller {
            Caller::Admin { name } => {
                let mut q = Query::new(Scope::Admin, now);
                q.adminuser = Some(name);
                q
            }
            Caller::User { login, realm } => {
                let mut q = Query::new(Scope::User, now);
                q.realm = Some(realm);
                q.user = Some(login);
                q
            }
        };
        set.rights(&q, &self.inner.policies.catalogue)
    }
}

fn policy_not_found(name: &str) -> PiError {
    PiError::new(
        ErrorKind::ResourceNotFound,
        format!("ERR601: The policy '{}' does not exist.", shorten(name)),
    )
}
