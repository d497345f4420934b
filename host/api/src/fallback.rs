//! Answers for requests no handler takes: unknown paths (404) and known paths with another method (405),
//! as JSON envelopes (privacyIDEA answers HTML there, which its clients cannot parse); and JSON for the
//! plain-text 4xx answers of axum's own extractors (a path segment that is not UTF-8, for example).

use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tessera_proto::{ErrorKind, PiError};

use crate::error::ApiError;

/// Longest path echoed back in a message.
const MAX_ECHO: usize = 200;

fn shown(uri: &Uri) -> &str {
    let path = uri.path();
    match path.char_indices().nth(MAX_ECHO) {
        Some((i, _)) => &path[..i],
        None => path,
    }
}

pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        format!(
            "The requested URL {} was not found on the server.",
            shown(&uri)
        ),
    )
}

pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        format!(
            "The method {method} is not allowed for the requested URL {}.",
            shown(&uri)
        ),
    )
}

/// A 4xx answer that is not JSON (an extractor's rejection) becomes a privacyIDEA error with the
/// same status and the rejection's text (code 905).
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let text: String = text.chars().take(MAX_ECHO).collect();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("Bad request")
            .to_string()
    } else {
        text
    };
    let mut answer = ApiError::from(PiError::parameter(message)).into_response();
    if status != StatusCode::BAD_REQUEST {
        *answer.status_mut() = status;
    }
    answer
}
