//! Deciding a PIN+OTP request and writing what it changed: counters of matched tokens, fail
//! counters, AutoResync's remembered OTP, and the reset of fail counters after their timeout.
//! The authorization policy `last_auth` is enforced here, in the same compare-and-swap that would
//! refresh the token's `last_auth`: a refused token's OTP is used up but `last_auth` stays old.

use tessera_proto::PiError;
use tessera_runtime::{ResyncRequest, TokenState};
use tessera_store::{Cas, TokenRecord, Versioned};

use super::judge::Verdict;
use super::{Attempt, CheckResult, MAX_ATTEMPTS};
use crate::tokens::{bump_info_counter, state_of};
use crate::{Tessera, call_err, format_timestamp, parse_timestamp, store_err};

/// tokeninfo keys of AutoResync: the sealed first OTP and when it came.
const OTP1C: &str = "otp1c";
const OTP1C_TIME: &str = "otp1c_time";
/// tokeninfo key of the last successful authentication (privacyIDEA's `ACTION.LASTAUTH`).
const LAST_AUTH: &str = "last_auth";

/// Whether a token whose OTP matched may authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fit {
    Yes,
    /// Disabled, locked or at its fail limit: why, in privacyIDEA's words.
    No(Vec<&'static str>),
    /// The `last_auth` policy: the last success (the stored tokeninfo value) is too long ago.
    Stale(String),
}

/// privacyIDEA's answer when `last_auth` refuses a token (its spelling).
pub(crate) fn stale_message(last_auth: &str) -> String {
    format!("The last successful authentication was {last_auth}. It is to long ago.")
}

impl Tessera {
    /// Decide the outcome and write it. Returns None if the deciding write conflicted (nothing
    /// written then), so that the caller evaluates the request again.
    pub(crate) async fn settle(
        &self,
        a: &Attempt<'_>,
        tokens: &[Versioned<TokenRecord>],
        verdicts: Vec<Verdict>,
    ) -> Result<Option<CheckResult>, PiError> {
        let matched: Vec<usize> = (0..tokens.len())
            .filter(|i| matches!(verdicts[*i], Verdict::Matched(_)))
            .collect();
        if !matched.is_empty() {
            return self.settle_matched(a, tokens, &verdicts, &matched).await;
        }
        let requests: Vec<&Versioned<TokenRecord>> = (0..tokens.len())
            .filter(|i| matches!(verdicts[*i], Verdict::ChallengeRequest))
            .map(|i| &tokens[i])
            .collect();
        if !requests.is_empty() {
            return self.create_challenges(a, &requests).await.map(Some);
        }
        let pin_matching: Vec<usize> = (0..tokens.len())
            .filter(|i| matches!(verdicts[*i], Verdict::WrongOtp { .. }))
            .collect();
        if !pin_matching.is_empty() {
            let replayed = pin_matching
                .iter()
                .any(|i| matches!(verdicts[*i], Verdict::WrongOtp { replayed: true }));
            if let [only] = pin_matching[..]
                && !replayed
                && self.sysconfig().auto_resync
            {
                return self.auto_resync(a, &tokens[only]).await;
            }
            for &i in &pin_matching {
                self.count_failure(&tokens[i], a.now).await?;
            }
            let mut result = CheckResult::reject(if replayed {
                "wrong otp value. previous otp used again"
            } else {
                "wrong otp value"
            });
            if let [only] = pin_matching[..] {
                result = result.about(&tokens[only].value);
            }
            return Ok(Some(result));
        }
        if self.sysconfig().inc_fail_count_on_false_pin {
            for t in tokens {
                self.count_failure(t, a.now).await?;
            }
        }
        Ok(Some(CheckResult::reject("wrong otp pin")))
    }

    async fn settle_matched(
        &self,
        a: &Attempt<'_>,
        tokens: &[Versioned<TokenRecord>],
        verdicts: &[Verdict],
        matched: &[usize],
    ) -> Result<Option<CheckResult>, PiError> {
        let mut usable = 0usize;
        let mut problems: Vec<&'static str> = Vec::new();
        let mut stale = None;
        for (n, &i) in matched.iter().enumerate() {
            let fit = if n > 0 {
                // Further matched tokens (users with several): re-checked on a fresh read.
                self.rematch_and_write(a, &tokens[i].value.serial).await?
            } else {
                let Verdict::Matched(state) = &verdicts[i] else {
                    continue;
                };
                match self.write_match(&tokens[i], state, a)? {
                    None => return Ok(None),
                    Some(fit) => fit,
                }
            };
            match fit {
                Fit::Yes => usable += 1,
                Fit::No(why) => problems.extend(why),
                Fit::Stale(when) => stale = Some(when),
            }
        }
        let single = (matched.len() == 1).then(|| &tokens[matched[0]].value);
        let mut result = if usable > 0 {
            if a.opts.reset_all_user_tokens {
                self.reset_failcounters(tokens).await?;
            }
            CheckResult::accept(format!("matching {} tokens", matched.len()))
        } else if let Some(when) = stale {
            CheckResult::reject(stale_message(&when))
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
        Ok(Some(result))
    }

    /// Write a matched token's new state if nobody changed it since `read`. None on conflict,
    /// else whether the token may authenticate.
    pub(crate) fn write_match(
        &self,
        read: &Versioned<TokenRecord>,
        state: &TokenState,
        a: &Attempt<'_>,
    ) -> Result<Option<Fit>, PiError> {
        let mut next = read.value.clone();
        let fit = apply_match(&mut next, state, a.now, a.opts.limits.last_auth);
        match self
            .inner
            .store
            .update_token(read, &next)
            .map_err(store_err)?
        {
            Cas::Conflict => Ok(None),
            Cas::Done => Ok(Some(fit)),
        }
    }

    /// A further matched token (users with several): re-check on the fresh record and write.
    /// A token whose OTP no longer matches there is `Fit::No` without a reason.
    async fn rematch_and_write(&self, a: &Attempt<'_>, serial: &str) -> Result<Fit, PiError> {
        let prepend = self.sysconfig().prepend_pin;
        let mut fit = Fit::No(Vec::new());
        self.update_quietly_from(serial, None, |t| {
            fit = Fit::No(Vec::new());
            let (_, otp) = super::split_pass(&a.req.pass, t.otplen as usize, prepend);
            if let Verdict::Matched(state) = self.check_otp(t, otp, a.now)? {
                fit = apply_match(t, &state, a.now, a.opts.limits.last_auth);
            }
            Ok(())
        })
        .await?;
        Ok(fit)
    }

    /// privacyIDEA's AutoResync: a wrong OTP is remembered (sealed); if the next wrong OTP comes
    /// within `AutoResyncTimeout` and the two are consecutive within the sync window, the token is
    /// resynchronised and the request accepted.
    async fn auto_resync(
        &self,
        a: &Attempt<'_>,
        token: &Versioned<TokenRecord>,
    ) -> Result<Option<CheckResult>, PiError> {
        let t = &token.value;
        let prepend = self.sysconfig().prepend_pin;
        let (_, otp) = super::split_pass(&a.req.pass, t.otplen as usize, prepend);
        let timeout = self.sysconfig().auto_resync_timeout as f64;
        let remembered = t
            .info
            .get(OTP1C_TIME)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|at| a.now - at <= timeout)
            .and_then(|_| t.info.get(OTP1C))
            .and_then(|sealed| hex::decode(sealed).ok())
            .and_then(|sealed| self.inner.sealer.open(&otp1c_aad(&t.serial), &sealed).ok());
        if let Some(otp1) = remembered {
            let key = self.open_key(t)?;
            let req = ResyncRequest {
                key: &key,
                state: state_of(t),
                otp1: String::from_utf8_lossy(&otp1).into_owned(),
                otp2: otp.to_string(),
                now: a.now as u64,
                window: t.sync_window,
            };
            if let Some(state) = self
                .inner
                .runtime
                .resync(&t.tokentype, &t.serial, req)
                .map_err(call_err)?
            {
                let mut next = t.clone();
                next.info.remove(OTP1C);
                next.info.remove(OTP1C_TIME);
                let fit = apply_match(&mut next, &state, a.now, a.opts.limits.last_auth);
                if self
                    .inner
                    .store
                    .update_token(token, &next)
                    .map_err(store_err)?
                    == Cas::Conflict
                {
                    return Ok(None);
                }
                let result = match fit {
                    Fit::Yes => CheckResult::accept("matching 1 tokens"),
                    Fit::No(problems) => {
                        CheckResult::reject(format!("matching 1 tokens, {}", problems.join(", ")))
                    }
                    Fit::Stale(when) => CheckResult::reject(stale_message(&when)),
                };
                return Ok(Some(result.about(t)));
            }
        }
        let sealed = hex::encode(
            self.inner
                .sealer
                .seal(&otp1c_aad(&t.serial), otp.as_bytes()),
        );
        let now = a.now;
        self.update_quietly_from(&t.serial, Some(token), |t| {
            count_failure_on(t, now);
            t.info.insert(OTP1C.into(), sealed.clone());
            t.info.insert(OTP1C_TIME.into(), format!("{now:.3}"));
            Ok(())
        })
        .await?;
        Ok(Some(CheckResult::reject("wrong otp value").about(t)))
    }

    /// One more failed attempt on a token: fail counter up to `maxfail`.
    pub(crate) async fn count_failure(
        &self,
        token: &Versioned<TokenRecord>,
        now: f64,
    ) -> Result<(), PiError> {
        self.update_quietly_from(&token.value.serial, Some(token), |t| {
            count_failure_on(t, now);
            Ok(())
        })
        .await
    }

    /// `reset_all_user_tokens`: a success clears the fail counters of all the user's tokens.
    async fn reset_failcounters(&self, tokens: &[Versioned<TokenRecord>]) -> Result<(), PiError> {
        for t in tokens {
            self.update_quietly_from(&t.value.serial, None, |t| {
                t.failcount = 0;
                t.info.remove("failcounter_exceeded");
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// `failcounter_clear_timeout`: a token locked by its fail counter longer than the timeout
    /// gets its counter reset before this attempt. Returns whether anything was written.
    pub(crate) async fn clear_expired_failcounters(
        &self,
        a: &Attempt<'_>,
        tokens: &[Versioned<TokenRecord>],
    ) -> Result<bool, PiError> {
        let minutes = a.opts.failcounter_clear_timeout;
        if minutes == 0 {
            return Ok(false);
        }
        let mut changed = false;
        for token in tokens {
            let t = &token.value;
            let since = t
                .info
                .get("failcounter_exceeded")
                .and_then(|s| parse_timestamp(s));
            if t.failcount >= t.maxfail
                && since.is_some_and(|since| a.now - since >= (minutes * 60) as f64)
            {
                self.update_quietly_from(&t.serial, Some(token), |t| {
                    t.failcount = 0;
                    t.info.remove("failcounter_exceeded");
                    Ok(())
                })
                .await?;
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Compare-and-swap update without waiting for the commit (the caller commits once at the
    /// end), trying first on a record already read in this request (saves a read on the hot
    /// path); a conflict falls back to fresh reads.
    pub(crate) async fn update_quietly_from(
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

/// Associated data binding AutoResync's remembered OTP to its token.
fn otp1c_aad(serial: &str) -> Vec<u8> {
    let mut aad = b"otp1c:".to_vec();
    aad.extend_from_slice(serial.as_bytes());
    aad
}

/// A failed attempt: `count_auth` up, fail counter up to `maxfail` (with the time it got there).
pub(crate) fn count_failure_on(t: &mut TokenRecord, now: f64) {
    bump_info_counter(&mut t.info, "count_auth");
    if t.failcount < t.maxfail {
        t.failcount += 1;
        if t.failcount == t.maxfail {
            t.info
                .insert("failcounter_exceeded".into(), format_timestamp(now));
        }
    }
}

/// Store a matched OTP's new state (the OTP is used up whatever follows) and count the
/// authentication. Returns whether the token may authenticate: active, under its fail limit and,
/// with `last_auth` (seconds), last used successfully within that time (a token never used
/// passes). Only a fit token counts a success, clears its fail counter and refreshes `last_auth`.
pub(crate) fn apply_match(
    t: &mut TokenRecord,
    state: &TokenState,
    now: f64,
    last_auth: Option<u64>,
) -> Fit {
    t.count = state.counter;
    t.info
        .extend(state.info.iter().map(|(k, v)| (k.clone(), v.clone())));
    bump_info_counter(&mut t.info, "count_auth");
    let mut problems = Vec::new();
    if !t.active {
        problems.push("Token is disabled");
    }
    if t.revoked || t.locked {
        problems.push("Token is locked");
    }
    if t.failcount >= t.maxfail {
        problems.push("Failcounter exceeded");
    }
    if !problems.is_empty() {
        return Fit::No(problems);
    }
    if let (Some(limit), Some(last)) = (last_auth, t.info.get(LAST_AUTH)) {
        match parse_timestamp(last) {
            Some(at) if at + (limit as f64) < now => return Fit::Stale(last.clone()),
            Some(_) => {}
            None => {
                tracing::warn!(serial = %t.serial, value = %last, "tokeninfo last_auth cannot be read; last_auth policy not applied");
            }
        }
    }
    t.failcount = 0;
    t.info.remove("failcounter_exceeded");
    t.info.remove(OTP1C);
    t.info.remove(OTP1C_TIME);
    bump_info_counter(&mut t.info, "count_auth_success");
    t.info.insert(LAST_AUTH.into(), format_timestamp(now));
    Fit::Yes
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::format_timestamp;

    /// 2024-01-01 10:00:00 UTC.
    const NOW: f64 = 1_704_103_200.0;
    const DAY: f64 = 86_400.0;

    fn token(last_auth: Option<f64>) -> TokenRecord {
        let mut info = BTreeMap::new();
        if let Some(at) = last_auth {
            info.insert(LAST_AUTH.to_string(), format_timestamp(at));
        }
        TokenRecord {
            id: 1,
            serial: "OATH0001".into(),
            tokentype: "hotp".into(),
            active: true,
            revoked: false,
            locked: false,
            description: String::new(),
            otplen: 6,
            count: 3,
            count_window: 10,
            sync_window: 1000,
            failcount: 2,
            maxfail: 10,
            info,
            pin_hash: None,
            sealed_key: None,
            owner: None,
            realms: Vec::new(),
            rollout_state: String::new(),
        }
    }

    fn matched(counter: u64) -> TokenState {
        TokenState {
            counter,
            otplen: 6,
            info: BTreeMap::new(),
        }
    }

    /// (fit, counter, failcount, last_auth, count_auth, count_auth_success) after one match.
    fn check(
        mut t: TokenRecord,
        last_auth: Option<u64>,
    ) -> (Fit, u64, u32, Option<String>, String, Option<String>) {
        let fit = apply_match(&mut t, &matched(7), NOW, last_auth);
        (
            fit,
            t.count,
            t.failcount,
            t.info.get(LAST_AUTH).cloned(),
            t.info["count_auth"].clone(),
            t.info.get("count_auth_success").cloned(),
        )
    }

    #[test]
    fn last_auth_refuses_a_token_used_too_long_ago_without_refreshing_it() {
        let now = format_timestamp(NOW);
        let two_days_ago = format_timestamp(NOW - 2.0 * DAY);
        assert_eq!(two_days_ago, "2023-12-30 10:00:00.000000+00:00");
        // No policy: any age passes and last_auth is refreshed.
        assert_eq!(
            check(token(Some(NOW - 2.0 * DAY)), None),
            (
                Fit::Yes,
                7,
                0,
                Some(now.clone()),
                "1".into(),
                Some("1".into())
            )
        );
        // Within the limit (30h).
        assert_eq!(
            check(token(Some(NOW - DAY)), Some(30 * 3600)),
            (
                Fit::Yes,
                7,
                0,
                Some(now.clone()),
                "1".into(),
                Some("1".into())
            )
        );
        // A token never used successfully passes.
        assert_eq!(
            check(token(None), Some(30 * 3600)),
            (Fit::Yes, 7, 0, Some(now), "1".into(), Some("1".into()))
        );
        // Too old: refused; the OTP is used up (counter 7) but last_auth, the fail counter and
        // the success count stay.
        assert_eq!(
            check(token(Some(NOW - 2.0 * DAY)), Some(30 * 3600)),
            (
                Fit::Stale(two_days_ago.clone()),
                7,
                2,
                Some(two_days_ago.clone()),
                "1".into(),
                None
            )
        );
        assert_eq!(
            stale_message(&two_days_ago),
            "The last successful authentication was 2023-12-30 10:00:00.000000+00:00. \
             It is to long ago."
        );
    }

    #[test]
    fn disabled_locked_and_failcounter_come_before_last_auth() {
        let mut t = token(Some(NOW - 2.0 * DAY));
        t.active = false;
        t.failcount = 10;
        let (fit, counter, ..) = check(t, Some(60));
        assert_eq!(
            fit,
            Fit::No(vec!["Token is disabled", "Failcounter exceeded"])
        );
        assert_eq!(counter, 7);
        // An unreadable last_auth does not lock the token out.
        let mut t = token(None);
        t.info.insert(LAST_AUTH.into(), "yesterday".into());
        assert_eq!(check(t, Some(60)).0, Fit::Yes);
    }
}
