//! `/resolver/*`: user resolver configurations (secrets censored when read).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tessera_proto::Envelope;

use crate::client::ClientIp;
use crate::{AdminAuth, ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resolver/", get(list))
        .route("/resolver", get(list))
        .route("/resolver/test", post(test))
        .route("/resolver/{resolver}", post(set).get(read).delete(remove))
}

fn ok(s: &AppState, value: Value) -> Reply {
    Reply(Envelope::ok(value, s.core.now()))
}

async fn list(State(s): State<AppState>, a: AdminAuth, ip: ClientIp) -> Result<Reply, ApiError> {
    a.need(&s, "resolverread", ip)?;
    Ok(ok(
        &s,
        serde_json::to_value(s.core.resolvers(None)?).map_err(ApiError::internal)?,
    ))
}

async fn read(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "resolverread", ip)?;
    Ok(ok(
        &s,
        serde_json::to_value(s.core.resolvers(Some(&name))?).map_err(ApiError::internal)?,
    ))
}

async fn set(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "resolverwrite", ip)?;
    s.core.set_resolver(&name, &p)?;
    Ok(ok(&s, json!(1)))
}

async fn test(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "resolverwrite", ip)?;
    let n = s.core.test_resolver(&p)?;
    let detail =
        json!({ "description": format!("Resolver configuration is valid: {n} users found.") });
    Ok(Reply(
        Envelope::ok(json!(true), s.core.now()).with_detail(detail),
    ))
}

async fn remove(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Path(name): Path<String>,
) -> Result<Reply, ApiError> {
    a.need(&s, "resolverdelete", ip)?;
    s.core.delete_resolver(&name)?;
    Ok(ok(&s, json!(1)))
}
