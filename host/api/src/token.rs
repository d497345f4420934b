//! `/token/*`: enroll, list, delete and administer tokens. Administrators need the admin right of
//! each action on the token's realm (once admin policies exist); realm users act on their own
//! tokens only, with the user-scope rights.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use tessera_proto::{Envelope, Params, PiError};

use tessera_core::Target;

use crate::audit::AuditNote;
use crate::caller::TokenCaller;
use crate::client::ClientIp;
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
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    Input(mut p): Input,
) -> Result<Reply, ApiError> {
    let ttype = p
        .get_nonempty("type")
        .unwrap_or("hotp")
        .to_ascii_uppercase();
    let right = format!("enroll{ttype}");
    match &c {
        TokenCaller::User(u) => {
            // A user enrolls for themselves, whatever the request says.
            p.insert("user", u.login.clone());
            p.insert("realm", u.realm.clone());
            c.need(&s, &right, Target::default(), ip)?;
        }
        TokenCaller::Admin(_) => {
            let owner = match p.get_nonempty("user") {
                Some(user) => Some(s.core.resolve_user(user, p.get_nonempty("realm"))?),
                None => None,
            };
            let target = Target {
                realm: Some(owner.as_ref().map_or("", |u| u.realm.as_str())),
                resolver: owner.as_ref().map(|u| u.resolver.as_str()),
                user: owner.as_ref().map(|u| u.login.as_str()),
            };
            c.need(&s, &right, target, ip)?;
        }
    }
    let r = s.core.init_token(&p).await?;
    note.set(|n| {
        n.serial = r
            .detail
            .get("serial")
            .and_then(Value::as_str)
            .map(str::to_string);
        n.token_type = Some(ttype.to_ascii_lowercase());
        n.user = p.get_nonempty("user").map(str::to_string);
        n.realm = p.get_nonempty("realm").map(str::to_string);
    });
    Ok(Reply(
        Envelope::ok(json!(true), s.core.now()).with_detail(Value::Object(r.detail)),
    ))
}

async fn list(
    State(s): State<AppState>,
    c: TokenCaller,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let page = match &c {
        TokenCaller::User(u) => s.core.list_tokens(&p, |t| tessera_core::owned_by(t, u))?,
        TokenCaller::Admin(_) => s
            .core
            .list_tokens(&p, |t| c.may(&s, "tokenlist", t, ip).is_ok())?,
    };
    Ok(ok(
        &s,
        serde_json::to_value(page).map_err(ApiError::internal)?,
    ))
}

async fn delete_by_path(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    Path(serial): Path<String>,
) -> Result<Reply, ApiError> {
    TokenCaller::note_token(&note, &c.token(&s, "delete", &serial, ip)?);
    s.core.delete_token(&serial).await?;
    Ok(ok(&s, json!(1)))
}

async fn delete_by_param(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = p.required_nonempty("serial")?;
    TokenCaller::note_token(&note, &c.token(&s, "delete", serial, ip)?);
    s.core.delete_token(serial).await?;
    Ok(ok(&s, json!(1)))
}

async fn assign(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let user = s
        .core
        .resolve_user(p.required_nonempty("user")?, p.get_nonempty("realm"))?;
    a.need_on(
        &s,
        "assign",
        Target {
            realm: Some(&user.realm),
            resolver: Some(&user.resolver),
            user: Some(&user.login),
        },
        ip,
    )?;
    s.core.assign_token(&p).await?;
    Ok(ok(&s, json!(true)))
}

async fn unassign(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = p.required_nonempty("serial")?;
    TokenCaller::note_token(&note, &c.token(&s, "unassign", serial, ip)?);
    s.core.unassign_token(serial).await?;
    Ok(ok(&s, json!(1)))
}

async fn enable(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    TokenCaller::note_token(&note, &c.token(&s, "enable", &serial, ip)?);
    s.core.set_token_active(&serial, true).await?;
    Ok(ok(&s, json!(1)))
}

async fn disable(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    TokenCaller::note_token(&note, &c.token(&s, "disable", &serial, ip)?);
    s.core.set_token_active(&serial, false).await?;
    Ok(ok(&s, json!(1)))
}

async fn reset(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    TokenCaller::note_token(&note, &c.token(&s, "reset", &serial, ip)?);
    s.core.reset_token(&serial).await?;
    Ok(ok(&s, json!(1)))
}

async fn resync(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    let (otp1, otp2) = (p.required_nonempty("otp1")?, p.required_nonempty("otp2")?);
    TokenCaller::note_token(&note, &c.token(&s, "resync", &serial, ip)?);
    let found = s.core.resync_token(&serial, otp1, otp2).await?;
    Ok(ok(&s, json!(found)))
}

async fn setpin(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    let pin = p.required("otppin")?;
    TokenCaller::note_token(&note, &c.token(&s, "setpin", &serial, ip)?);
    s.core.set_token_pin(&serial, pin).await?;
    Ok(ok(&s, json!(1)))
}

async fn set(
    State(s): State<AppState>,
    c: TokenCaller,
    note: AuditNote,
    ip: ClientIp,
    path: Option<Path<String>>,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let serial = serial(path, &p)?;
    TokenCaller::note_token(&note, &c.token(&s, "set", &serial, ip)?);
    let n = s.core.set_token_attributes(&serial, &p).await?;
    Ok(ok(&s, json!(n)))
}
