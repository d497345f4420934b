//! privacyIDEA error numbers and the HTTP status each error answers with (one table, tested).

/// privacyIDEA's error classes (`privacyidea.lib.error.ERROR`) that Tessera uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 905 ParameterError: missing or invalid request parameter.
    Parameter,
    /// 904 UserError: unknown user.
    User,
    /// 601 ResourceNotFoundError: unknown token (and other unknown resources).
    ResourceNotFound,
    /// 301 TokenAdminError: a token operation is not possible (for example the serial exists).
    TokenAdmin,
    /// 302 ConfigAdminError: a configuration operation is not possible.
    ConfigAdmin,
    /// 907 ResolverError: a resolver backend failed.
    Resolver,
    /// 303 PolicyError: a policy forbids the action (HTTP 403).
    Policy,
    /// 4031 wrong credentials.
    AuthWrongCredentials,
    /// 4033 missing Authorization header.
    AuthHeader,
    /// 4304 JWT could not be decoded or verified.
    AuthDecoding,
    /// 4305 JWT expired.
    AuthExpired,
    /// 4306 the caller lacks the right.
    AuthMissingRight,
    /// 404 for an unknown path (not a privacyIDEA number; privacyIDEA answers HTML there).
    NotFound,
    /// 405 for a method the path does not support.
    MethodNotAllowed,
    /// 503: a backend (resolver server, plugin) is unavailable.
    Unavailable,
    /// 500/903: a plugin trapped, timed out or ran out of memory. The message says which plugin and
    /// why (it contains no request data), so it is passed to the client unchanged.
    PluginFailed,
    /// -500: server fault. The message to the client is generic; the detail is logged.
    Internal,
}

impl ErrorKind {
    /// (HTTP status, privacyIDEA error code).
    pub fn status_and_code(self) -> (u16, i64) {
        match self {
            ErrorKind::Parameter => (400, 905),
            ErrorKind::User => (400, 904),
            ErrorKind::ResourceNotFound => (404, 601),
            ErrorKind::TokenAdmin => (400, 301),
            ErrorKind::ConfigAdmin => (400, 302),
            ErrorKind::Resolver => (400, 907),
            ErrorKind::Policy => (403, 303),
            ErrorKind::AuthWrongCredentials => (401, 4031),
            ErrorKind::AuthHeader => (401, 4033),
            ErrorKind::AuthDecoding => (401, 4304),
            ErrorKind::AuthExpired => (401, 4305),
            ErrorKind::AuthMissingRight => (403, 4306),
            ErrorKind::NotFound => (404, 404),
            ErrorKind::MethodNotAllowed => (405, 405),
            ErrorKind::Unavailable => (503, 903),
            ErrorKind::PluginFailed => (500, 903),
            ErrorKind::Internal => (500, -500),
        }
    }
}

/// An error as the client sees it: a kind and the message of `result.error.message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl PiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PiError {
            kind,
            message: message.into(),
        }
    }
    /// `ERR905: Missing parameter: 'pass'` exactly as privacyIDEA words it.
    pub fn missing(name: &str) -> Self {
        Self::new(
            ErrorKind::Parameter,
            format!("ERR905: Missing parameter: '{name}'"),
        )
    }
    /// A parameter with a value that cannot be used.
    pub fn parameter(message: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::Parameter, format!("ERR905: {message}"))
    }
    /// `ERR904: The user can not be found in any resolver in this realm!`
    pub fn user_not_found() -> Self {
        Self::new(
            ErrorKind::User,
            "ERR904: The user can not be found in any resolver in this realm!",
        )
    }
    /// `The requested token could not be found.` (601)
    pub fn token_not_found() -> Self {
        Self::new(
            ErrorKind::ResourceNotFound,
            "The requested token could not be found.",
        )
    }
    pub fn internal() -> Self {
        Self::new(
            ErrorKind::Internal,
            "500 Internal Server Error: The server encountered an internal error. The details are in the server log.",
        )
    }
}

impl std::fmt::Display for PiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_captured_privacyidea_answers() {
        // (kind, HTTP status, code) as in shared/research/privacyidea-responses/
        let table = [
            (ErrorKind::AuthWrongCredentials, 401, 4031), // 02-auth-admin-wrong-password
            (ErrorKind::AuthHeader, 401, 4033),           // 03-missing-auth-header
            (ErrorKind::AuthDecoding, 401, 4304),         // 04b-jwt-wrong-signature
            (ErrorKind::AuthExpired, 401, 4305),          // 04c-jwt-expired
            (ErrorKind::User, 400, 904),                  // 25-token-init-unknown-user
            (ErrorKind::Parameter, 400, 905),             // 35-validate-check-missing-pass
            (ErrorKind::ResourceNotFound, 404, 601),      // 60-token-disable-unknown
        ];
        for (kind, status, code) in table {
            assert_eq!(kind.status_and_code(), (status, code), "{kind:?}");
        }
        assert_eq!(
            PiError::missing("pass").message,
            "ERR905: Missing parameter: 'pass'"
        );
    }
}
