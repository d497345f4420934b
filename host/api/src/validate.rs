//! `/validate/check` (POST and GET): authenticate a user with PIN + OTP. No JWT: this is the
//! endpoint PAM, RADIUS and the other plugins call.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value, json};
use tessera_core::CheckRequest;
use tessera_proto::Envelope;

use crate::{ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new().route("/validate/check", get(check).post(check))
}

async fn check(State(s): State<AppState>, Input(p): Input) -> Result<Reply, ApiError> {
    let req = CheckRequest::from_params(&p)?;
    let r = s.core.validate_check(&req).await?;
    let mut detail = Map::new();
    detail.insert("message".into(), json!(r.message));
    if let Some(serial) = r.serial {
        detail.insert("serial".into(), json!(serial));
    }
    if let Some(t) = r.tokentype {
        detail.insert("type".into(), json!(t));
    }
    if let Some(n) = r.otplen {
        detail.insert("otplen".into(), json!(n));
    }
    detail.insert("threadid".into(), json!(thread_id()));
    let authentication = if r.accept { "ACCEPT" } else { "REJECT" };
    Ok(Reply(Envelope::auth(
        authentication,
        r.accept,
        Value::Object(detail),
        s.core.now(),
    )))
}

/// privacyIDEA reports the id of the thread that served the request; ours is a small number per worker thread.
fn thread_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    ID.with(|id| *id)
}
