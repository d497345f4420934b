//! The `hotp` token type: RFC 4226 event-based one-time passwords, as privacyIDEA's HOTP token.
//!
//! The key stays in the host; this plugin asks it for HMACs. State: `counter` is the next counter
//! that may be used (privacyIDEA's `count`); info `hashlib` and `tokenkind`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use tessera_sdk::oath::{self, Hashlib, HmacKey, OathKind, Provisioning};
use tessera_sdk::token::{
    CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest, ParamSpec, ResyncRequest,
    TokenState, TypeInfo, key_or_generate,
};
use tessera_sdk::{Params, PluginError};

/// How many counters below the current one are recognised as a replayed OTP: only the last used
/// one, as privacyIDEA 3.7.1 answers (captures 31 and 38: the OTP just used is "previous otp used
/// again", an older one is plain "wrong otp value").
pub const REPLAY_LOOKBACK: u64 = 1;

/// The `hotp` token type.
pub struct Hotp;

impl Guest for Hotp {
    fn describe() -> TypeInfo {
        TypeInfo {
            type_name: "hotp".into(),
            serial_prefix: "OATH".into(),
            description: "HOTP: event-based one-time password (RFC 4226)".into(),
            enroll_params: vec![
                ParamSpec::optional("otplen", "Number of digits: 6 (default) or 8"),
                ParamSpec::optional("hashlib", "HMAC hash: sha1 (default), sha256 or sha512"),
            ],
            challenge_response: false,
        }
    }

    fn enroll(req: EnrollRequest) -> Result<Enrollment, PluginError> {
        let settings = Settings::from_params(Params::new(&req.params))?;
        let key = key_or_generate(req.otpkey, settings.hashlib.key_len())?;
        let detail = Provisioning {
            kind: OathKind::Hotp,
            label: &req.serial,
            issuer: &req.issuer,
            digits: settings.otplen,
            hashlib: settings.hashlib,
        }
        .detail();
        Ok(Enrollment {
            state: settings.initial_state(),
            key: Some(key),
            detail,
        })
    }

    fn check(req: CheckRequest<'_>) -> Result<CheckOutcome, PluginError> {
        check_otp(req.key, &req.state, &req.otp, req.window)
    }

    fn resync(req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        resync(req.key, &req.state, &req.otp1, &req.otp2, req.window)
    }
}

tessera_sdk::export_token!(Hotp);

/// Enrollment settings of an HOTP token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Digits per OTP (6 or 8).
    pub otplen: u32,
    /// HMAC hash.
    pub hashlib: Hashlib,
}

impl Settings {
    /// Read `otplen` (6|8, default 6) and `hashlib` (default sha1) from `/token/init` parameters.
    pub fn from_params(params: Params<'_>) -> Result<Self, PluginError> {
        let otplen = params.u32_one_of("otplen", &[6, 8], 6)?;
        let name = params.one_of("hashlib", &Hashlib::NAMES, "sha1")?;
        let hashlib = Hashlib::from_name(name).unwrap_or(Hashlib::Sha1);
        Ok(Settings { otplen, hashlib })
    }

    /// The state of a new token: counter 0, info as privacyIDEA shows it.
    pub fn initial_state(&self) -> TokenState {
        TokenState::new(
            0,
            self.otplen,
            vec![
                ("hashlib".into(), self.hashlib.name().into()),
                ("tokenkind".into(), "software".into()),
            ],
        )
    }
}

/// The hash and digits a stored token uses; `internal` if its state is unusable.
pub fn token_params(state: &TokenState) -> Result<(Hashlib, u32), PluginError> {
    let hashlib = match state.info().get("hashlib") {
        None => Hashlib::Sha1,
        Some(name) => Hashlib::from_name(name).ok_or_else(|| {
            PluginError::internal(format!("token info hashlib '{name}' is not supported"))
        })?,
    };
    if !(4..=10).contains(&state.otplen) {
        return Err(PluginError::internal(format!(
            "token otplen {} is not supported",
            state.otplen
        )));
    }
    Ok((hashlib, state.otplen))
}

/// Check `otp` against counters `state.counter .. state.counter + window` (at least one). A match
/// at `c` moves the counter to `c + 1`; an OTP of one of the [`REPLAY_LOOKBACK`] counters below
/// is `replayed`; anything else, including a wrong length or non-digits, is `no-match`.
pub fn check_otp<K: HmacKey + ?Sized>(
    key: &K,
    state: &TokenState,
    otp: &str,
    window: u32,
) -> Result<CheckOutcome, PluginError> {
    let (hashlib, digits) = token_params(state)?;
    let Some(value) = oath::parse_otp(otp, digits) else {
        return Ok(CheckOutcome::NoMatch);
    };
    let ahead = state.counter..state.counter.saturating_add(u64::from(window.max(1)));
    if let Some(c) = oath::find_counter(key, hashlib, digits, value, ahead) {
        let mut next = state.clone();
        next.counter = c + 1;
        return Ok(CheckOutcome::Matched(next));
    }
    let behind = state.counter.saturating_sub(REPLAY_LOOKBACK)..state.counter;
    match oath::find_counter(key, hashlib, digits, value, behind) {
        Some(_) => Ok(CheckOutcome::Replayed),
        None => Ok(CheckOutcome::NoMatch),
    }
}

/// Find `otp1` at a counter `c` within `window` counters from `state.counter` with `otp2` at
/// `c + 1`; the new state has counter `c + 2` (privacyIDEA's resync).
pub fn resync<K: HmacKey + ?Sized>(
    key: &K,
    state: &TokenState,
    otp1: &str,
    otp2: &str,
    window: u32,
) -> Result<Option<TokenState>, PluginError> {
    let (hashlib, digits) = token_params(state)?;
    let (Some(v1), Some(v2)) = (oath::parse_otp(otp1, digits), oath::parse_otp(otp2, digits))
    else {
        return Ok(None);
    };
    let end = state.counter.saturating_add(u64::from(window.max(1)));
    let mut previous = None;
    for c in state.counter..=end {
        let current = oath::hotp(key, hashlib, c, digits);
        if previous == Some(v1) && current == Some(v2) {
            let mut next = state.clone();
            next.counter = c + 1;
            return Ok(Some(next));
        }
        previous = current;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_sdk::ErrorCode;
    use tessera_sdk::oath::SoftKey;

    const KEY: SoftKey<'static> = SoftKey(b"12345678901234567890");
    /// RFC 4226 Appendix D, counters 0 to 9.
    const RFC4226: [&str; 10] = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];

    fn state(counter: u64) -> TokenState {
        let mut s = Settings {
            otplen: 6,
            hashlib: Hashlib::Sha1,
        }
        .initial_state();
        s.counter = counter;
        s
    }

    fn check(counter: u64, otp: &str, window: u32, expected: CheckOutcome) {
        let got = check_otp(&KEY, &state(counter), otp, window).unwrap();
        assert_eq!(
            format!("{got:?}"),
            format!("{expected:?}"),
            "otp {otp} at counter {counter}, window {window}"
        );
    }

    #[test]
    fn rfc4226_values_match_and_advance_the_counter() {
        for (c, otp) in RFC4226.iter().enumerate() {
            check(0, otp, 10, CheckOutcome::Matched(state(c as u64 + 1)));
        }
        check(9, "520489", 1, CheckOutcome::Matched(state(10)));
        check(9, "520489", 0, CheckOutcome::Matched(state(10)));
    }

    #[test]
    fn the_window_limits_the_look_ahead() {
        check(0, "520489", 9, CheckOutcome::NoMatch);
        check(1, "520489", 9, CheckOutcome::Matched(state(10)));
    }

    #[test]
    fn used_otps_are_replayed() {
        check(1, "755224", 10, CheckOutcome::Replayed);
        check(4, "969429", 10, CheckOutcome::Replayed);
        check(5, "969429", 10, CheckOutcome::NoMatch);
        check(3, "755224", 10, CheckOutcome::NoMatch);
    }

    #[test]
    fn malformed_otps_do_not_match() {
        for otp in ["", "75522", "7552244", "75522a", " 55224", "755224\n"] {
            check(0, otp, 10, CheckOutcome::NoMatch);
        }
        check(0, "000000", 10, CheckOutcome::NoMatch);
    }

    #[test]
    fn matched_state_keeps_info_and_otplen() {
        let CheckOutcome::Matched(next) = check_otp(&KEY, &state(0), "755224", 10).unwrap() else {
            panic!("no match");
        };
        assert_eq!(next.otplen, 6);
        assert_eq!(next.info().get("hashlib"), Some("sha1"));
        assert_eq!(next.info().get("tokenkind"), Some("software"));
    }

    #[test]
    fn eight_digits_and_sha256() {
        let key = SoftKey(b"12345678901234567890123456789012");
        let mut s = Settings {
            otplen: 8,
            hashlib: Hashlib::Sha256,
        }
        .initial_state();
        s.counter = 1;
        // RFC 6238 SHA-256 value at T=59, i.e. counter 1.
        let CheckOutcome::Matched(next) = check_otp(&key, &s, "46119246", 10).unwrap() else {
            panic!("no match");
        };
        assert_eq!(next.counter, 2);
    }

    #[test]
    fn unusable_state_is_an_internal_error() {
        let mut s = state(0);
        s.set_info("hashlib", "md5");
        assert_eq!(
            check_otp(&KEY, &s, "755224", 10).unwrap_err().code,
            ErrorCode::Internal
        );
        let mut s = state(0);
        s.otplen = 0;
        assert_eq!(
            check_otp(&KEY, &s, "", 10).unwrap_err().code,
            ErrorCode::Internal
        );
    }

    #[test]
    fn resync_finds_two_consecutive_otps() {
        let next = resync(&KEY, &state(0), "969429", "338314", 1000)
            .unwrap()
            .unwrap();
        assert_eq!(next.counter, 5);
        assert!(
            resync(&KEY, &state(0), "969429", "254676", 1000)
                .unwrap()
                .is_none()
        );
        assert!(
            resync(&KEY, &state(4), "969429", "338314", 1000)
                .unwrap()
                .is_none()
        );
        assert!(
            resync(&KEY, &state(0), "x", "338314", 1000)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn resync_then_check_as_captured_from_privacyidea() {
        // 53-token-resync.json then 54-validate-check-after-resync.json: the RFC 4226 key,
        // otp1 403154, otp2 481090, then 868912 is accepted.
        let next = resync(&KEY, &state(1), "403154", "481090", 1000)
            .unwrap()
            .unwrap();
        let CheckOutcome::Matched(after) = check_otp(&KEY, &next, "868912", 10).unwrap() else {
            panic!("868912 must match after the resync");
        };
        assert_eq!(after.counter, next.counter + 1);
    }

    #[test]
    fn settings_from_params() {
        let p = |items: &[(&str, &str)]| -> Vec<(String, String)> {
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let s = Settings::from_params(Params::new(&p(&[]))).unwrap();
        assert_eq!(
            s,
            Settings {
                otplen: 6,
                hashlib: Hashlib::Sha1
            }
        );
        let s = Settings::from_params(Params::new(&p(&[("otplen", "8"), ("hashlib", "sha512")])))
            .unwrap();
        assert_eq!(
            s,
            Settings {
                otplen: 8,
                hashlib: Hashlib::Sha512
            }
        );
        assert_eq!(s.hashlib.key_len(), 64);
        let e = Settings::from_params(Params::new(&p(&[("otplen", "7")]))).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadParameter);
        let e = Settings::from_params(Params::new(&p(&[("hashlib", "md5")]))).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value for parameter 'hashlib': 'md5' (expected one of sha1, sha256, sha512)"
        );
        let st = s.initial_state();
        assert_eq!(st.counter, 0);
        assert_eq!(
            st.info,
            p(&[("hashlib", "sha512"), ("tokenkind", "software")])
        );
    }
}
