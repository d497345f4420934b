//! Users: finding a login in a realm's resolvers (by priority) and listing users, through resolver plugins.

use tessera_proto::types::UserView;
use tessera_proto::{ErrorKind, Params, PiError};
use tessera_runtime::{FieldKind, Pairs, UserInfo};
use tessera_store::ResolverRecord;

use crate::directory::Snapshot;
use crate::{Tessera, call_err};

/// Prefix of a sealed value in a stored resolver configuration.
pub(crate) const SEALED_PREFIX: &str = "enc:";

/// A login name found in a realm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    pub login: String,
    pub realm: String,
    pub resolver: String,
    pub user_id: String,
}

impl Tessera {
    /// The realm a request means: the `realm` parameter, else the part after `@` of `user@realm`
    /// when that names a realm and `splitAtSign` is on (the default), else the default realm.
    pub(crate) fn split_user_realm(
        &self,
        snap: &Snapshot,
        user: &str,
        realm: Option<&str>,
    ) -> (String, Option<String>) {
        if let Some(r) = realm.filter(|r| !r.is_empty()) {
            return (user.to_string(), Some(r.to_string()));
        }
        if self.sysconfig().split_at_sign
            && let Some((login, r)) = user.rsplit_once('@')
            && snap.realms.contains_key(r)
        {
            return (login.to_string(), Some(r.to_string()));
        }
        (user.to_string(), snap.default_realm.clone())
    }

    /// Find `user` (optionally `user@realm`) in its realm. Unknown user or realm → 400/904.
    pub fn resolve_user(&self, user: &str, realm: Option<&str>) -> Result<ResolvedUser, PiError> {
        let snap = self.inner.directory.snapshot();
        let (login, realm) = self.split_user_realm(&snap, user, realm);
        let realm = realm.ok_or_else(PiError::user_not_found)?;
        for res in snap.realm_resolvers(&realm) {
            let config = self.resolver_config(res)?;
            if let Some(uid) = self
                .inner
                .runtime
                .get_user_id(&res.rtype, &res.name, &config, &login)
                .map_err(call_err)?
            {
                return Ok(ResolvedUser {
                    login,
                    realm,
                    resolver: res.name.clone(),
                    user_id: uid,
                });
            }
        }
        Err(PiError::user_not_found())
    }

    /// The login name of (resolver, user id), if the resolver still knows the user.
    pub(crate) fn username_of(
        &self,
        snap: &Snapshot,
        resolver: &str,
        user_id: &str,
    ) -> Result<Option<String>, PiError> {
        let Some(res) = snap.resolvers.get(resolver) else {
            return Ok(None);
        };
        let config = self.resolver_config(res)?;
        let user = self
            .inner
            .runtime
            .get_user(&res.rtype, &res.name, &config, user_id)
            .map_err(call_err)?;
        Ok(user.map(|u| u.username))
    }

    /// Check a user's password in their resolver (privacyIDEA's `otppin=userstore`, `passthru`).
    pub fn check_user_password(
        &self,
        user: &ResolvedUser,
        password: &str,
    ) -> Result<bool, PiError> {
        let snap = self.inner.directory.snapshot();
        let res = snap
            .resolvers
            .get(&user.resolver)
            .ok_or_else(PiError::user_not_found)?;
        let config = self.resolver_config(res)?;
        self.inner
            .runtime
            .check_password(&res.rtype, &res.name, &config, &user.user_id, password)
            .map_err(call_err)
    }

    /// The user-store record of a resolved user (`add_user_in_response`, samlcheck attributes).
    pub fn user_details(&self, user: &ResolvedUser) -> Result<Option<UserView>, PiError> {
        let snap = self.inner.directory.snapshot();
        let Some(res) = snap.resolvers.get(&user.resolver) else {
            return Ok(None);
        };
        let config = self.resolver_config(res)?;
        let info = self
            .inner
            .runtime
            .get_user(&res.rtype, &res.name, &config, &user.user_id)
            .map_err(call_err)?;
        Ok(info.map(|u| user_view(&res.name, u)))
    }

    /// `GET /user/`: users of a realm (or of one resolver), filtered by `username` and other
    /// attributes, `*` as wildcard.
    pub fn list_users(&self, params: &Params) -> Result<Vec<UserView>, PiError> {
        let snap = self.inner.directory.snapshot();
        let resolvers: Vec<&ResolverRecord> = match (
            params.get_nonempty("resolver"),
            params.get_nonempty("realm"),
        ) {
            (Some(name), _) => vec![snap.resolvers.get(name).ok_or_else(|| {
                PiError::new(
                    ErrorKind::ResourceNotFound,
                    format!("ERR601: The resolver '{name}' does not exist."),
                )
            })?],
            (None, Some(realm)) => {
                if !snap.realms.contains_key(realm) {
                    return Err(PiError::new(
                        ErrorKind::ResourceNotFound,
                        format!("ERR601: The realm '{realm}' does not exist."),
                    ));
                }
                snap.realm_resolvers(realm)
            }
            (None, None) => match &snap.default_realm {
                Some(r) => snap.realm_resolvers(r),
                None => return Err(PiError::missing("realm")),
            },
        };
        let mut filter: Pairs = Vec::new();
        for key in [
            "username",
            "userid",
            "givenname",
            "surname",
            "email",
            "phone",
            "mobile",
            "description",
        ] {
            if let Some(v) = params.get_nonempty(key) {
                filter.push((key.to_string(), v.to_string()));
            }
        }
        if let Some(v) = params.get_nonempty("user") {
            filter.push(("username".into(), v.into()));
        }
        let mut out = Vec::new();
        for res in resolvers {
            let config = self.resolver_config(res)?;
            let users = self
                .inner
                .runtime
                .list_users(&res.rtype, &res.name, &config, &filter)
                .map_err(call_err)?;
            out.extend(users.into_iter().map(|u| user_view(&res.name, u)));
        }
        Ok(out)
    }

    /// The clear configuration of a resolver, as its plugin receives it (sealed fields opened).
    pub(crate) fn resolver_config(&self, res: &ResolverRecord) -> Result<Pairs, PiError> {
        let mut out = Vec::with_capacity(res.data.len());
        for (k, v) in &res.data {
            let value = match v.strip_prefix(SEALED_PREFIX) {
                Some(hexed) => {
                    let sealed = hex::decode(hexed).map_err(|_| corrupt(&res.name, k))?;
                    let clear = self
                        .inner
                        .sealer
                        .open(&resolver_aad(&res.name, k), &sealed)
                        .map_err(|_| corrupt(&res.name, k))?;
                    String::from_utf8(clear.to_vec()).map_err(|_| corrupt(&res.name, k))?
                }
                None => v.clone(),
            };
            out.push((k.clone(), value));
        }
        Ok(out)
    }

    /// Which fields of a resolver type are secrets (sealed at rest, censored in listings).
    pub(crate) fn secret_fields(&self, rtype: &str) -> Vec<String> {
        self.inner
            .runtime
            .resolver_type(rtype)
            .map(|t| {
                t.config_fields
                    .iter()
                    .filter(|f| f.kind == FieldKind::Password)
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) fn resolver_aad(resolver: &str, field: &str) -> Vec<u8> {
    format!("resolver:{resolver}:{field}").into_bytes()
}

fn corrupt(resolver: &str, field: &str) -> PiError {
    tracing::error!(
        resolver,
        field,
        "sealed resolver field cannot be opened (wrong enckey?)"
    );
    PiError::internal()
}

fn user_view(resolver: &str, u: UserInfo) -> UserView {
    let description = u
        .extra
        .iter()
        .find(|(k, _)| k == "description")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    UserView {
        description,
        editable: false,
        email: u.email,
        givenname: u.givenname,
        mobile: u.mobile,
        phone: u.phone,
        resolver: resolver.to_string(),
        surname: u.surname,
        userid: u.userid,
        username: u.username,
    }
}
