//! `/token/*`: enroll, list, delete and administer tokens (admin JWT required).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use tessera_proto::{Envelope, Params, PiError};

use crate::{AdminAuth, ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/token/init", post(init))
        .route("/token/", get(list).delete(delete_by_param))
        .route("/token", get(list).delete(delete_by_param))
        .route("/token/{serial}", delete(delete_by_path))
        .route("/token/assign", post(assign))
        .route("/token/unassign", post(unassign))
        .route("/token/enable", post(enable))
        .route("/token/enable/{serial}", post(enable))
        .route("/token/disable", post(disable))
        .route("/token/disable/{serial}", post(disable))
        .route("/token/reset", post(reset))
        .route("/token/reset/{serial}", post(reset))
        .route("/token/resync", post(resync))
        .route("/token/resync/{serial}", post(resync))
        .route("/token/setpin", post(setpin))
        .route("/token/setpin/{serial}", post(setpin))
        .route("/token/set", post(set))
        .route("/token/set/{serial}", post(set))
}

fn ok(s: &AppState, value: Value) -> Reply {
    Reply(Envelope::ok(value, s.core.now()))
}

/// The serial from the path (`/token/enable/<serial>`) or from the `serial` parameter.
fn serial(path: Option<Path<String>>, p: &Params) -> Result<String, PiError> {
    match path {
        Some(Path(s)) => Ok(s),
        None => p.required_nonempty("serial").map(str::to_string),
    }
}

async fn init(
    State(s): State<AppState>,
    _a: AdminAuth,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let r = s.core.init_token(&p).await?;
    Ok(Reply(
        Envelope::ok(json!(true), s.core.now()).with_detail(Value::Object(r.detail)),
    ))
}

async fn list(
    State(s): State<AppState>,
    _a: AdminAuth,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let page = s.core.list_tokens(&p)?;
    Ok(ok(
        &s,
        serde_json::to_value(page).map_err(ApiError::internal)?,
    ))
}

async fn delete_by_path(
    State(s): State<AppState>,
    _a: AdminAuth,
    Path(serial): Path<String>,
) -> Result<Reply, ApiError> {
    s.core.delete_token(&serial).await?;
    Ok(ok(&s, json!(1)))
}

async fn delete_by_param(
    State(s): State<AppState>,
    _a: AdminAuth,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    s.core.delete_token(p.required_nonempty("serial")?).await?;
    Ok(ok(&s, json!(1)))
}

async fn assign(
    State(s): State<AppState>,
    _a: AdminAuth,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    s.core.assign_token(&p).await?;
    Ok(ok(&s, json!(true)))
}

async fn unassign(
    State(s): State<AppState>,
    _a: AdminAuth,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    s.core
        .unassign_token(p.required_nonempty("serial")?)
        .await?;
    Ok(ok(&s, json!(1)))
}

async fn enable(
    State(s): State<AppState>,
    _a: AdminAuth,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    s.core.set_token_active(&serial(path, &p)?, true).await?;
    Ok(ok(&s, json!(1)))
}

async fn disable(
    State(s): State<AppState>,
    _a: AdminAuth,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    s.core.set_token_active(&serial(path, &p)?, false).await?;
    Ok(ok(&s, json!(1)))
}

async fn reset(
    State(s): State<AppState>,
    _a: AdminAuth,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    s.core.reset_token(&serial(path, &p)?).await?;
    Ok(ok(&s, json!(1)))
}

async fn resync(
    State(s): State<AppState>,
    _a: AdminAuth,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    let found = s
        .core
        .resync_token(
            &serial,
            p.required_nonempty("otp1")?,
            p.required_nonempty("otp2")?,
        )
        .await?;
    Ok(ok(&s, json!(found)))
}

async fn setpin(
    State(s): State<AppState>,
    _a: AdminAuth,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    s.core.set_token_pin(&serial, p.required("otppin")?).await?;
    Ok(ok(&s, json!(1)))
}

async fn set(
    State(s): State<AppState>,
    _a: AdminAuth,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    let n = s.core.set_token_attributes(&serial, &p).await?;
    Ok(ok(&s, json!(n)))
}
