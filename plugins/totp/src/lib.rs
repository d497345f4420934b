//! The `totp` token type: RFC 6238 time-based one-time passwords, as privacyIDEA's TOTP token.
//!
//! The key stays in the host; this plugin asks it for HMACs and never reads a clock (the host
//! passes `now`). State: `counter` is the last time step used, 0 before the first use (privacyIDEA's `count`);
//! info `hashlib`, `timeStep`, `timeWindow` (seconds either side of now), `timeShift` (seconds the
//! token's clock is ahead of the server's, kept as privacyIDEA keeps it: a float such as `-12.0`)
//! and `tokenkind`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use tessera_sdk::oath::{self, Hashlib, HmacKey, OathKind, Provisioning};
use tessera_sdk::token::{
    CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest, ParamSpec, ResyncRequest,
    TokenState, TypeInfo, key_or_generate,
};
use tessera_sdk::{Params, PluginError};

/// privacyIDEA's default `timeWindow`, in seconds.
pub const DEFAULT_TIME_WINDOW: u32 = 180;

/// The `totp` token type.
pub struct Totp;

impl Guest for Totp {
    fn describe() -> TypeInfo {
        TypeInfo {
            type_name: "totp".into(),
            serial_prefix: "TOTP".into(),
            description: "TOTP: time-based one-time password (RFC 6238)".into(),
            enroll_params: vec![
                ParamSpec::optional("otplen", "Number of digits: 6 (default) or 8"),
                ParamSpec::optional("hashlib", "HMAC hash: sha1 (default), sha256 or sha512"),
                ParamSpec::optional("timeStep", "Seconds per code: 30 (default) or 60"),
            ],
            challenge_response: false,
        }
    }

    fn enroll(req: EnrollRequest) -> Result<Enrollment, PluginError> {
        let params = Params::new(&req.params);
        let otplen = params.u32_one_of("otplen", &[6, 8], 6)?;
        let hashlib = Hashlib::from_name(params.one_of("hashlib", &Hashlib::NAMES, "sha1")?)
            .unwrap_or(Hashlib::Sha1);
        let time_step = params.u32_one_of("timeStep", &[30, 60], 30)?;
        let key = key_or_generate(req.otpkey, hashlib.key_len())?;
        let detail = Provisioning {
            kind: OathKind::Totp { period: time_step },
            label: &req.serial,
            issuer: &req.issuer,
            digits: otplen,
            hashlib,
        }
        .detail();
        Ok(Enrollment {
            state: initial_state(otplen, hashlib, time_step),
            key: Some(key),
            detail,
        })
    }

    fn check(req: CheckRequest<'_>) -> Result<CheckOutcome, PluginError> {
        check_otp(req.key, &req.state, &req.otp, req.now)
    }

    fn resync(req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        resync(
            req.key, &req.state, &req.otp1, &req.otp2, req.now, req.window,
        )
    }
}

tessera_sdk::export_token!(Totp);

/// The state of a new token: counter 0 and the token info privacyIDEA 3.7 shows for it.
pub fn initial_state(otplen: u32, hashlib: Hashlib, time_step: u32) -> TokenState {
    let info = [
        ("hashlib", hashlib.name().to_owned()),
        ("timeStep", time_step.to_string()),
        ("timeWindow", DEFAULT_TIME_WINDOW.to_string()),
        ("timeShift", format_shift(0)),
        ("tokenkind", "software".to_owned()),
    ];
    TokenState::new(
        0,
        otplen,
        info.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    )
}

/// A stored token's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenSettings {
    /// HMAC hash.
    pub hashlib: Hashlib,
    /// Digits per code.
    pub digits: u32,
    /// Seconds per time step.
    pub time_step: u32,
    /// Seconds either side of now that a code may come from.
    pub time_window: u32,
    /// Seconds the token's clock is ahead of the server's (negative: behind).
    pub time_shift: i64,
}

impl TokenSettings {
    /// Read the settings from a stored state (missing info gets privacyIDEA's defaults);
    /// `internal` for info that cannot be a TOTP token's.
    pub fn of(state: &TokenState) -> Result<Self, PluginError> {
        let info = state.info();
        let unusable =
            |what: &str| PluginError::internal(format!("token info {what} is not usable"));
        let hashlib = match info.get("hashlib") {
            None => Hashlib::Sha1,
            Some(name) => Hashlib::from_name(name).ok_or_else(|| unusable("hashlib"))?,
        };
        let time_step = info
            .u32_or("timeStep", 30)
            .map_err(|_| unusable("timeStep"))?;
        let time_window = info
            .u32_or("timeWindow", DEFAULT_TIME_WINDOW)
            .map_err(|_| unusable("timeWindow"))?;
        let shift: f64 = info
            .parse_or("timeShift", 0.0, "seconds")
            .map_err(|_| unusable("timeShift"))?;
        if time_step == 0 || !shift.is_finite() {
            return Err(unusable(if time_step == 0 {
                "timeStep"
            } else {
                "timeShift"
            }));
        }
        if !(4..=10).contains(&state.otplen) {
            return Err(PluginError::internal(format!(
                "token otplen {} is not supported",
                state.otplen
            )));
        }
        // `as` saturates for out-of-range floats, which is what a clock shift should do.
        let time_shift = shift.round() as i64;
        Ok(TokenSettings {
            hashlib,
            digits: state.otplen,
            time_step,
            time_window,
            time_shift,
        })
    }

    /// The time step the server is at, corrected by the token's drift.
    pub fn current_step(&self, now: u64) -> u64 {
        oath::time_step(now, self.time_shift, self.time_step)
    }

    /// The drift of a token that showed `step` at `now`: start of that step minus now, as
    /// privacyIDEA computes it after a successful check.
    pub fn shift_for(&self, step: u64, now: u64) -> i64 {
        let start = i128::from(step) * i128::from(self.time_step);
        i64::try_from(start - i128::from(now)).unwrap_or(0)
    }
}

/// `timeShift` as privacyIDEA writes it (Python `str(float)`): `0.0`, `-29.0`.
pub fn format_shift(seconds: i64) -> String {
    format!("{seconds}.0")
}

/// The first time step a new OTP may come from: after the last used one.
fn first_unused(state: &TokenState) -> u64 {
    if state.counter == 0 {
        0
    } else {
        state.counter + 1
    }
}

/// Check `otp` against the steps within `timeWindow` seconds either side of now + `timeShift`.
/// A match at a step `s` after the last used one (`state.counter`) sets the counter to `s` and stores
/// the observed drift in `timeShift`; the OTP of the last used step is `replayed` (privacyIDEA's
/// "previous otp used again"); anything else, including older steps, a wrong length or non-digits,
/// is `no-match`.
pub fn check_otp<K: HmacKey + ?Sized>(
    key: &K,
    state: &TokenState,
    otp: &str,
    now: u64,
) -> Result<CheckOutcome, PluginError> {
    let t = TokenSettings::of(state)?;
    let Some(value) = oath::parse_otp(otp, t.digits) else {
        return Ok(CheckOutcome::NoMatch);
    };
    let current = t.current_step(now);
    let steps = u64::from(t.time_window / t.time_step);
    let (low, high) = (current.saturating_sub(steps), current.saturating_add(steps));
    let fresh = low.max(first_unused(state))..=high;
    if let Some(step) = oath::find_counter(key, t.hashlib, t.digits, value, fresh) {
        let mut next = state.clone();
        next.counter = step;
        next.set_info("timeShift", format_shift(t.shift_for(step, now)));
        return Ok(CheckOutcome::Matched(next));
    }
    let last = state.counter;
    let was_last = last > 0
        && (low..=high).contains(&last)
        && oath::find_counter(key, t.hashlib, t.digits, value, last..=last).is_some();
    Ok(if was_last {
        CheckOutcome::Replayed
    } else {
        CheckOutcome::NoMatch
    })
}

/// Find two consecutive steps `s`, `s + 1` within `window` steps either side of now +
/// `timeShift` showing `otp1` and `otp2`, with `s` not yet used. The new state has counter
/// `s + 1` (the last step used) and `timeShift` set as privacyIDEA's resync sets it (middle of step `s + 1` minus now).
pub fn resync<K: HmacKey + ?Sized>(
    key: &K,
    state: &TokenState,
    otp1: &str,
    otp2: &str,
    now: u64,
    window: u32,
) -> Result<Option<TokenState>, PluginError> {
    let t = TokenSettings::of(state)?;
    let (Some(v1), Some(v2)) = (
        oath::parse_otp(otp1, t.digits),
        oath::parse_otp(otp2, t.digits),
    ) else {
        return Ok(None);
    };
    let current = t.current_step(now);
    let window = u64::from(window.max(1));
    let low = current.saturating_sub(window).max(first_unused(state));
    let high = current.saturating_add(window);
    let mut previous = None;
    for step in low..=high.saturating_add(1) {
        let value = oath::hotp(key, t.hashlib, step, t.digits);
        if previous == Some(v1) && value == Some(v2) {
            let mut next = state.clone();
            next.counter = step;
            let half = i64::from(t.time_step / 2);
            next.set_info(
                "timeShift",
                format_shift(t.shift_for(step, now).saturating_add(half)),
            );
            return Ok(Some(next));
        }
        previous = value;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_sdk::ErrorCode;
    use tessera_sdk::oath::SoftKey;

    const SHA1_KEY: SoftKey<'static> = SoftKey(b"12345678901234567890");

    fn state(counter: u64, otplen: u32, shift: &str) -> TokenState {
        let mut s = initial_state(otplen, Hashlib::Sha1, 30);
        s.counter = counter;
        s.set_info("timeShift", shift);
        s
    }

    fn matched(outcome: CheckOutcome) -> TokenState {
        match outcome {
            CheckOutcome::Matched(s) => s,
            other => panic!("expected a match, got {other:?}"),
        }
    }

    #[test]
    fn initial_info_is_privacyidea_s() {
        // 26-token-list.json: TOTPBOB0001
        let s = initial_state(6, Hashlib::Sha1, 30);
        let info: Vec<(&str, &str)> = s
            .info
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            info,
            [
                ("hashlib", "sha1"),
                ("timeStep", "30"),
                ("timeWindow", "180"),
                ("timeShift", "0.0"),
                ("tokenkind", "software")
            ]
        );
    }

    #[test]
    fn rfc6238_values_match_and_record_the_drift() {
        for (now, otp) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            let next = matched(check_otp(&SHA1_KEY, &state(0, 8, "0.0"), otp, now).unwrap());
            let step = now / 30;
            assert_eq!(next.counter, step, "at {now}");
            let shift = (step * 30) as i64 - now as i64;
            assert_eq!(
                next.info().get("timeShift"),
                Some(format_shift(shift).as_str()),
                "at {now}"
            );
        }
    }

    #[test]
    fn captured_privacyidea_validation() {
        // 36-validate-check-totp-ok.json: bob's TOTPBOB0001 (RFC key, 6 digits) accepted 457302 at
        // 1796315916; 42-validate-check-bob-wrong-totp.json rejected 000000.
        let next =
            matched(check_otp(&SHA1_KEY, &state(0, 6, "0.0"), "457302", 1796315916).unwrap());
        assert_eq!(next.counter, 59877197);
        assert_eq!(next.info().get("timeShift"), Some("-6.0"));
        let wrong = check_otp(&SHA1_KEY, &next, "000000", 1796315919).unwrap();
        assert!(matches!(wrong, CheckOutcome::NoMatch), "{wrong:?}");
    }

    #[test]
    fn codes_from_the_window_either_side_match() {
        // The code of T=59 (step 1) checked 6 steps later and 1 step earlier.
        assert_eq!(
            matched(check_otp(&SHA1_KEY, &state(0, 8, "0.0"), "94287082", 59 + 180).unwrap())
                .counter,
            1
        );
        assert_eq!(
            matched(check_otp(&SHA1_KEY, &state(0, 8, "0.0"), "94287082", 59 + 180).unwrap())
                .info()
                .get("timeShift"),
            Some("-209.0")
        );
        assert_eq!(
            matched(check_otp(&SHA1_KEY, &state(0, 8, "0.0"), "94287082", 1).unwrap()).counter,
            1
        );
        let late = check_otp(&SHA1_KEY, &state(0, 8, "0.0"), "94287082", 59 + 210).unwrap();
        assert!(matches!(late, CheckOutcome::NoMatch), "{late:?}");
    }

    #[test]
    fn the_time_shift_moves_the_window() {
        // 10 minutes after T=1111111109 the code is outside the 3-minute window ...
        let now = 1111111109 + 600;
        assert!(matches!(
            check_otp(&SHA1_KEY, &state(0, 8, "0.0"), "07081804", now).unwrap(),
            CheckOutcome::NoMatch
        ));
        // ... unless the token is known to run 10 minutes behind.
        let next = matched(check_otp(&SHA1_KEY, &state(0, 8, "-600.0"), "07081804", now).unwrap());
        assert_eq!(next.counter, 1111111109 / 30);
        assert_eq!(next.info().get("timeShift"), Some("-629.0"));
        // An integer shift is read too.
        assert!(matches!(
            check_otp(&SHA1_KEY, &state(0, 8, "-600"), "07081804", now).unwrap(),
            CheckOutcome::Matched(_)
        ));
    }

    #[test]
    fn used_steps_are_replayed() {
        let next = matched(check_otp(&SHA1_KEY, &state(0, 8, "0.0"), "94287082", 59).unwrap());
        let again = check_otp(&SHA1_KEY, &next, "94287082", 59).unwrap();
        assert!(matches!(again, CheckOutcome::Replayed), "{again:?}");
        // Only the last used step is "previous otp used again" (privacyIDEA 3.7.1); after step 2
        // was used, step 1 is a plain no-match.
        let later = state(2, 8, "0.0");
        assert!(matches!(
            check_otp(&SHA1_KEY, &later, "94287082", 75).unwrap(),
            CheckOutcome::NoMatch
        ));
    }

    #[test]
    fn malformed_otps_do_not_match() {
        for otp in ["", "9428708", "942870822", "9428708x", "94287O82"] {
            assert!(matches!(
                check_otp(&SHA1_KEY, &state(0, 8, "0.0"), otp, 59).unwrap(),
                CheckOutcome::NoMatch
            ));
        }
    }

    #[test]
    fn six_digits_sha256_and_sixty_second_steps() {
        let key = SoftKey(b"12345678901234567890123456789012");
        let mut s = initial_state(6, Hashlib::Sha256, 60);
        // HOTP-SHA256 of the RFC 6238 key at counter 1 is 46119246 (8 digits), so 119246 (6 digits);
        // with 60 s steps, counter 1 is T = 60..119.
        s.counter = 0;
        let next = matched(check_otp(&key, &s, "119246", 90).unwrap());
        assert_eq!(next.counter, 1);
        assert_eq!(next.info().get("timeShift"), Some("-30.0"));
    }

    #[test]
    fn unusable_state_is_an_internal_error() {
        for (key, value) in [
            ("hashlib", "md5"),
            ("timeStep", "0"),
            ("timeStep", "x"),
            ("timeShift", "nan"),
        ] {
            let mut s = state(0, 6, "0.0");
            s.set_info(key, value);
            assert_eq!(
                check_otp(&SHA1_KEY, &s, "123456", 59).unwrap_err().code,
                ErrorCode::Internal,
                "{key}={value}"
            );
        }
    }

    #[test]
    fn resync_finds_consecutive_steps_and_sets_counter_and_shift() {
        // Codes of steps 37037036 and 37037037 (T=1111111109 is in step 37037036), shown when the
        // server is one hour ahead of the token.
        let t = 1111111109u64;
        let code =
            |step: u64| oath::format_otp(oath::hotp(&SHA1_KEY, Hashlib::Sha1, step, 8).unwrap(), 8);
        let (otp1, otp2) = (code(t / 30), code(t / 30 + 1));
        let now = t + 3600;
        let next = resync(&SHA1_KEY, &state(0, 8, "0.0"), &otp1, &otp2, now, 1000)
            .unwrap()
            .unwrap();
        assert_eq!(next.counter, t / 30 + 1);
        let shift = ((t / 30 + 1) * 30 + 15) as i64 - now as i64;
        assert_eq!(
            next.info().get("timeShift"),
            Some(format_shift(shift).as_str())
        );
        // The next code now matches despite the drift.
        let after = check_otp(&SHA1_KEY, &next, &code(t / 30 + 2), now + 30).unwrap();
        assert_eq!(matched(after).counter, t / 30 + 2);
        // Out of order, too far, or already used: no resync.
        assert!(
            resync(&SHA1_KEY, &state(0, 8, "0.0"), &otp2, &otp1, now, 1000)
                .unwrap()
                .is_none()
        );
        assert!(
            resync(&SHA1_KEY, &state(0, 8, "0.0"), &otp1, &otp2, now, 100)
                .unwrap()
                .is_none()
        );
        assert!(
            resync(
                &SHA1_KEY,
                &state(t / 30 + 1, 8, "0.0"),
                &otp1,
                &otp2,
                now,
                1000
            )
            .unwrap()
            .is_none()
        );
    }
}
