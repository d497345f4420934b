//! `/validate/check`: privacyIDEA's `check_token_list` with durable counters.
//!
//! Order of events for one request: find the user and their tokens (or the one `serial`, or the
//! tokens holding challenges of `transaction_id`); resolve the authentication policies; if a
//! transaction id was sent, check the pass as the answer to its challenges (`challenge`); otherwise
//! classify every token (`judge`): a PIN alone that opens a challenge-response token asks for a
//! challenge, else the pass is split into PIN and OTP, the PIN checked (argon2 off the async
//! workers, or the user store), and only then the OTP asked of the token's plugin. The outcome
//! (`settle`) follows privacyIDEA's priority: a valid token accepts; else challenges are created
//! (one transaction id for all); else PIN-matching tokens count a failure ("wrong otp value",
//! AutoResync may rescue it); else "wrong otp pin". Token writes are compare-and-swap: a concurrent
//! request that used the same OTP makes the write conflict and the request is evaluated again, now
//! as a replay. Every answer waits for the durable commit of what it wrote.
//!
//! Authorization policies that act during the check: `auth_max_fail` refuses a user past their
//! failures before any token is looked at; `application_tokentype` lets the request's `type` narrow
//! the user's tokens; `last_auth` is checked where a match is written (`settle`); the post-checks
//! and `auth_max_success` follow in `authz`. Every REJECT of a known user counts against
//! `auth_max_fail` (in memory, per node: `crate::auth_counts`).

mod authz;
mod challenge;
mod judge;
mod settle;

use std::net::IpAddr;

use tessera_proto::{ErrorKind, Params, PiError};
use tessera_store::{TokenRecord, Versioned};

use crate::auth_counts::UserKey;
use crate::auth_options::{AuthOptions, PolicyContext};
use crate::throttle::Subject;
use crate::{ResolvedUser, Tessera, store_err};

pub use authz::DetailFlags;
pub(crate) use judge::split_pass;

const MAX_ATTEMPTS: usize = 64;

/// The parameters of `/validate/check` that the core reads.
#[derive(Clone, Debug, Default)]
pub struct CheckRequest {
    pub user: Option<String>,
    pub realm: Option<String>,
    pub serial: Option<String>,
    pub pass: String,
    /// `transaction_id`, or its alias `state` (FreeRADIUS).
    pub transaction_id: Option<String>,
    /// The client's address, for policies that match on it.
    pub client: Option<IpAddr>,
    /// `type`: only tokens of this type take part, if the `application_tokentype` authorization
    /// policy allows the client to choose (ignored otherwise, and with `serial`).
    pub tokentype: Option<String>,
}

impl CheckRequest {
    pub fn from_params(p: &Params) -> Result<Self, PiError> {
        Ok(CheckRequest {
            user: p.get_nonempty("user").map(str::to_string),
            realm: p.get_nonempty("realm").map(str::to_string),
            serial: p.get_nonempty("serial").map(str::to_string),
            pass: p.required("pass")?.to_string(),
            transaction_id: p
                .get_nonempty("transaction_id")
                .or_else(|| p.get_nonempty("state"))
                .map(str::to_string),
            client: None,
            tokentype: p.get_nonempty("type").map(str::to_string),
        })
    }
}

/// `result.authentication`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authentication {
    Accept,
    Reject,
    Challenge,
}

impl Authentication {
    pub fn as_str(self) -> &'static str {
        match self {
            Authentication::Accept => "ACCEPT",
            Authentication::Reject => "REJECT",
            Authentication::Challenge => "CHALLENGE",
        }
    }
}

/// One entry of `detail.multi_challenge`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub transaction_id: String,
    pub serial: String,
    pub tokentype: String,
    pub message: String,
    /// `interactive` for OTP tokens (the user types an answer).
    pub client_mode: String,
}

/// The outcome: `result.value`/`authentication` and the `detail` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub authentication: Authentication,
    pub message: String,
    /// Set when exactly one token decided the outcome.
    pub serial: Option<String>,
    pub tokentype: Option<String>,
    pub otplen: Option<u32>,
    /// The challenges created (authentication = CHALLENGE).
    pub challenges: Vec<Challenge>,
    /// The user the request was about, when known.
    pub user: Option<ResolvedUser>,
    /// Policies that shaped the outcome (audit column `policies`).
    pub policies: Vec<String>,
    /// What the authorization policies want in `detail`.
    pub detail: DetailFlags,
}

impl CheckResult {
    pub fn accepted(&self) -> bool {
        self.authentication == Authentication::Accept
    }
    pub(crate) fn reject(message: impl Into<String>) -> Self {
        CheckResult {
            authentication: Authentication::Reject,
            message: message.into(),
            serial: None,
            tokentype: None,
            otplen: None,
            challenges: Vec::new(),
            user: None,
            policies: Vec::new(),
            detail: DetailFlags::default(),
        }
    }
    pub(crate) fn accept(message: impl Into<String>) -> Self {
        CheckResult {
            authentication: Authentication::Accept,
            ..CheckResult::reject(message)
        }
    }
    pub(crate) fn about(mut self, t: &TokenRecord) -> Self {
        self.serial = Some(t.serial.clone());
        self.tokentype = Some(t.tokentype.clone());
        self.otplen = Some(t.otplen);
        self
    }
}

/// Whose failures a request counts against: the user (or serial) first, then the client address.
fn throttle_subjects(req: &CheckRequest) -> Vec<Subject> {
    let lower = |s: &Option<String>| s.as_deref().unwrap_or_default().to_lowercase();
    let mut subjects = vec![match (&req.user, &req.serial) {
        (Some(_), _) => Subject::User(lower(&req.realm), lower(&req.user)),
        (None, Some(serial)) => Subject::User("serial".into(), serial.clone()),
        (None, None) => Subject::User("transaction".into(), lower(&req.transaction_id)),
    }];
    if let Some(ip) = req.client {
        subjects.push(Subject::Client(ip));
    }
    subjects
}

/// Everything one request needs while it runs.
pub(crate) struct Attempt<'a> {
    pub req: &'a CheckRequest,
    pub opts: AuthOptions,
    pub user: Option<ResolvedUser>,
    pub now: f64,
}

impl Attempt<'_> {
    /// The token type the request narrows the check to (`type` under `application_tokentype`).
    fn only_type(&self) -> Option<&str> {
        if self.opts.limits.application_tokentype && self.req.serial.is_none() {
            self.req.tokentype.as_deref()
        } else {
            None
        }
    }
}

impl Tessera {
    /// `POST/GET /validate/check`, behind the brute-force throttle (when configured).
    pub async fn validate_check(&self, req: &CheckRequest) -> Result<CheckResult, PiError> {
        let throttle = &self.inner.throttle;
        if !throttle.enabled() {
            return self.check_unthrottled(req).await;
        }
        let now = self.now();
        let subjects = throttle_subjects(req);
        if let Some(wait) = throttle.blocked(&subjects, now) {
            tracing::info!(user = ?req.user, client = ?req.client, wait, "check refused: throttled");
            return Ok(CheckResult::reject(format!(
                "Too many failed attempts. Try again in {} seconds.",
                wait.ceil() as u64
            )));
        }
        let result = self.check_unthrottled(req).await;
        match &result {
            Ok(r) if r.accepted() => throttle.succeeded(&subjects[0]),
            Ok(r) if r.authentication == Authentication::Reject => throttle.failed(&subjects, now),
            // Guessing at user names counts too.
            Err(e) if e.kind == ErrorKind::User => throttle.failed(&subjects, now),
            _ => {}
        }
        result
    }

    async fn check_unthrottled(&self, req: &CheckRequest) -> Result<CheckResult, PiError> {
        let now = self.now();
        self.purge_challenges_now_and_then(now);
        let (user, serials) = match (&req.serial, &req.user, &req.transaction_id) {
            (Some(serial), Some(login), _) => {
                // privacyIDEA: the token must be the given user's (api/validate.py).
                let u = self.resolve_user(login, req.realm.as_deref())?;
                let t = self.token_record(serial)?;
                if !crate::owned_by(&t, &u) {
                    return Err(PiError::parameter(
                        "Given serial does not belong to given user!",
                    ));
                }
                (Some(u), vec![serial.clone()])
            }
            (Some(serial), None, _) => (self.owner_of_serial(serial)?, vec![serial.clone()]),
            (None, Some(login), _) => match self.resolve_user(
                login,
                self.policy_realm(login, req.realm.as_deref(), req.client)?
                    .as_deref()
                    .or(req.realm.as_deref()),
            ) {
                Ok(u) => {
                    let serials = self
                        .inner
                        .store
                        .tokens_of_user(&u.resolver, &u.user_id)
                        .map_err(store_err)?;
                    (Some(u), serials)
                }
                Err(e) if e.kind == ErrorKind::User => {
                    // No realm given: the user was looked for in the default realm, so its
                    // policies apply.
                    let realm = req.realm.clone().or_else(|| self.default_realm());
                    let ctx = PolicyContext {
                        realm: realm.as_deref(),
                        user: Some(login),
                        client: req.client,
                        ..Default::default()
                    };
                    let opts = self.auth_options(&ctx)?;
                    return match opts.pass_on_no_user {
                        Some(pol) => Ok(CheckResult {
                            policies: opts.policies.clone(),
                            ..CheckResult::accept(format!(
                                "user does not exist, accepted due to '{pol}'"
                            ))
                        }),
                        None => Err(e),
                    };
                }
                Err(e) => return Err(e),
            },
            (None, None, Some(tx)) => (None, self.serials_of_transaction(tx, now)?),
            (None, None, None) => {
                return Err(PiError::parameter(
                    "You need to specify a serial or a user.",
                ));
            }
        };
        let ctx = PolicyContext {
            realm: user.as_ref().map(|u| u.realm.as_str()),
            resolver: user.as_ref().map(|u| u.resolver.as_str()),
            user: user
                .as_ref()
                .map(|u| u.login.as_str())
                .filter(|l| !l.is_empty()),
            client: req.client,
        };
        let opts = self.auth_options(&ctx)?;
        let key = user.as_ref().map(UserKey::of);
        let max_fail = opts.limits.max_fail.zip(key.as_ref());
        if let Some((rate, key)) = max_fail
            && self.inner.counts.failures_reached(key, rate, now)
        {
            tracing::info!(user = ?req.user, serial = ?req.serial, "check refused: auth_max_fail reached");
            let refused = CheckResult {
                user: user.clone(),
                policies: opts.policies.clone(),
                ..CheckResult::reject(format!(
                    "Only {} failed authentications per {}",
                    rate.count,
                    rate.period_text()
                ))
            };
            let result = self.authorize(&ctx, refused, None)?;
            self.inner.counts.record_failure(key, rate, now);
            return Ok(result);
        }
        let max_success = opts.limits.max_success.zip(key.as_ref());
        let attempt = Attempt {
            req,
            opts,
            user: user.clone(),
            now,
        };
        let mut result = self.check_tokens(&attempt, &serials).await?;
        result.user = attempt.user.clone();
        result.policies = attempt.opts.policies.clone();
        let result = self.authorize(&ctx, result, max_success)?;
        if let Some((rate, key)) = max_fail
            && result.authentication == Authentication::Reject
        {
            self.inner.counts.record_failure(key, rate, now);
        }
        Ok(result)
    }

    async fn check_tokens(
        &self,
        a: &Attempt<'_>,
        serials: &[String],
    ) -> Result<CheckResult, PiError> {
        if serials.is_empty() && a.req.transaction_id.is_none() {
            return self.no_token(a).await;
        }
        for _ in 0..MAX_ATTEMPTS {
            let mut tokens = self.read_tokens_for(a, serials)?;
            if tokens.is_empty() {
                // privacyIDEA's get_one_token: an unknown serial is 404/601.
                return match (&a.req.serial, &a.req.transaction_id) {
                    (Some(_), _) => Err(PiError::token_not_found()),
                    (None, Some(_)) => Ok(challenge::no_open_challenge()),
                    // The user has tokens, none of the requested type (privacyIDEA's
                    // get_tokens(user, tokentype) found none): passthru does not apply.
                    (None, None) if a.only_type().is_some() => {
                        Ok(CheckResult::reject("The user has no tokens assigned"))
                    }
                    (None, None) => self.no_token(a).await,
                };
            }
            if self.clear_expired_failcounters(a, &tokens).await? {
                tokens = self.read_tokens_for(a, serials)?;
            }
            let outcome = match &a.req.transaction_id {
                Some(tx) => self.answer_challenge(a, &tokens, tx).await?,
                None => {
                    let verdicts = self.judge_all(a, &tokens).await?;
                    self.settle(a, &tokens, verdicts).await?
                }
            };
            if let Some(result) = outcome {
                self.inner.store.commit().wait().await.map_err(store_err)?;
                return Ok(result);
            }
            // A matched token changed under us: evaluate again (the OTP is now a replay).
        }
        tracing::error!(?serials, "validate/check kept conflicting");
        Err(PiError::internal())
    }

    /// The tokens of `serials` that take part in this request (`application_tokentype`).
    fn read_tokens_for(
        &self,
        a: &Attempt<'_>,
        serials: &[String],
    ) -> Result<Vec<Versioned<TokenRecord>>, PiError> {
        let mut tokens = self.read_tokens(serials)?;
        if let Some(ty) = a.only_type() {
            tokens.retain(|t| t.value.tokentype.eq_ignore_ascii_case(ty));
        }
        Ok(tokens)
    }

    fn read_tokens(&self, serials: &[String]) -> Result<Vec<Versioned<TokenRecord>>, PiError> {
        let mut tokens = Vec::with_capacity(serials.len());
        for s in serials {
            if let Some(t) = self.inner.store.get_token(s).map_err(store_err)? {
                tokens.push(t);
            }
        }
        Ok(tokens)
    }

    /// privacyIDEA's `setrealm` (authorization): the realm the user is looked up in instead of the
    /// request's (or the default) realm, when a policy for that realm, user and client says so.
    fn policy_realm(
        &self,
        login: &str,
        realm: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Option<String>, PiError> {
        let set = self.policy_set();
        if !set.has_active(tessera_policy::Scope::Authorization) {
            return Ok(None);
        }
        let realm = realm.map(str::to_string).or_else(|| self.default_realm());
        let ctx = PolicyContext {
            realm: realm.as_deref(),
            user: Some(login),
            client,
            ..Default::default()
        };
        let q = ctx.query(tessera_policy::Scope::Authorization, self.now());
        let m = set.matching(&q);
        Ok(m.value("setrealm")?
            .and_then(tessera_policy::ActionValue::as_str)
            .map(str::to_string))
    }

    /// A user without tokens: `passthru` checks the user store, `passOnNoToken` lets them in.
    async fn no_token(&self, a: &Attempt<'_>) -> Result<CheckResult, PiError> {
        if let (Some(pol), Some(user)) = (&a.opts.passthru, &a.user) {
            let (user, pass) = (user.clone(), a.req.pass.clone());
            let this = self.clone();
            let ok = tokio::task::spawn_blocking(move || this.check_user_password(&user, &pass))
                .await
                .map_err(|_| PiError::internal())??;
            if ok {
                return Ok(CheckResult::accept(format!(
                    "against userstore due to '{pol}'"
                )));
            }
        }
        if let Some(pol) = &a.opts.pass_on_no_token {
            return Ok(CheckResult::accept(format!(
                "user has no token, accepted due to '{pol}'"
            )));
        }
        Ok(CheckResult::reject("The user has no tokens assigned"))
    }

    /// The owner of a token, as a user (login left empty: it costs a resolver call and only
    /// user-restricted policies need it). Unknown serial → 404/601.
    fn owner_of_serial(&self, serial: &str) -> Result<Option<ResolvedUser>, PiError> {
        let t = self
            .inner
            .store
            .get_token(serial)
            .map_err(store_err)?
            .ok_or_else(PiError::token_not_found)?;
        Ok(t.value.owner.map(|o| ResolvedUser {
            login: String::new(),
            realm: o.realm,
            resolver: o.resolver,
            user_id: o.user_id,
        }))
    }
}
