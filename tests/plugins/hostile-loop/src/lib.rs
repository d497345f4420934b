//! Test fixture `hostile-loop`: a token type whose `check` never returns (the host must stop it
//! with its time limit). `enroll` works normally so a token of this type can be created.

use tessera_sdk::PluginError;
use tessera_sdk::token::{
    CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest, ResyncRequest, TokenState,
    TypeInfo, key_or_generate,
};

/// The `hostile-loop` token type.
pub struct HostileLoop;

impl Guest for HostileLoop {
    fn describe() -> TypeInfo {
        TypeInfo {
            type_name: "hostile-loop".into(),
            serial_prefix: "LOOP".into(),
            description: "Test fixture: check loops forever".into(),
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

    fn check(_req: CheckRequest<'_>) -> Result<CheckOutcome, PluginError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn resync(_req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        Err(PluginError::not_supported("hostile-loop has no resync"))
    }
}

tessera_sdk::export_token!(HostileLoop);
