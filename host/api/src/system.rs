//! `/system/*`: privacyIDEA's system configuration keys (`setConfig`, `setDefault`, read, delete).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use tessera_proto::{Envelope, PiError};

use crate::client::ClientIp;
use crate::{AdminAuth, ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/system/", get(list))
        .route("/system", get(list))
        .route("/system/setConfig", post(set))
        .route("/system/setDefault", post(set))
        .route("/system/{key}", delete(remove).get(one))
}

fn ok(s: &AppState, value: Value) -> Reply {
    Reply(Envelope::ok(value, s.core.now()))
}

async fn list(State(s): State<AppState>, a: AdminAuth, ip: ClientIp) -> Result<Reply, ApiError> {
    a.need(&s, "configread", ip)?;
    let mut value = serde_json::Map::new();
    for (k, v) in s.core.sysconfig_view() {
        value.insert(k, json!(v));
    }
    value.insert(
        "__timestamp__".into(),
        json!(format!("{}", s.core.now() as u64)),
    );
    Ok(ok(&s, Value::Object(value)))
}

async fn one(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(key): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "configread", ip)?;
    let view = s.core.sysconfig_view();
    match view.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
        Some((_, v)) => Ok(ok(&s, json!(v))),
        None => Ok(ok(&s, Value::Null)),
    }
}

async fn set(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "configwrite", ip)?;
    let answer = s.core.set_sysconfig(&p).await?;
    Ok(ok(&s, json!(answer)))
}

async fn remove(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(key): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "configdelete", ip)?;
    if key.len() > 128 {
        return Err(PiError::parameter("configuration key is too long").into());
    }
    let existed = s.core.delete_sysconfig(&key).await?;
    Ok(ok(&s, json!(existed)))
}
