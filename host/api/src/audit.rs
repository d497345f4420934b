//! Auditing every request: the middleware that writes one signed audit entry per request (and signs
//! the JSON answer, privacyIDEA's `signature`), the `AuditNote` handlers fill in (serial, user,
//! administrator, info ...), and `GET /audit/`.
//!
//! The entry goes to the audit log's queue (`AuditLog::append`, tens of nanoseconds); its writer
//! thread chains, signs and syncs batches, so no request waits for another's audit write.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use tessera_audit::{AuditKeys, AuditLog, Entry, SearchQuery, Timestamp};
use tessera_proto::{Envelope, ErrorKind, PiError};

use crate::client::ClientIp;
use crate::{AdminAuth, ApiError, AppState, Input, Reply};

/// Largest answer body that is signed (bigger ones are sent unsigned; none of ours is that big).
const SIGN_LIMIT: usize = 16 << 20;

/// The audit log and the response signer of a running server.
#[derive(Debug)]
pub struct Auditing {
    pub log: AuditLog,
    /// Set when answers are signed (`[audit] sign_responses`).
    pub signer: Option<AuditKeys>,
    /// `privacyidea_server` column: this node's name.
    pub node: String,
}

/// What a handler knows that the middleware does not. Empty fields stay empty in the entry.
#[derive(Clone, Debug, Default)]
pub struct Note {
    pub serial: Option<String>,
    pub token_type: Option<String>,
    pub user: Option<String>,
    pub realm: Option<String>,
    pub resolver: Option<String>,
    pub administrator: Option<String>,
    pub info: Option<String>,
    pub policies: Vec<String>,
    pub authentication: Option<&'static str>,
    /// `None`: success is "the answer was 2xx".
    pub success: Option<bool>,
    /// The request's `nonce`, echoed in a signed answer.
    pub nonce: Option<String>,
}

/// A handle on the request's `Note` (a no-op when auditing is off or outside a request).
#[derive(Clone, Debug, Default)]
pub struct AuditNote(Option<Arc<Mutex<Note>>>);

impl AuditNote {
    /// Change the note.
    pub fn set(&self, f: impl FnOnce(&mut Note)) {
        if let Some(n) = &self.0 {
            f(&mut n.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }

    /// The note of the request whose parts these are.
    pub fn of(parts: &Parts) -> AuditNote {
        Self::in_extensions(&parts.extensions)
    }

    /// The note among a request's extensions.
    pub fn in_extensions(extensions: &axum::http::Extensions) -> AuditNote {
        extensions.get::<AuditNote>().cloned().unwrap_or_default()
    }

    fn take(&self) -> Note {
        self.0
            .as_ref()
            .map(|n| std::mem::take(&mut *n.lock().unwrap_or_else(|p| p.into_inner())))
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuditNote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _s: &S) -> Result<Self, Self::Rejection> {
        Ok(AuditNote::of(parts))
    }
}

/// The middleware: note, run, write the entry, sign the answer.
pub async fn audit_layer(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(auditing) = s.audit.clone() else {
        return next.run(req).await;
    };
    let start = Timestamp::from_unix(s.core.now());
    let action = format!(
        "{} {}",
        req.method(),
        match req.extensions().get::<MatchedPath>() {
            Some(p) => flask_rule(p.as_str()),
            None => shorten(req.uri().path(), MAX_PATH),
        }
    );
    let client = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| shorten(v, 256));
    let note = AuditNote(Some(Arc::new(Mutex::new(Note::default()))));
    req.extensions_mut().insert(note.clone());
    let response = next.run(req).await;
    let n = note.take();
    let status = response.status();
    // privacyIDEA's error handlers put the error message into `info`; that needs the body of an error answer.
    let error_text_wanted =
        n.info.is_none() && (status.is_client_error() || status.is_server_error());
    let (response, body) = if is_json(&response) && (auditing.signer.is_some() || error_text_wanted)
    {
        read_json(response).await
    } else {
        (response, None)
    };
    let error_text = body
        .as_ref()
        .filter(|_| error_text_wanted)
        .and_then(|b| b.pointer("/result/error/message"))
        .and_then(|m| m.as_str())
        .map(str::to_string);
    let end = Timestamp::from_unix(s.core.now());
    let mut entry = Entry::new(action, start, end);
    entry.success = n.success.unwrap_or_else(|| status.is_success());
    entry.authentication = n.authentication.map(str::to_string);
    entry.serial = n.serial;
    entry.token_type = n.token_type;
    entry.user = n.user;
    entry.realm = n.realm;
    entry.resolver = n.resolver;
    entry.administrator = n.administrator;
    // privacyIDEA starts every entry with `action_detail` and `info` empty and `policies` "" (captures 97/98).
    entry.action_detail = Some(String::new());
    entry.info = Some(shorten(n.info.or(error_text).as_deref().unwrap_or(""), 512));
    entry.client = client;
    entry.user_agent = user_agent;
    entry.policies = Some(n.policies.join(","));
    entry.privacyidea_server = Some(auditing.node.clone());
    if let Err(e) = auditing.log.append(entry) {
        tracing::error!(error = %e, "audit entry lost");
    }
    match (&auditing.signer, body) {
        (Some(keys), Some(value)) => sign(keys, response, value, n.nonce.as_deref()),
        _ => response,
    }
}

/// Longest request path recorded as the action of a request no route matched.
const MAX_PATH: usize = 200;

/// An axum route (`/token/enable/{serial}`) as privacyIDEA's Flask rule text (`/token/enable/<serial>`).
fn flask_rule(route: &str) -> String {
    route.replace('{', "<").replace('}', ">")
}

/// The first `max` characters of `text`.
fn shorten(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// Reads a JSON answer's body into memory; the response is rebuilt around the same bytes.
async fn read_json(response: Response) -> (Response, Option<serde_json::Value>) {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, SIGN_LIMIT).await {
        Ok(bytes) => {
            let value = serde_json::from_slice(&bytes).ok();
            (Response::from_parts(parts, Body::from(bytes)), value)
        }
        Err(e) => {
            tracing::error!(error = %e, "answer body could not be read for the audit log");
            (Response::from_parts(parts, Body::empty()), None)
        }
    }
}

/// Add `nonce` and `signature` to a JSON answer whose body is `value`.
fn sign(
    keys: &AuditKeys,
    response: Response,
    mut value: serde_json::Value,
    nonce: Option<&str>,
) -> Response {
    keys.add_signature(&mut value, nonce);
    let Ok(signed) = serde_json::to_vec(&value) else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Ok(len) = HeaderValue::from_str(&signed.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, len);
    }
    Response::from_parts(parts, Body::from(signed))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit/", get(search))
        .route("/audit", get(search))
}

/// `GET /audit/`: privacyIDEA's filters and paging (`auditcolumns`, `auditdata`, `count`, `current`,
/// `next`, `prev`, per row `sig_check` and `missing_line`). Admin right `auditlog`.
async fn search(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "auditlog", ip)?;
    let Some(auditing) = s.audit.clone() else {
        return Err(PiError::new(
            ErrorKind::ConfigAdmin,
            "ERR302: The audit log is switched off on this server ([audit] enabled = false).",
        )
        .into());
    };
    let query =
        SearchQuery::from_params(p.iter()).map_err(|e| PiError::parameter(e.to_string()))?;
    let now = Timestamp::from_unix(s.core.now());
    let page = tokio::task::spawn_blocking(move || auditing.log.search(&query, now))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Reply(Envelope::ok(page.to_json(), s.core.now())))
}
