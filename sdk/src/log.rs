//! Logging to the host (`host.log`) and the panic hook that reports a panic there before the trap.
//!
//! Never log secrets, PINs or OTP values. Compiled natively (unit tests), the lines go to stderr.

use crate::LogLevel;

/// Send `message` to the server log at `level`, tagged by the host with the plugin's name.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Log at `trace` level.
pub fn trace(message: &str) {
    log(LogLevel::Trace, message);
}

/// Log at `debug` level.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Log at `info` level.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Log at `warn` level.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Log at `error` level.
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}

/// The log line for a panic: the message, then where it happened,
/// for example `boom (at src/lib.rs:12:5)`.
pub fn panic_line(info: &std::panic::PanicHookInfo<'_>) -> String {
    let message = info
        .payload_as_str()
        .unwrap_or("panic with a non-string payload");
    match info.location() {
        Some(at) => format!("{message} (at {}:{}:{})", at.file(), at.line(), at.column()),
        None => message.to_owned(),
    }
}

/// Install, once per instance, a panic hook that logs [`panic_line`] at `error` level through
/// `host.log`. The instance then traps (wasm has no unwinding) and the host reports the plugin
/// as panicked with that line. The export macros call this at the start of every exported call.
/// Natively this does nothing, so unit tests keep Rust's own panic output.
pub fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| std::panic::set_hook(Box::new(|info| error(&panic_line(info)))));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[test]
    fn panic_line_has_the_message_and_the_location() {
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&seen);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            *sink.lock().unwrap() = super::panic_line(info)
        }));
        let result = std::panic::catch_unwind(|| panic!("boom {}", 42));
        std::panic::set_hook(previous);
        assert!(result.is_err());
        let line = seen.lock().unwrap().clone();
        assert!(line.starts_with("boom 42 (at "), "{line}");
        assert!(line.contains("log.rs:"), "{line}");
    }
}
