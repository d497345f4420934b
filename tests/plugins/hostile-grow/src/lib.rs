//! Test fixture `hostile-grow`: a token type whose `check` allocates memory until none is left (the
//! host must stop it with its memory limit). `enroll` works normally.

use tessera_sdk::PluginError;
use tessera_sdk::token::{
    CheckOutcome, CheckRequest, EnrollRequest, Enrollment, Guest, ResyncRequest, TokenState,
    TypeInfo, key_or_generate,
};

/// The `hostile-grow` token type.
pub struct HostileGrow;

impl Guest for HostileGrow {
    fn describe() -> TypeInfo {
        TypeInfo {
            type_name: "hostile-grow".into(),
            serial_prefix: "GROW".into(),
            description: "Test fixture: check allocates until memory runs out".into(),
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
        // 1 MiB blocks, written so the pages are really used; kept alive until the host stops us.
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![0xa5; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }

    fn resync(_req: ResyncRequest<'_>) -> Result<Option<TokenState>, PluginError> {
        Err(PluginError::not_supported("hostile-grow has no resync"))
    }
}

tessera_sdk::export_token!(HostileGrow);
