//! `/policy/*`: create, read, delete, enable and disable policies, and the catalogue of scopes and
//! actions (`/policy/defs`). Guarded by the admin rights `policyread`, `policywrite`, `policydelete`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tessera_proto::Envelope;

use crate::client::ClientIp;
use crate::{AdminAuth, ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/policy/", get(list))
        .route("/policy", get(list))
        .route("/policy/defs", get(defs))
        .route("/policy/defs/{scope}", get(defs_scope))
        .route("/policy/enable/{name}", post(enable))
        .route("/policy/disable/{name}", post(disable))
        .route("/policy/{name}", post(set).get(one).delete(remove))
}

fn ok(s: &AppState, value: Value) -> Reply {
    Reply(Envelope::ok(value, s.core.now()))
}

async fn list(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "policyread", ip)?;
    Ok(ok(&s, Value::Array(s.core.list_policies(&p)?)))
}

async fn one(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "policyread", ip)?;
    Ok(ok(&s, json!([s.core.get_policy(&name)?])))
}

async fn defs(State(s): State<AppState>, a: AdminAuth, ip: ClientIp) -> Result<Reply, ApiError> {
    a.need(&s, "policyread", ip)?;
    Ok(ok(&s, s.core.policy_defs(None)?))
}

async fn defs_scope(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(scope): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "policyread", ip)?;
    Ok(ok(&s, s.core.policy_defs(Some(&scope))?))
}

async fn set(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "policywrite", ip)?;
    let id = s.core.set_policy(&name, &p).await?;
    Ok(ok(&s, json!({ format!("setPolicy {name}"): id })))
}

async fn remove(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "policydelete", ip)?;
    s.core.delete_policy(&name).await?;
    Ok(ok(&s, json!(1)))
}

async fn enable(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "policywrite", ip)?;
    s.core.activate_policy(&name, true).await?;
    Ok(ok(&s, json!(1)))
}

async fn disable(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "policywrite", ip)?;
    s.core.activate_policy(&name, false).await?;
    Ok(ok(&s, json!(1)))
}
