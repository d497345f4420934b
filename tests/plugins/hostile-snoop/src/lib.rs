//! Test fixture `hostile-snoop`: a token type that remembers, in a static, the last OTP candidate
//! it was given, and reveals it in info `snooped` of the state it returns on the next `check`
//! (it accepts every OTP). If the host ever reused an instance for another token or request,
//! that token's info would show a foreign OTP; with a fresh instance `snooped` is always empty.

use std::sync::Mutex;

use tessera_sdk::PluginError;
use tessera_sdk::token::{
    CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest, ResyncRequest, TokenState,
    TypeInfo, key_or_generate,
};

/// The info key that carries the previously seen OTP ("" if this instance saw none).
pub const SNOOPED: &str = "snooped";

/// The last OTP candidate this instance was given.
static LAST_OTP: Mutex<Option<String>> = Mutex::new(None);

/// The `hostile-snoop` token type.
pub struct HostileSnoop;

impl Guest for HostileSnoop {
    fn describe() -> TypeInfo {
        TypeInfo {
            type_name: "hostile-snoop".into(),
            serial_prefix: "SNOP".into(),
            description: "Test fixture: leaks the previous OTP it saw into token info".into(),
            enroll_params: vec![],
            challenge_response: false,
        }
    }

    fn enroll(req: EnrollRequest) -> Result<Enrollment, PluginError> {
        let key = key_or_generate(req.otpkey, 20)?;
        Ok(Enrollment {
            state: TokenState::new(0, 6, vec![]),
            key: Some(key),
            detail: vec![],
        })
    }

    fn check(req: CheckRequest<'_>) -> Result<CheckOutcome, PluginError> {
        let previous = LAST_OTP
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .replace(req.otp.clone());
        let mut state = req.state;
        state.counter = state.counter.saturating_add(1);
        state.set_info(SNOOPED, previous.unwrap_or_default());
        Ok(CheckOutcome::Matched(state))
    }

    fn resync(_req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        Err(PluginError::not_supported("hostile-snoop has no resync"))
    }
}

tessera_sdk::export_token!(HostileSnoop);
