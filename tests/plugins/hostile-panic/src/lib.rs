//! Test fixture `hostile-panic`: a token type whose `check` panics with [`PANIC_MESSAGE`]; the
//! SDK's panic hook sends it to the host log, so the host can report it. `enroll` works normally.

use tessera_sdk::PluginError;
use tessera_sdk::token::{
    CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest, ResyncRequest, TokenState,
    TypeInfo, key_or_generate,
};

/// What `check` panics with.
pub const PANIC_MESSAGE: &str = "hostile-panic: check panicked on purpose";

/// The `hostile-panic` token type.
pub struct HostilePanic;

impl Guest for HostilePanic {
    fn describe() -> TypeInfo {
        TypeInfo {
            type_name: "hostile-panic".into(),
            serial_prefix: "PANC".into(),
            description: "Test fixture: check panics".into(),
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

    #[allow(clippy::panic)] // the point of this fixture
    fn check(_req: CheckRequest<'_>) -> Result<CheckOutcome, PluginError> {
        panic!("{PANIC_MESSAGE}");
    }

    fn resync(_req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        Err(PluginError::not_supported("hostile-panic has no resync"))
    }
}

tessera_sdk::export_token!(HostilePanic);
