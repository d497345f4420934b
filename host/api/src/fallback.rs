//! Answers for requests no handler takes: unknown paths (404) and known paths with another method (405),
//! as JSON envelopes (privacyIDEA answers HTML there, which its clients cannot parse).

use axum::http::{Method, Uri};
use tessera_proto::ErrorKind;

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
