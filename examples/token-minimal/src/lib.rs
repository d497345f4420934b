//! Example token type `daypin`: a 6-digit code that changes once a day (UTC) and can be used once.
//! It is TOTP with a one-day step, so any authenticator app that accepts `period=86400` shows it.

use tessera_sdk::PluginError;
use tessera_sdk::oath::{self, Hashlib, OathKind, Provisioning};
use tessera_sdk::token::{CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest};
use tessera_sdk::token::{ResyncRequest, TokenState, TypeInfo, key_or_generate};

const DAY: u32 = 86_400;

/// The `daypin` token type.
pub struct DayPin;

impl Guest for DayPin {
    fn describe() -> TypeInfo {
        TypeInfo::new(
            "daypin",
            "DAYP",
            "Example: a 6-digit code per day, usable once",
        )
    }

    fn enroll(req: EnrollRequest) -> Result<Enrollment, PluginError> {
        let key = key_or_generate(req.otpkey, 20)?;
        let (label, issuer) = (&req.serial, &req.issuer);
        let kind = OathKind::Totp { period: DAY };
        let uris = Provisioning {
            kind,
            label,
            issuer,
            digits: 6,
            hashlib: Hashlib::Sha1,
        };
        Ok(Enrollment::new(
            TokenState::new(0, 6, vec![]),
            key,
            uris.detail(),
        ))
    }

    fn check(req: CheckRequest<'_>) -> Result<CheckOutcome, PluginError> {
        let today = oath::time_step(req.now, 0, DAY);
        let code = oath::hotp(req.key, Hashlib::Sha1, today, 6);
        if code.is_none() || oath::parse_otp(&req.otp, 6) != code {
            return Ok(CheckOutcome::NoMatch);
        }
        if today < req.state.counter {
            return Ok(CheckOutcome::Replayed); // already used today
        }
        Ok(CheckOutcome::Matched(TokenState {
            counter: today + 1,
            ..req.state
        }))
    }

    fn resync(_req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        Err(PluginError::not_supported(
            "daypin tokens follow the clock: no resync",
        ))
    }
}

tessera_sdk::export_token!(DayPin);
