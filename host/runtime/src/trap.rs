//! Turning a failed wasm call into a [`TrapReason`], and the conversion of a plugin's own
//! returned error into [`CallError::Plugin`].

use wasmtime::Trap;

use crate::bindings::token::tessera::plugin::types::{ErrorCode, PluginError};
use crate::state::HostState;
use crate::{CallError, PluginErrorCode, TrapReason};

/// Why the call that failed with `err` failed, given what the store saw during the call.
pub(crate) fn classify(err: &wasmtime::Error, state: &HostState) -> TrapReason {
    let trap = err.downcast_ref::<Trap>();
    if state.limiter.memory_exceeded {
        return TrapReason::OutOfMemory;
    }
    if trap == Some(&Trap::Interrupt) {
        return TrapReason::Timeout;
    }
    // The SDK's panic hook logs the message at error level, then aborts: a wasm trap
    // (`unreachable`) or, if something calls into WASI after the hook, an unknown-import trap.
    if let Some(message) = &state.last_error
        && (trap.is_some() || is_unknown_import(err))
    {
        return TrapReason::Panic(message.clone());
    }
    TrapReason::Other(err.root_cause().to_string())
}

fn is_unknown_import(err: &wasmtime::Error) -> bool {
    err.chain()
        .any(|e| e.to_string().starts_with("unknown import:"))
}

/// The error for a trapped call; logs it once.
pub(crate) fn trapped(err: &wasmtime::Error, state: &HostState) -> CallError {
    let reason = classify(err, state);
    tracing::error!(plugin = %state.plugin, %reason, "plugin call failed; instance discarded");
    tracing::debug!(plugin = %state.plugin, error = ?err, "plugin trap detail");
    CallError::Trap {
        plugin: state.plugin.to_string(),
        reason,
    }
}

/// A plugin's returned error: a normal outcome, passed to the caller.
pub(crate) fn plugin_error(e: PluginError) -> CallError {
    let code = match e.code {
        ErrorCode::BadParameter => PluginErrorCode::BadParameter,
        ErrorCode::MissingParameter => PluginErrorCode::MissingParameter,
        ErrorCode::NotSupported => PluginErrorCode::NotSupported,
        ErrorCode::BadConfig => PluginErrorCode::BadConfig,
        ErrorCode::Unavailable => PluginErrorCode::Unavailable,
        ErrorCode::Internal => PluginErrorCode::Internal,
    };
    CallError::Plugin {
        code,
        message: e.message,
    }
}
