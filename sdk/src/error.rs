//! Constructors for [`PluginError`], one per WIT `error-code`.

use crate::{ErrorCode, PluginError};

impl PluginError {
    /// An error with `code` and `message`. The message is shown to the API caller: make it
    /// clear, and never put secret material in it.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        PluginError {
            code,
            message: message.into(),
        }
    }

    /// A parameter has a value the plugin cannot accept.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadParameter, message)
    }

    /// A required parameter is missing; the message reads like privacyIDEA's
    /// (`Missing parameter: 'otplen'`).
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("Missing parameter: '{name}'"),
        )
    }

    /// The operation is not supported by this plugin.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotSupported, message)
    }

    /// The resolver configuration is invalid.
    pub fn bad_config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadConfig, message)
    }

    /// A backend the plugin depends on failed or could not be reached.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// The plugin's own fault (the host logs it and answers with a server error).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl PartialEq for PluginError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.message == other.message
    }
}

impl Eq for PluginError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_parameter_names_the_parameter_like_privacyidea() {
        let e = PluginError::missing_parameter("fileName");
        assert_eq!(e.code, ErrorCode::MissingParameter);
        assert_eq!(e.message, "Missing parameter: 'fileName'");
    }

    #[test]
    fn each_constructor_sets_its_code() {
        let cases = [
            (PluginError::bad_parameter("m"), ErrorCode::BadParameter),
            (PluginError::not_supported("m"), ErrorCode::NotSupported),
            (PluginError::bad_config("m"), ErrorCode::BadConfig),
            (PluginError::unavailable("m"), ErrorCode::Unavailable),
            (PluginError::internal("m"), ErrorCode::Internal),
        ];
        for (e, code) in cases {
            assert_eq!(e.code, code);
            assert_eq!(e.message, "m");
        }
    }
}
