//! `/validate/check`: privacyIDEA's `check_token_list` for PIN+OTP tokens, with durable counters.
//!
//! Order of events for one request: find the tokens (by serial or by user); for each token split the
//! pass into PIN and OTP by the token's `otplen`, check the PIN (argon2, off the async workers), and
//! only if it matches ask the token's plugin about the OTP; decide the outcome; write the changed
//! tokens with compare-and-swap (a concurrent request that used the same OTP makes the write
//! conflict, and the request is evaluated again, now as a replay); wait for the durable commit;
//! answer.

use std::collections::HashMap;

use tessera_proto::{Params, PiError};
use tessera_runtime::{CheckOutcome, CheckRequest as PluginCheck, TokenState};
use tessera_store::{Cas, TokenRecord, Versioned};

use crate::tokens::{bump_info_counter, state_of};
use crate::{Tessera, call_err, format_timestamp, store_err};

const MAX_ATTEMPTS: usize = 64;

/// The parameters of `/validate/check` that the core reads.
#[derive(Clone, Debug, Default)]
pub struct CheckRequest {
    pub user: Option<String>,
    pub realm: Option<String>,
    pub serial: Option<String>,
    pub pass: String,
}

impl CheckRequest {
    pub fn from_params(p: &Params) -> Result<Self, PiError> {
        Ok(CheckRequest {
            user: p.get_nonempty("user").map(str::to_string),
            realm: p.get_nonempty("realm").map(str::to_string),
            serial: p.get_nonempty("serial").map(str::to_string),
            pass: p.required("pass")?.to_string(),
        })
    }
}

/// The outcome: `result.value`/`authentication` and the `detail` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub accept: bool,
    pub message: String,
    /// Set when exactly one token decided the outcome.
    pub serial: Option<String>,
    pub tokentype: Option<String>,
    pub otplen: Option<u32>,
}

impl CheckResult {
    fn reject(message: impl Into<String>) -> Self {
        CheckResult {
            accept: false,
            message: message.into(),
            serial: None,
            tokentype: None,
            otplen: None,
        }
    }
    fn about(mut self, t: &TokenRecord) -> Self {
        self.serial = Some(t.serial.clone());
        self.tokentype = Some(t.tokentype.clone());
        self.otplen = Some(t.otplen);
        self
    }
}

/// What one request found out about one token.
enum Verdict {
    /// PIN did not match: the OTP was not looked at.
    WrongPin,
    /// PIN matched, OTP did not (or was used before).
    WrongOtp { replayed: bool },
    /// PIN and OTP matched; the new state to store.
    Matched(TokenState),
}

impl Tessera {
    /// `POST/GET /validate/check`.
    pub async fn validate_check(&self, req: &CheckRequest) -> Result<CheckResult, PiError> {
        let serials = match (&req.serial, &req.user) {
            (Some(serial), _) => vec![serial.clone()],
            (None, Some(user)) => {
                let u = self.resolve_user(user, req.realm.as_deref())?;
                let serials = self
                    .inner
                    .store
                    .tokens_of_user(&u.resolver, &u.user_id)
                    .map_err(store_err)?;
                if serials.is_empty() {
                    return Ok(CheckResult::reject("The user has no tokens assigned"));
                }
                serials
            }
            (None, None) => {
                return Err(PiError::parameter(
                    "You need to specify a serial or a user.",
                ));
            }
        };
        let mut pin_cache: HashMap<(String, String), bool> = HashMap::new();
        for _ in 0..MAX_ATTEMPTS {
            let mut tokens = Vec::with_capacity(serials.len());
            for s in &serials {
                if let Some(t) = self.inner.store.get_token(s).map_err(store_err)? {
                    tokens.push(t);
                }
            }
            if tokens.is_empty() {
                // privacyIDEA's get_one_token: an unknown serial is 404/601.
                return match &req.serial {
                    Some(_) => Err(PiError::token_not_found()),
                    None => Ok(CheckResult::reject("The user has no tokens assigned")),
                };
            }
            let mut verdicts = Vec::with_capacity(tokens.len());
            for t in &tokens {
                verdicts.push(self.judge(&t.value, &req.pass, &mut pin_cache).await?);
            }
            if let Some(result) = self.settle(&tokens, verdicts, &req.pass).await? {
                self.inner.store.commit().wait().await.map_err(store_err)?;
                return Ok(result);
            }
            // A matched token changed under us: evaluate again (the OTP is now a replay).
        }
        tracing::error!(?serials, "validate/check kept conflicting");
        Err(PiError::internal())
    }

    /// PIN, then OTP, for one token. No writes.
    async fn judge(
        &self,
        t: &TokenRecord,
        pass: &str,
        pin_cache: &mut HashMap<(String, String), bool>,
    ) -> Result<Verdict, PiError> {
        let (pin, otp) = split_pass(pass, t.otplen as usize);
        let pin_ok = match &t.pin_hash {
            None => pin.is_empty(),
            Some(phc) => {
                let key = (phc.clone(), pin.to_string());
                match pin_cache.get(&key) {
                    Some(ok) => *ok,
                    None => {
                        let ok = self.inner.pins.verify(phc.clone(), pin.to_string()).await?;
                        pin_cache.insert(key, ok);
                        ok
                    }
                }
            }
        };
        if !pin_ok {
            return Ok(Verdict::WrongPin);
        }
        self.check_otp(t, otp)
    }

    fn check_otp(&self, t: &TokenRecord, otp: &str) -> Result<Verdict, PiError> {
        let key = self.open_key(t)?;
        let req = PluginCheck {
            key: &key,
            state: state_of(t),
            otp: otp.to_string(),
            now: self.now() as u64,
            window: t.count_window,
        };
        Ok(
            match self
                .inner
                .runtime
                .check(&t.tokentype, &t.serial, req)
                .map_err(call_err)?
            {
                CheckOutcome::Matched(state) => Verdict::Matched(state),
                CheckOutcome::Replayed => Verdict::WrongOtp { replayed: true },
                CheckOutcome::NoMatch => Verdict::WrongOtp { replayed: false },
            },
        )
    }

    /// Decide the outcome and write it. Returns None if the deciding write conflicted (nothing
    /// written then), so that the caller evaluates the request again.
    async fn settle(
        &self,
        tokens: &[Versioned<TokenRecord>],
        verdicts: Vec<Verdict>,
        pass: &str,
    ) -> Result<Option<CheckResult>, PiError> {
        let now = self.now();
        let matched: Vec<usize> = (0..tokens.len())
            .filter(|i| matches!(verdicts[*i], Verdict::Matched(_)))
            .collect();
        if !matched.is_empty() {
            let mut usable = 0usize;
            let mut problems: Vec<&'static str> = Vec::new();
            for (n, &i) in matched.iter().enumerate() {
                if n > 0 {
                    // Further matched tokens (users with several): re-checked on a fresh read.
                    usable += usize::from(
                        self.rematch_and_write(&tokens[i].value.serial, pass, now, &mut problems)
                            .await?,
                    );
                    continue;
                }
                let Verdict::Matched(state) = &verdicts[i] else {
                    continue;
                };
                let mut next = tokens[i].value.clone();
                let ok = apply_match(&mut next, state, now, &mut problems);
                // The first matched token decides: if it changed since we read it, start over.
                if self
                    .inner
                    .store
                    .update_token(&tokens[i], &next)
                    .map_err(store_err)?
                    == Cas::Conflict
                {
                    return Ok(None);
                }
                usable += usize::from(ok);
            }
            let single = (matched.len() == 1).then(|| &tokens[matched[0]].value);
            let mut result = if usable > 0 {
                CheckResult {
                    accept: true,
                    message: format!("matching {} tokens", matched.len()),
                    serial: None,
                    tokentype: None,
                    otplen: None,
                }
            } else {
                problems.dedup();
                CheckResult::reject(format!(
                    "matching {} tokens, {}",
                    matched.len(),
                    problems.join(", ")
                ))
            };
            if let Some(t) = single {
                result = result.about(t);
            }
            return Ok(Some(result));
        }
        let pin_matching: Vec<usize> = (0..tokens.len())
            .filter(|i| matches!(verdicts[*i], Verdict::WrongOtp { .. }))
            .collect();
        if !pin_matching.is_empty() {
            let replayed = pin_matching
                .iter()
                .any(|i| matches!(verdicts[*i], Verdict::WrongOtp { replayed: true }));
            for &i in &pin_matching {
                self.count_failure(&tokens[i], now).await?;
            }
            let mut result = CheckResult::reject(if replayed {
                "wrong otp value. previous otp used again"
            } else {
                "wrong otp value"
            });
            if pin_matching.len() == 1 {
                result = result.about(&tokens[pin_matching[0]].value);
            }
            return Ok(Some(result));
        }
        // No PIN matched: privacyIDEA's IncFailCountOnFalsePin (default on) counts a failure on every token.
        for t in tokens {
            self.count_failure(t, now).await?;
        }
        Ok(Some(CheckResult::reject("wrong otp pin")))
    }

    /// A further matched token (users with several tokens): re-check on the fresh record and write.
    async fn rematch_and_write(
        &self,
        serial: &str,
        pass: &str,
        now: f64,
        problems: &mut Vec<&'static str>,
    ) -> Result<bool, PiError> {
        let mut matched = false;
        let mut found: Vec<&'static str> = Vec::new();
        self.update_quietly(serial, |t| {
            matched = false;
            found.clear();
            let (_, otp) = split_pass(pass, t.otplen as usize);
            if let Verdict::Matched(state) = self.check_otp(t, otp)? {
                matched = apply_match(t, &state, now, &mut found);
            }
            Ok(())
        })
        .await?;
        problems.extend(found);
        Ok(matched)
    }

    /// One more failed attempt on a token: fail counter up to `maxfail`.
    async fn count_failure(&self, token: &Versioned<TokenRecord>, now: f64) -> Result<(), PiError> {
        self.update_quietly_from(&token.value.serial, Some(token), |t| {
            bump_info_counter(&mut t.info, "count_auth");
            if t.failcount < t.maxfail {
                t.failcount += 1;
                if t.failcount == t.maxfail {
                    t.info
                        .insert("failcounter_exceeded".into(), format_timestamp(now));
                }
            }
            Ok(())
        })
        .await
    }

    /// Compare-and-swap update without waiting for the commit (the caller commits once at the end).
    async fn update_quietly(
        &self,
        serial: &str,
        change: impl FnMut(&mut TokenRecord) -> Result<(), PiError>,
    ) -> Result<(), PiError> {
        self.update_quietly_from(serial, None, change).await
    }

    /// `update_quietly`, trying first on a record already read in this request (saves a read on the
    /// hot path); a conflict falls back to fresh reads.
    async fn update_quietly_from(
        &self,
        serial: &str,
        mut read: Option<&Versioned<TokenRecord>>,
        mut change: impl FnMut(&mut TokenRecord) -> Result<(), PiError>,
    ) -> Result<(), PiError> {
        for _ in 0..MAX_ATTEMPTS {
            let fresh;
            let current = match read.take() {
                Some(v) => v,
                None => match self.inner.store.get_token(serial).map_err(store_err)? {
                    Some(v) => {
                        fresh = v;
                        &fresh
                    }
                    None => return Ok(()),
                },
            };
            let mut next = current.value.clone();
            change(&mut next)?;
            if next == current.value
                || self
                    .inner
                    .store
                    .update_token(current, &next)
                    .map_err(store_err)?
                    == Cas::Done
            {
                return Ok(());
            }
            tokio::task::yield_now().await;
        }
        tracing::error!(serial, "token update kept conflicting");
        Err(PiError::internal())
    }
}

/// Store a matched OTP's new state and count the authentication. Returns whether the token may
/// authenticate (active and under its fail limit); otherwise notes why in `problems`.
fn apply_match(
    t: &mut TokenRecord,
    state: &TokenState,
    now: f64,
    problems: &mut Vec<&'static str>,
) -> bool {
    t.count = state.counter;
    t.info
        .extend(state.info.iter().map(|(k, v)| (k.clone(), v.clone())));
    bump_info_counter(&mut t.info, "count_auth");
    let mut ok = true;
    if !t.active {
        problems.push("Token is disabled");
        ok = false;
    }
    if t.revoked || t.locked {
        problems.push("Token is locked");
        ok = false;
    }
    if t.failcount >= t.maxfail {
        problems.push("Failcounter exceeded");
        ok = false;
    }
    if ok {
        t.failcount = 0;
        t.info.remove("failcounter_exceeded");
        bump_info_counter(&mut t.info, "count_auth_success");
        t.info.insert("last_auth".into(), format_timestamp(now));
    }
    ok
}

/// Split `pass` into (PIN, OTP): the OTP is the last `otplen` characters (privacyIDEA's `PrependPin`).
/// A pass shorter than `otplen` is all OTP with an empty PIN.
pub(crate) fn split_pass(pass: &str, otplen: usize) -> (&str, &str) {
    let chars = pass.chars().count();
    if chars <= otplen {
        return ("", pass);
    }
    let cut = pass
        .char_indices()
        .nth(chars - otplen)
        .map(|(i, _)| i)
        .unwrap_or(pass.len());
    pass.split_at(cut)
}

#[cfg(test)]
mod tests {
    use super::split_pass;

    #[test]
    fn pass_is_split_from_the_right() {
        assert_eq!(split_pass("test755224", 6), ("test", "755224"));
        assert_eq!(split_pass("755224", 6), ("", "755224"));
        assert_eq!(split_pass("x", 6), ("", "x"));
        assert_eq!(split_pass("pä55w0rd12345678", 8), ("pä55w0rd", "12345678"));
    }
}
