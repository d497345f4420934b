//! Classifying one token for one pass, without writing: a challenge request (the pass is the PIN of
//! a challenge-response token), a wrong PIN, a wrong OTP, or a match with the token's new state.

use std::collections::HashMap;

use tessera_proto::PiError;
use tessera_runtime::{CheckOutcome, CheckRequest as PluginCheck, TokenState};
use tessera_store::{TokenRecord, Versioned};

use super::Attempt;
use crate::auth_options::OtpPin;
use crate::tokens::state_of;
use crate::{ResolvedUser, Tessera, call_err};

/// What one request found out about one token.
pub(crate) enum Verdict {
    /// The whole pass is the PIN of a token that answers with a challenge.
    ChallengeRequest,
    /// PIN did not match: the OTP was not looked at.
    WrongPin,
    /// PIN matched, OTP did not (or was used before).
    WrongOtp { replayed: bool },
    /// PIN and OTP matched; the new state to store.
    Matched(TokenState),
}

/// PIN checks already done in this request: (PIN hash or user, PIN) -> matched.
type PinCache = HashMap<(String, String), bool>;

impl Tessera {
    pub(crate) async fn judge_all(
        &self,
        a: &Attempt<'_>,
        tokens: &[Versioned<TokenRecord>],
    ) -> Result<Vec<Verdict>, PiError> {
        let mut cache = PinCache::new();
        let mut verdicts = Vec::with_capacity(tokens.len());
        for t in tokens {
            verdicts.push(self.judge(a, &t.value, &mut cache).await?);
        }
        Ok(verdicts)
    }

    async fn judge(
        &self,
        a: &Attempt<'_>,
        t: &TokenRecord,
        cache: &mut PinCache,
    ) -> Result<Verdict, PiError> {
        let pass = a.req.pass.as_str();
        if a.opts
            .challenge_types
            .iter()
            .any(|ty| ty.eq_ignore_ascii_case(&t.tokentype))
            && self.pin_matches(a, t, pass, cache).await?
        {
            return Ok(Verdict::ChallengeRequest);
        }
        let prepend = self.sysconfig().prepend_pin;
        let (pin, otp) = split_pass(pass, t.otplen as usize, prepend);
        if !self.pin_matches(a, t, pin, cache).await? {
            return Ok(Verdict::WrongPin);
        }
        self.check_otp(t, otp, a.now)
    }

    /// Does `pin` match, by the `otppin` policy: the token's PIN, the owner's password, or empty.
    async fn pin_matches(
        &self,
        a: &Attempt<'_>,
        t: &TokenRecord,
        pin: &str,
        cache: &mut PinCache,
    ) -> Result<bool, PiError> {
        let key = match a.opts.otppin {
            OtpPin::None => return Ok(pin.is_empty()),
            OtpPin::TokenPin => match &t.pin_hash {
                None => return Ok(pin.is_empty()),
                Some(phc) => (phc.clone(), pin.to_string()),
            },
            OtpPin::UserStore => match &t.owner {
                None => return Ok(false),
                Some(o) => (
                    format!("user:{}\0{}", o.resolver, o.user_id),
                    pin.to_string(),
                ),
            },
        };
        if let Some(ok) = cache.get(&key) {
            return Ok(*ok);
        }
        let ok = match (a.opts.otppin, &t.owner) {
            (OtpPin::UserStore, Some(o)) => {
                let user = ResolvedUser {
                    login: String::new(),
                    realm: o.realm.clone(),
                    resolver: o.resolver.clone(),
                    user_id: o.user_id.clone(),
                };
                let (this, pin) = (self.clone(), pin.to_string());
                tokio::task::spawn_blocking(move || this.check_user_password(&user, &pin))
                    .await
                    .map_err(|_| PiError::internal())??
            }
            _ => {
                self.inner
                    .pins
                    .verify(key.0.clone(), pin.to_string())
                    .await?
            }
        };
        cache.insert(key, ok);
        Ok(ok)
    }

    /// Ask the token's plugin about an OTP (no PIN).
    pub(crate) fn check_otp(
        &self,
        t: &TokenRecord,
        otp: &str,
        now: f64,
    ) -> Result<Verdict, PiError> {
        let key = self.open_key(t)?;
        let req = PluginCheck {
            key: &key,
            state: state_of(t),
            otp: otp.to_string(),
            now: now as u64,
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
}

/// Split `pass` into (PIN, OTP): the OTP is the last `otplen` characters, or the first ones when
/// `PrependPin` is off. A pass shorter than `otplen` is all OTP with an empty PIN.
pub(crate) fn split_pass(pass: &str, otplen: usize, prepend_pin: bool) -> (&str, &str) {
    let chars = pass.chars().count();
    if chars <= otplen {
        return ("", pass);
    }
    let at = if prepend_pin { chars - otplen } else { otplen };
    let cut = pass
        .char_indices()
        .nth(at)
        .map(|(i, _)| i)
        .unwrap_or(pass.len());
    let (left, right) = pass.split_at(cut);
    if prepend_pin {
        (left, right)
    } else {
        (right, left)
    }
}

#[cfg(test)]
mod tests {
    use super::split_pass;

    #[test]
    fn pass_is_split_from_the_right() {
        assert_eq!(split_pass("test755224", 6, true), ("test", "755224"));
        assert_eq!(split_pass("755224", 6, true), ("", "755224"));
        assert_eq!(split_pass("x", 6, true), ("", "x"));
        assert_eq!(
            split_pass("pä55w0rd12345678", 8, true),
            ("pä55w0rd", "12345678")
        );
    }

    #[test]
    fn pin_comes_last_without_prepend_pin() {
        assert_eq!(split_pass("755224test", 6, false), ("test", "755224"));
        assert_eq!(split_pass("12345678pä", 8, false), ("pä", "12345678"));
        assert_eq!(split_pass("755224", 6, false), ("", "755224"));
    }
}
