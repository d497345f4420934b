//! Example token type `daypin`: a 6-digit code that changes once a day (UTC) and can be used once.
//! It is TOTP with a one-day step, so any authenticator app that accepts `period=86400` shows it.

use tessera_sdk::PluginError;
use tessera_sdk::oath::{self, Hashlib, OathKind, Provisioning};
use tessera_sdk::token::{
    CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest, ResyncRequest, TokenState, TypeInfo, key_or_generate,
};

const DAY: u32 = 86_400;

/// The `daypin` token type.
pub struct DayPin;

impl Guest for DayPin {
    fn describe() -> TypeInfo {
        let description = "Example: a 6-digit code per day, usable once".into();
        TypeInfo { type_name: "daypin".into(), serial_prefix: "DAYP".into(), description, enroll_params: vec![], challenge_response: false }
    }

    fn enroll(req: EnrollRequest) -> Result<Enrollment, PluginError> {
        let key = key_or_generate(req.otpkey, 20)?;
        let uri = Provisioning { kind: OathKind::Totp { period: DAY }, label: &req.serial, issuer: &req.issuer, digits: 6, hashlib: Hashlib::Sha1 };
        Ok(Enrollment { state: TokenState::new(0, 6, vec![]), key: Some(key), detail: uri.detail() })
    }

    fn check(req: CheckRequest<'_>) -> Result<CheckOutcome, PluginError> {
        let today = oath::time_step(req.now, 0, DAY);
        let Some(otp) = oath::parse_otp(&req.otp, 6) else { return Ok(CheckOutcome::NoMatch) };
        if oath::hotp(req.key, Hashlib::Sha1, today, 6) != Some(otp) {
            return Ok(CheckOutcome::NoMatch);
        }
        if today < req.state.counter {
            return Ok(CheckOutcome::Replayed); // already used today
        }
        Ok(CheckOutcome::Matched(TokenState { counter: today + 1, ..req.state }))
    }

    fn resync(_req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        Err(PluginError::not_supported("daypin tokens follow the clock and need no resync"))
    }
}

tessera_sdk::export_token!(DayPin);
