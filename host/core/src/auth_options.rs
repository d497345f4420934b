//! The authentication-scope policy values one `/validate/check` needs, and the authorization-scope
//! limits it enforces while it runs (`last_auth`, `auth_max_success`, `auth_max_fail`,
//! `application_tokentype`), resolved once per request from the policies that match the request's
//! realm, resolver, user and client.

use std::net::IpAddr;

use tessera_policy::{ActionValue, Matched, Query, Scope};
use tessera_proto::PiError;

use crate::Tessera;
use crate::auth_counts::Rate;

/// privacyIDEA's `otppin`: what the PIN part of a pass is checked against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OtpPin {
    /// The token's own PIN (the default).
    #[default]
    TokenPin,
    /// The user's password in the user store.
    UserStore,
    /// No PIN: the PIN part must be empty.
    None,
}

/// What the matching authentication policies say. Each `Option<String>` holds the name of the
/// policy that switched the behaviour on (privacyIDEA names it in messages and the audit log).
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthOptions {
    pub otppin: OtpPin,
    pub passthru: Option<String>,
    pub pass_on_no_token: Option<String>,
    pub pass_on_no_user: Option<String>,
    /// Token types that answer a PIN alone with a challenge (lower case).
    pub challenge_types: Vec<String>,
    pub challenge_text: Option<String>,
    pub reset_all_user_tokens: bool,
    pub increase_failcounter_on_challenge: bool,
    /// Minutes after which a token locked by its fail counter may try again (0 = never).
    pub failcounter_clear_timeout: u64,
    /// Names of the policies that contributed, for the audit log.
    pub policies: Vec<String>,
    /// The authorization limits (none when no authorization policy is active).
    pub limits: AuthzLimits,
}

/// The authorization policies that act while a check runs rather than after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AuthzLimits {
    /// `last_auth`: seconds a token's last successful authentication may lie back.
    pub last_auth: Option<u64>,
    /// `auth_max_success`: successful authentications of the user per period.
    pub max_success: Option<Rate>,
    /// `auth_max_fail`: failed authentications of the user per period.
    pub max_fail: Option<Rate>,
    /// `application_tokentype`: the request's `type` restricts the check to that token type.
    pub application_tokentype: bool,
}

/// Who is asking, as policies see it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PolicyContext<'a> {
    pub realm: Option<&'a str>,
    pub resolver: Option<&'a str>,
    pub user: Option<&'a str>,
    pub client: Option<IpAddr>,
}

impl<'a> PolicyContext<'a> {
    /// The policy query of this context in `scope` at `now`.
    pub fn query(&self, scope: Scope, now: f64) -> Query<'a> {
        let mut q = Query::new(scope, now as i64);
        q.realm = self.realm;
        q.resolver = self.resolver;
        q.user = self.user;
        q.client = self.client;
        q
    }
}

impl Tessera {
    /// The authentication options for a request (the defaults when no policy is defined).
    pub(crate) fn auth_options(&self, ctx: &PolicyContext<'_>) -> Result<AuthOptions, PiError> {
        let set = self.policy_set();
        let mut opts = AuthOptions::default();
        let now = self.now();
        if set.has_active(Scope::Authorization) {
            opts.limits = authz_limits(&set.matching(&ctx.query(Scope::Authorization, now)))?;
        }
        if !set.has_active(Scope::Authentication) {
            return Ok(opts);
        }
        let q = ctx.query(Scope::Authentication, now);
        let m = set.matching(&q);
        opts.otppin = match m.value("otppin")?.and_then(ActionValue::as_str) {
            Some("userstore") => OtpPin::UserStore,
            Some("none") => OtpPin::None,
            _ => OtpPin::TokenPin,
        };
        opts.passthru = match m.value("passthru")? {
            Some(ActionValue::Bool(true)) => newest(&m),
            Some(ActionValue::Str(s)) if s.eq_ignore_ascii_case("userstore") => newest(&m),
            Some(ActionValue::Str(other)) => {
                tracing::warn!(target = %other, "passthru to a RADIUS server is not supported; ignored");
                None
            }
            _ => None,
        };
        opts.pass_on_no_token = m.bool("passOnNoToken").then(|| newest(&m)).flatten();
        opts.pass_on_no_user = m.bool("passOnNoUser").then(|| newest(&m)).flatten();
        opts.challenge_types = m
            .list("challenge_response")
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        opts.challenge_text = m
            .value("challenge_text")?
            .and_then(ActionValue::as_str)
            .map(str::to_string);
        opts.reset_all_user_tokens = m.bool("reset_all_user_tokens");
        opts.increase_failcounter_on_challenge = m.bool("increase_failcounter_on_challenge");
        opts.failcounter_clear_timeout = m
            .value("failcounter_clear_timeout")?
            .and_then(ActionValue::as_int)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        opts.policies = m.policy_names().into_iter().map(str::to_string).collect();
        Ok(opts)
    }
}

/// The limits of the matching authorization policies (conflicting values are an error, as for
/// every value action). Unreadable stored values are ignored with a warning.
fn authz_limits(m: &Matched<'_>) -> Result<AuthzLimits, PiError> {
    let text = |action: &str| -> Result<Option<&str>, PiError> {
        Ok(m.value(action)?.and_then(ActionValue::as_str))
    };
    let unreadable = |action: &str, value: &str| {
        tracing::warn!(
            action,
            value,
            "stored authorization policy value cannot be read; ignored"
        );
    };
    let mut limits = AuthzLimits {
        application_tokentype: m.bool("application_tokentype"),
        ..Default::default()
    };
    if let Some(v) = text("last_auth")? {
        limits.last_auth = tessera_policy::value::parse_duration(v);
        if limits.last_auth.is_none() {
            unreadable("last_auth", v);
        }
    }
    for (action, slot) in [
        ("auth_max_success", &mut limits.max_success),
        ("auth_max_fail", &mut limits.max_fail),
    ] {
        if let Some(v) = text(action)? {
            *slot = Rate::parse(v);
            if slot.is_none() {
                unreadable(action, v);
            }
        }
    }
    Ok(limits)
}

/// The policy that answered the last lookup (privacyIDEA names it in messages).
fn newest(m: &Matched<'_>) -> Option<String> {
    m.policy_names().last().map(|s| s.to_string())
}
