//! `GET /user/`: list and search users of a realm or resolver.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use tessera_proto::Envelope;

use crate::client::ClientIp;
use crate::{AdminAuth, ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/user/", get(list))
        .route("/user", get(list))
}

async fn list(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    a.need(&s, "userlist", ip)?;
    let users = s.core.list_users(&p)?;
    Ok(Reply(Envelope::ok(
        serde_json::to_value(users).map_err(ApiError::internal)?,
        s.core.now(),
    )))
}
