//! `ApiError`: every failed request becomes privacyIDEA's error envelope, with the status from the one table
//! in `tessera_proto::ErrorKind::status_and_code`. 5xx answers carry a generic message; the detail is logged here.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::PathRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tessera_proto::{Envelope, ErrorKind, PiError};

/// An error answer. Handlers return `Result<_, ApiError>`; `?` converts any `PiError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub error: PiError,
    /// A status the table has no row for (413 for an oversized body); `None` uses the table.
    status: Option<StatusCode>,
    /// `detail` of the answer (a login that needs a challenge answer carries it here).
    detail: Option<Value>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PiError::new(kind, message).into()
    }

    /// A server fault. `detail` is logged (once, when the answer is built) and never sent to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::new(ErrorKind::Internal, detail.to_string())
    }

    /// 413 for a body over `limit` bytes, still as a privacyIDEA error (code 905).
    pub fn payload_too_large(limit: usize) -> Self {
        ApiError {
            error: PiError::parameter(format!(
                "The request body is larger than the limit of {limit} bytes."
            )),
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            detail: None,
        }
    }

    /// An error whose answer carries `detail` (privacyIDEA's challenge during `/auth`).
    pub fn with_detail(error: PiError, detail: Value) -> Self {
        ApiError {
            error,
            status: None,
            detail: Some(detail),
        }
    }

    /// 5xx answers replace the message with a generic one, except `PluginFailed`, whose message names the
    /// plugin and the failure and carries no request data.
    fn hides_message(&self) -> bool {
        self.status().is_server_error() && self.error.kind != ErrorKind::PluginFailed
    }

    /// The HTTP status of this answer.
    pub fn status(&self) -> StatusCode {
        if let Some(s) = self.status {
            return s;
        }
        let (status, _) = self.error.kind.status_and_code();
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The envelope the client receives (5xx messages already replaced by the generic one).
    pub fn envelope(&self, time: f64) -> Envelope {
        let mut envelope = if self.hides_message() {
            Envelope::error(
                &PiError::new(self.error.kind, generic_message(self.status())),
                time,
            )
        } else {
            Envelope::error(&self.error, time)
        };
        // privacyIDEA sends `"detail": {}` for wrong credentials (02-auth-admin-wrong-password) and null elsewhere.
        if self.error.kind == ErrorKind::AuthWrongCredentials {
            envelope.detail = Some(Value::Object(serde_json::Map::new()));
        }
        if let Some(detail) = &self.detail {
            envelope.detail = Some(detail.clone());
        }
        envelope
    }
}

/// What a client sees for a 5xx: nothing about the cause.
fn generic_message(status: StatusCode) -> String {
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        PiError::internal().message
    } else {
        format!(
            "{} {}: The server can not answer this request right now. The details are in the server log.",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Server Error")
        )
    }
}

impl From<PiError> for ApiError {
    fn from(error: PiError) -> Self {
        ApiError {
            error,
            status: None,
            detail: None,
        }
    }
}

/// A malformed path segment (for example invalid percent-encoding) is the caller's fault: 400/905.
impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        PiError::parameter(format!("Invalid path parameter: {}", rejection.body_text())).into()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Log the detail once: a message that is already the generic one (or a plugin failure) was logged
        // where it arose.
        if self.hides_message() && self.error.message != PiError::internal().message {
            tracing::error!(status = status.as_u16(), kind = ?self.error.kind, detail = %self.error.message, "request failed");
        }
        json_response(status, &self.envelope(unix_now()))
    }
}

/// A successful answer: the envelope as `200 application/json`.
#[derive(Clone, Debug)]
pub struct Reply(pub Envelope);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, &self.0)
    }
}

/// Serializes an envelope as an `application/json` answer with `status`.
pub fn json_response(status: StatusCode, envelope: &Envelope) -> Response {
    match serde_json::to_vec(envelope) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => {
            // Serializing an Envelope of plain JSON values does not fail; if it ever does, say so plainly.
            tracing::error!(error = %e, "could not serialize a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Wall-clock unix time with fractions, for the `time` field of error answers.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Status and body of `err` as a client receives them.
    async fn answer(err: ApiError) -> (u16, String, Value) {
        let response = err.into_response();
        let status = response.status().as_u16();
        let ctype = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, ctype, serde_json::from_slice(&body).unwrap())
    }

    /// The captured privacyIDEA answer (copied from shared/research/privacyidea-responses/ into tests/e2e/captured/).
    fn captured(file: &str) -> (u16, Value) {
        let path = format!(
            "{}/../../tests/e2e/captured/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let v: Value = serde_json::from_str(&text).unwrap();
        (v["status"].as_u64().unwrap() as u16, v["response"].clone())
    }

    /// Our answer for `err` has the captured status, error code, message and envelope keys.
    async fn check(file: &str, err: PiError) {
        let (want_status, want) = captured(file);
        let (status, ctype, got) = answer(err.into()).await;
        assert_eq!(status, want_status, "{file}");
        assert_eq!(ctype, "application/json");
        assert_eq!(got["result"], want["result"], "{file}");
        assert_eq!(got["detail"], want["detail"], "{file}");
        assert_eq!(got["jsonrpc"], "2.0");
        assert_eq!(got["id"], 1);
        assert_eq!(got["version"], want["version"]);
        assert!(got["time"].as_f64().unwrap() > 1.7e9);
    }

    #[tokio::test]
    async fn each_row_answers_like_privacyidea() {
        use ErrorKind::*;
        let wrong = PiError::new(
            AuthWrongCredentials,
            "Authentication failure. Wrong credentials",
        );
        check("02-auth-admin-wrong-password.json", wrong).await;
        let header = PiError::new(
            AuthHeader,
            "Authentication failure. Missing Authorization header.",
        );
        check("03-missing-auth-header.json", header).await;
        let sig = "Authentication failure. Error during decoding your token: Signature verification failed";
        check(
            "04b-jwt-wrong-signature.json",
            PiError::new(AuthDecoding, sig),
        )
        .await;
        let exp = "Authentication failure. Your token has expired: Signature has expired";
        check("04c-jwt-expired.json", PiError::new(AuthExpired, exp)).await;
        check("25-token-init-unknown-user.json", PiError::user_not_found()).await;
        check(
            "35-validate-check-missing-pass.json",
            PiError::missing("pass"),
        )
        .await;
        check("60-token-disable-unknown.json", PiError::token_not_found()).await;
    }

    #[tokio::test]
    async fn rows_without_a_capture() {
        use ErrorKind::*;
        let table = [
            (TokenAdmin, 400, 301),
            (ConfigAdmin, 400, 302),
            (Resolver, 400, 907),
            (Policy, 403, 303),
            (AuthMissingRight, 403, 4306),
            (NotFound, 404, 404),
            (MethodNotAllowed, 405, 405),
        ];
        for (kind, status, code) in table {
            let (s, _, body) = answer(ApiError::new(kind, "some reason")).await;
            assert_eq!(
                (s, body["result"]["error"]["code"].as_i64().unwrap()),
                (status, code),
                "{kind:?}"
            );
            assert_eq!(body["result"]["error"]["message"], "some reason");
            assert_eq!(body["result"]["status"], false);
            assert_eq!(body["detail"], Value::Null);
        }
    }

    #[tokio::test]
    async fn server_errors_hide_their_detail() {
        let (status, _, body) = answer(ApiError::internal(
            "sled: /var/lib/tessera/db corrupt at offset 17",
        ))
        .await;
        assert_eq!(status, 500);
        assert_eq!(body["result"]["error"]["code"], -500);
        let message = body["result"]["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("500 Internal Server Error"),
            "{message}"
        );
        assert!(!message.contains("sled"), "{message}");

        let (status, _, body) = answer(ApiError::new(
            ErrorKind::Unavailable,
            "ldap://10.0.0.1 refused",
        ))
        .await;
        assert_eq!(status, 503);
        assert_eq!(body["result"]["error"]["code"], 903);
        let message = body["result"]["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("503 Service Unavailable"), "{message}");
        assert!(!message.contains("ldap"), "{message}");
    }

    #[tokio::test]
    async fn plugin_failures_keep_their_message() {
        let message =
            "The plugin 'hotp' failed (exceeded its time limit); the request was not processed.";
        let (status, _, body) = answer(ApiError::new(ErrorKind::PluginFailed, message)).await;
        assert_eq!(
            (status, &body["result"]["error"]["code"]),
            (500, &Value::from(903))
        );
        assert_eq!(body["result"]["error"]["message"], message);
    }

    #[tokio::test]
    async fn oversized_body_is_413_with_a_json_body() {
        let (status, ctype, body) = answer(ApiError::payload_too_large(1024)).await;
        assert_eq!((status, ctype.as_str()), (413, "application/json"));
        assert_eq!(body["result"]["error"]["code"], 905);
        assert_eq!(
            body["result"]["error"]["message"],
            "ERR905: The request body is larger than the limit of 1024 bytes."
        );
    }
}
