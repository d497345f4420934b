//! Challenge-response: creating challenges (one transaction id per request, shared by all its
//! tokens), answering them (single use, with expiry), `/validate/triggerchallenge` and
//! `/validate/polltransaction`, and the cleanup of expired challenges.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use tessera_proto::PiError;
use tessera_store::{ChallengeRecord, TokenRecord, Versioned};

use super::judge::Verdict;
use super::settle::{Fit, stale_message};
use super::{Attempt, Authentication, Challenge, CheckResult};
use crate::{Tessera, store_err};

/// privacyIDEA's default challenge text.
const DEFAULT_CHALLENGE_TEXT: &str = "please enter otp: ";
/// Expired challenges are swept at most this often (seconds).
const PURGE_INTERVAL: f64 = 60.0;

/// 20 random decimal digits, as privacyIDEA's transaction ids.
fn new_transaction_id() -> String {
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// The answer when a transaction id matches no open challenge of the tokens in question.
pub(crate) fn no_open_challenge() -> CheckResult {
    CheckResult::reject(
        "No open challenge for this transaction_id: it expired, was answered already, or was never issued.",
    )
}

impl Tessera {
    /// Create one challenge per active token, all under one new transaction id.
    pub(crate) async fn create_challenges(
        &self,
        a: &Attempt<'_>,
        requests: &[&Versioned<TokenRecord>],
    ) -> Result<CheckResult, PiError> {
        if a.opts.increase_failcounter_on_challenge {
            for t in requests {
                self.count_failure(t, a.now).await?;
            }
        }
        let text = a
            .opts
            .challenge_text
            .clone()
            .unwrap_or_else(|| DEFAULT_CHALLENGE_TEXT.to_string());
        let tokens: Vec<&TokenRecord> = requests.iter().map(|t| &t.value).collect();
        self.issue_challenges(&tokens, &text, a.now)
    }

    /// Store the challenges and build the CHALLENGE answer. Tokens that are disabled, locked or
    /// at their fail limit get none; if none is left, the answer says why.
    fn issue_challenges(
        &self,
        tokens: &[&TokenRecord],
        text: &str,
        now: f64,
    ) -> Result<CheckResult, PiError> {
        let fit: Vec<&TokenRecord> = tokens
            .iter()
            .copied()
            .filter(|t| t.active && !t.revoked && !t.locked && t.failcount < t.maxfail)
            .collect();
        if fit.is_empty() {
            return Ok(CheckResult::reject(
                "No active challenge response token found",
            ));
        }
        let tx = new_transaction_id();
        let validity = self.sysconfig().challenge_validity as f64;
        let mut challenges = Vec::with_capacity(fit.len());
        for t in &fit {
            self.inner
                .store
                .put_challenge(&ChallengeRecord {
                    transaction_id: tx.clone(),
                    serial: t.serial.clone(),
                    data: String::new(),
                    created: now,
                    expires: now + validity,
                    answered: false,
                })
                .map_err(store_err)?;
            challenges.push(Challenge {
                transaction_id: tx.clone(),
                serial: t.serial.clone(),
                tokentype: t.tokentype.clone(),
                message: text.to_string(),
                client_mode: "interactive".into(),
            });
        }
        let mut result = CheckResult {
            authentication: Authentication::Challenge,
            challenges,
            ..CheckResult::reject(text)
        };
        if let [only] = fit[..] {
            result.serial = Some(only.serial.clone());
            result.tokentype = Some(only.tokentype.clone());
        }
        Ok(result)
    }

    /// The pass answers the open challenges of `tx` held by `tokens`. None if the deciding write
    /// conflicted (evaluate again).
    pub(crate) async fn answer_challenge(
        &self,
        a: &Attempt<'_>,
        tokens: &[Versioned<TokenRecord>],
        tx: &str,
    ) -> Result<Option<CheckResult>, PiError> {
        let open: HashSet<String> = self
            .inner
            .store
            .challenges(tx)
            .map_err(store_err)?
            .into_iter()
            .filter(|c| c.expires >= a.now)
            .map(|c| c.serial)
            .collect();
        let answering: Vec<&Versioned<TokenRecord>> = tokens
            .iter()
            .filter(|t| open.contains(&t.value.serial))
            .collect();
        if answering.is_empty() {
            if self.sysconfig().inc_fail_count_on_false_pin {
                for t in tokens {
                    self.count_failure(t, a.now).await?;
                }
            }
            return Ok(Some(no_open_challenge()));
        }
        for t in &answering {
            let Verdict::Matched(state) = self.check_otp(&t.value, &a.req.pass, a.now)? else {
                continue;
            };
            let Some(fit) = self.write_match(t, &state, a)? else {
                return Ok(None);
            };
            let mut result = match fit {
                Fit::Yes => {
                    let _ = self.inner.store.take_challenges(tx).map_err(store_err)?;
                    CheckResult::accept("Found matching challenge")
                }
                Fit::No(problems) => {
                    let mut why = vec!["Challenge matches, but token is not fit for challenge"];
                    why.extend(problems);
                    CheckResult::reject(why.join(". "))
                }
                Fit::Stale(when) => CheckResult::reject(stale_message(&when)),
            };
            result.serial = Some(t.value.serial.clone());
            return Ok(Some(result));
        }
        for t in &answering {
            self.count_failure(t, a.now).await?;
        }
        Ok(Some(match answering[..] {
            [only] => CheckResult {
                serial: Some(only.value.serial.clone()),
                tokentype: Some(only.value.tokentype.clone()),
                ..CheckResult::reject("Response did not match the challenge.")
            },
            _ => CheckResult::reject(format!(
                "Response did not match for {} tokens.",
                answering.len()
            )),
        }))
    }

    /// Serials holding an open challenge of `tx` (a check that sends only the transaction id).
    pub(crate) fn serials_of_transaction(
        &self,
        tx: &str,
        now: f64,
    ) -> Result<Vec<String>, PiError> {
        Ok(self
            .inner
            .store
            .challenges(tx)
            .map_err(store_err)?
            .into_iter()
            .filter(|c| c.expires >= now)
            .map(|c| c.serial)
            .collect())
    }

    /// `POST /validate/triggerchallenge`: challenges for the user's (or the serial's) active
    /// tokens, without a PIN. Returns the CHALLENGE answer; `value` is the number created.
    pub async fn trigger_challenge(
        &self,
        user: Option<&str>,
        realm: Option<&str>,
        serial: Option<&str>,
        tokentype: Option<&str>,
    ) -> Result<CheckResult, PiError> {
        let now = self.now();
        self.purge_challenges_now_and_then(now);
        let (owner, serials) = match (serial, user) {
            (Some(s), _) => (None, vec![s.to_string()]),
            (None, Some(login)) => {
                let u = self.resolve_user(login, realm)?;
                let serials = self
                    .inner
                    .store
                    .tokens_of_user(&u.resolver, &u.user_id)
                    .map_err(store_err)?;
                (Some(u), serials)
            }
            (None, None) => {
                return Err(PiError::parameter(
                    "You need to specify a serial or a user.",
                ));
            }
        };
        let tokens: Vec<TokenRecord> = self
            .read_tokens(&serials)?
            .into_iter()
            .map(|t| t.value)
            .filter(|t| tokentype.is_none_or(|ty| ty.eq_ignore_ascii_case(&t.tokentype)))
            .collect();
        if tokens.is_empty() {
            return match serial {
                Some(_) if tokentype.is_none() => Err(PiError::token_not_found()),
                _ => Err(PiError::new(
                    tessera_proto::ErrorKind::Parameter,
                    "ERR905: The user has no tokens assigned that can answer a challenge.",
                )),
            };
        }
        let refs: Vec<&TokenRecord> = tokens.iter().collect();
        let mut result = self.issue_challenges(&refs, DEFAULT_CHALLENGE_TEXT, now)?;
        self.inner.store.commit().wait().await.map_err(store_err)?;
        result.user = owner;
        Ok(result)
    }

    /// `GET /validate/polltransaction`: has an out-of-band challenge of `tx` been answered?
    /// OTP challenges are answered through `/validate/check`, which removes them, so for them
    /// this stays false.
    pub fn poll_transaction(&self, tx: &str) -> Result<bool, PiError> {
        let now = self.now();
        Ok(self
            .inner
            .store
            .challenges(tx)
            .map_err(store_err)?
            .iter()
            .any(|c| c.answered && c.expires >= now))
    }

    /// Sweep expired challenges at most once a minute, off the request's path.
    pub(crate) fn purge_challenges_now_and_then(&self, now: f64) {
        static LAST: AtomicU64 = AtomicU64::new(0);
        let last = f64::from_bits(LAST.load(Ordering::Relaxed));
        if now - last < PURGE_INTERVAL
            || LAST
                .compare_exchange(
                    last.to_bits(),
                    now.to_bits(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || match store.purge_challenges(now) {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purged = n, "expired challenges removed"),
            Err(e) => tracing::warn!(error = %e, "purging expired challenges failed"),
        });
    }
}
