//! `/realm/*` and `/defaultrealm`: realms (ordered sets of resolvers) and the default realm.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tessera_proto::Envelope;

use crate::client::ClientIp;
use crate::{AdminAuth, ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/realm/", get(list))
        .route("/realm", get(list))
        .route("/realm/{realm}", post(set).delete(remove))
        .route("/defaultrealm", get(get_default).delete(clear_default))
        .route("/defaultrealm/", get(get_default).delete(clear_default))
        .route(
            "/defaultrealm/{realm}",
            post(set_default).delete(clear_default_named),
        )
}

fn ok(s: &AppState, value: Value) -> Reply {
    Reply(Envelope::ok(value, s.core.now()))
}

async fn list(State(s): State<AppState>, a: AdminAuth, ip: ClientIp) -> Result<Reply, ApiError> {
    a.need(&s, "configread", ip)?;
    Ok(ok(
        &s,
        serde_json::to_value(s.core.realms()).map_err(ApiError::internal)?,
    ))
}

async fn set(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "configwrite", ip)?;
    let (added, failed) = s.core.set_realm(&name, &p)?;
    Ok(ok(&s, json!({ "added": added, "failed": failed })))
}

async fn remove(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "configdelete", ip)?;
    s.core.delete_realm(&name)?;
    Ok(ok(&s, json!(1)))
}

async fn get_default(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
) -> Result<Reply, ApiError> {
    a.need(&s, "configread", ip)?;
    let realms = s.core.realms();
    let value = match s
        .core
        .default_realm()
        .and_then(|d| realms.get(&d).map(|r| (d, r.clone())))
    {
        Some((name, realm)) => json!({ name: realm }),
        None => json!({}),
    };
    Ok(ok(&s, value))
}

async fn set_default(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "configwrite", ip)?;
    s.core.set_default_realm(&name)?;
    Ok(ok(&s, json!(1)))
}

async fn clear_default(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
) -> Result<Reply, ApiError> {
    a.need(&s, "configdelete", ip)?;
    s.core.clear_default_realm()?;
    Ok(ok(&s, json!(1)))
}

async fn clear_default_named(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(_name): Path<String>,
) -> Result<Reply, ApiError> {
    clear_default(State(s), a, ip).await
}
