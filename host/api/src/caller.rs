//! `TokenCaller`: the JWT of an administrator or of a realm user on the `/token/*` endpoints, and
//! the checks that go with each: admin rights on the token's realm, or a user's self-service
//! rights on their own tokens only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tessera_core::{Caller, ResolvedUser, Target, TokenRecord, owned_by, token_target};
use tessera_proto::{ErrorKind, PiError};

use crate::auth::{AdminAuth, token_from_headers};
use crate::client::ClientIp;
use crate::jwt::{self, Role};
use crate::{ApiError, AppState};

/// Who calls a token endpoint.
#[derive(Clone, Debug)]
pub enum TokenCaller {
    Admin(AdminAuth),
    /// A realm user, found again in their realm on every request.
    User(ResolvedUser),
}

impl FromRequestParts<AppState> for TokenCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let claims = jwt::verify(
            s.core.jwt_secret(),
            token_from_headers(&parts.headers)?,
            s.core.now(),
        )?;
        let note = crate::audit::AuditNote::of(parts);
        match claims.role {
            Role::Admin => {
                note.set(|n| n.administrator = Some(claims.username.clone()));
                Ok(TokenCaller::Admin(AdminAuth(claims)))
            }
            Role::User => {
                let user = s
                    .core
                    .resolve_user(&claims.username, Some(&claims.realm))
                    .map_err(|_| {
                        PiError::new(
                            ErrorKind::AuthDecoding,
                            "Authentication failure. The user of this token no longer exists.",
                        )
                    })?;
                note.set(|n| {
                    n.user = Some(user.login.clone());
                    n.realm = Some(user.realm.clone());
                    n.resolver = Some(user.resolver.clone());
                });
                Ok(TokenCaller::User(user))
            }
        }
    }
}

impl TokenCaller {
    pub fn caller(&self) -> Caller {
        match self {
            TokenCaller::Admin(a) => a.caller(),
            TokenCaller::User(u) => Caller::User {
                login: u.login.clone(),
                realm: u.realm.clone(),
            },
        }
    }

    /// The realm user, if the caller is one.
    pub fn user(&self) -> Option<&ResolvedUser> {
        match self {
            TokenCaller::User(u) => Some(u),
            TokenCaller::Admin(_) => None,
        }
    }

    /// May the caller do `action` on token `t`? Admins: the admin right on the token's realm.
    /// Users: the user right, and only on their own token (else 404, as for an unknown serial).
    pub fn may(
        &self,
        s: &AppState,
        action: &str,
        t: &TokenRecord,
        ip: ClientIp,
    ) -> Result<(), PiError> {
        match self {
            TokenCaller::Admin(a) => {
                let (realm, resolver) = token_target(t);
                a.need_on(
                    s,
                    action,
                    Target {
                        realm: Some(&realm),
                        resolver: resolver.as_deref(),
                        user: None,
                    },
                    ip,
                )
                .map(drop)
            }
            TokenCaller::User(u) => {
                if !owned_by(t, u) {
                    return Err(PiError::token_not_found());
                }
                s.core
                    .check_right(&self.caller(), action, Target::default(), ip.0)
                    .map(drop)
            }
        }
    }

    /// Look up `serial` and check `may`.
    pub fn token(
        &self,
        s: &AppState,
        action: &str,
        serial: &str,
        ip: ClientIp,
    ) -> Result<TokenRecord, PiError> {
        let t = s.core.token_record(serial)?;
        self.may(s, action, &t, ip)?;
        Ok(t)
    }

    /// Record the token in the request's audit entry.
    pub fn note_token(note: &crate::audit::AuditNote, t: &TokenRecord) {
        note.set(|n| {
            n.serial = Some(t.serial.clone());
            n.token_type = Some(t.tokentype.clone());
            if let Some(o) = &t.owner {
                n.realm = Some(o.realm.clone());
                n.resolver = Some(o.resolver.clone());
            }
        });
    }

    /// A right on no particular token (enrollment into a realm, a user's own list).
    pub fn need(
        &self,
        s: &AppState,
        action: &str,
        target: Target<'_>,
        ip: ClientIp,
    ) -> Result<(), PiError> {
        match self {
            TokenCaller::Admin(a) => a.need_on(s, action, target, ip).map(drop),
            TokenCaller::User(_) => s
                .core
                .check_right(&self.caller(), action, Target::default(), ip.0)
                .map(drop),
        }
    }
}
