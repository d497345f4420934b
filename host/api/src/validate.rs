//! `/validate/*`: authenticate a user (`check`, `radiuscheck`, `samlcheck`), start challenges for a
//! user (`triggerchallenge`, admin only) and ask about out-of-band answers (`polltransaction`).
//! No JWT except for triggerchallenge: these are the endpoints PAM, RADIUS and the other plugins call.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tessera_core::{Authentication, CheckRequest, CheckResult, Target, token_target};
use tessera_proto::{Envelope, PiError};

use crate::audit::AuditNote;
use crate::client::ClientIp;
use crate::{AdminAuth, ApiError, AppState, Input, Reply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/validate/check", get(check).post(check))
        .route("/validate/radiuscheck", get(radiuscheck).post(radiuscheck))
        .route("/validate/samlcheck", get(samlcheck).post(samlcheck))
        .route(
            "/validate/triggerchallenge",
            get(triggerchallenge).post(triggerchallenge),
        )
        .route("/validate/polltransaction", get(poll))
        .route("/validate/polltransaction/{transaction_id}", get(poll_path))
}

async fn run_check(
    s: &AppState,
    ClientIp(client): ClientIp,
    note: &AuditNote,
    p: &tessera_proto::Params,
) -> Result<CheckResult, ApiError> {
    note.set(|n| {
        n.user = p.get_nonempty("user").map(str::to_string);
        n.realm = p.get_nonempty("realm").map(str::to_string);
        n.serial = p.get_nonempty("serial").map(str::to_string);
        n.nonce = p.get_nonempty("nonce").map(str::to_string);
        n.success = Some(false);
    });
    let mut req = CheckRequest::from_params(p)?;
    req.client = client;
    let r = s.core.validate_check(&req).await?;
    note_result(note, &r);
    Ok(r)
}

/// The audit columns of a check's outcome.
fn note_result(note: &AuditNote, r: &CheckResult) {
    note.set(|n| {
        n.success = Some(r.accepted());
        n.authentication = Some(r.authentication.as_str());
        n.info = Some(r.message.clone());
        if r.serial.is_some() {
            n.serial = r.serial.clone();
        }
        n.token_type = r.tokentype.clone();
        if let Some(u) = &r.user {
            if !u.login.is_empty() {
                n.user = Some(u.login.clone());
            }
            n.realm = Some(u.realm.clone());
            n.resolver = Some(u.resolver.clone());
        }
        n.policies = r.policies.clone();
    });
}

async fn check(
    State(s): State<AppState>,
    ip: ClientIp,
    note: AuditNote,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let r = run_check(&s, ip, &note, &p).await?;
    let mut detail = detail_of(&r);
    add_user_detail(&s, &r, &mut detail)?;
    let mut env = Envelope::auth(
        r.authentication.as_str(),
        r.accepted(),
        Value::Object(detail),
        s.core.now(),
    );
    if r.detail.hide {
        env.detail = None;
    }
    Ok(Reply(env))
}

/// `add_user_in_response` (`detail.user`) and `add_resolver_in_response`
/// (`detail.user-resolver`, `detail.user-realm`).
fn add_user_detail(
    s: &AppState,
    r: &CheckResult,
    detail: &mut Map<String, Value>,
) -> Result<(), PiError> {
    let Some(user) = &r.user else {
        return Ok(());
    };
    if r.detail.add_user
        && let Some(v) = s.core.user_details(user)?
    {
        detail.insert(
            "user".into(),
            serde_json::to_value(v).map_err(|_| PiError::internal())?,
        );
    }
    if r.detail.add_resolver {
        detail.insert("user-resolver".into(), json!(user.resolver));
        detail.insert("user-realm".into(), json!(user.realm));
    }
    Ok(())
}

/// For FreeRADIUS' rlm_rest: 204 without a body on success, 400 without a body otherwise.
async fn radiuscheck(
    State(s): State<AppState>,
    ip: ClientIp,
    note: AuditNote,
    Input(p): Input,
) -> Result<Response, ApiError> {
    let r = run_check(&s, ip, &note, &p).await?;
    Ok(if r.accepted() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::BAD_REQUEST.into_response()
    })
}

/// privacyIDEA 3.7's SAML check: `result.value = {auth, attributes}`; attributes of the user when
/// the check succeeded and `ReturnSamlAttributes` is on.
async fn samlcheck(
    State(s): State<AppState>,
    ip: ClientIp,
    note: AuditNote,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    let r = run_check(&s, ip, &note, &p).await?;
    let mut attributes = Map::new();
    if r.accepted()
        && s.core.sysconfig().return_saml_attributes
        && let Some(user) = &r.user
        && let Some(v) = s.core.user_details(user)?
    {
        attributes.insert("username".into(), json!(v.username));
        attributes.insert("realm".into(), json!(user.realm));
        attributes.insert("resolver".into(), json!(v.resolver));
        attributes.insert("email".into(), json!(v.email));
        attributes.insert("surname".into(), json!(v.surname));
        attributes.insert("givenname".into(), json!(v.givenname));
        attributes.insert("mobile".into(), json!(v.mobile));
        attributes.insert("phone".into(), json!(v.phone));
    }
    let value = json!({ "auth": r.accepted(), "attributes": attributes });
    let mut env = Envelope::ok(value, s.core.now()).with_detail(Value::Object(detail_of(&r)));
    env.id = 2;
    env.result.authentication = Some(r.authentication.as_str());
    Ok(Reply(env))
}

/// Admin only (capture 75: 401/4033 without a JWT). `result.value` = number of challenges.
async fn triggerchallenge(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    note: AuditNote,
    Input(p): Input,
) -> Result<Reply, ApiError> {
    // The right is scoped like every admin right: by the realm of the token or of the user.
    if let Some(serial) = p.get_nonempty("serial") {
        let t = s.core.token_record(serial)?;
        let (realm, resolver) = token_target(&t);
        let target = Target {
            realm: Some(&realm),
            resolver: resolver.as_deref(),
            user: None,
        };
        a.need_on(&s, "triggerchallenge", target, ip)?;
    } else if let Some(login) = p.get_nonempty("user") {
        let u = s.core.resolve_user(login, p.get_nonempty("realm"))?;
        let target = Target {
            realm: Some(&u.realm),
            resolver: Some(&u.resolver),
            user: Some(&u.login),
        };
        a.need_on(&s, "triggerchallenge", target, ip)?;
    } else {
        a.need(&s, "triggerchallenge", ip)?;
    }
    let r = s
        .core
        .trigger_challenge(
            p.get_nonempty("user"),
            p.get_nonempty("realm"),
            p.get_nonempty("serial"),
            p.get_nonempty("type"),
        )
        .await?;
    note_result(&note, &r);
    note.set(|n| n.success = Some(!r.challenges.is_empty()));
    let created = r.challenges.len();
    let mut env =
        Envelope::ok(json!(created), s.core.now()).with_detail(Value::Object(detail_of(&r)));
    env.id = 2;
    // privacyIDEA 3.7.1 answers ACCEPT here when challenges were created (capture 73).
    env.result.authentication = Some(if created > 0 { "ACCEPT" } else { "REJECT" });
    Ok(Reply(env))
}

async fn poll(State(s): State<AppState>, Input(p): Input) -> Result<Reply, ApiError> {
    let tx = p.required_nonempty("transaction_id")?.to_string();
    poll_reply(&s, &tx)
}

async fn poll_path(State(s): State<AppState>, Path(tx): Path<String>) -> Result<Reply, ApiError> {
    poll_reply(&s, &tx)
}

fn poll_reply(s: &AppState, tx: &str) -> Result<Reply, ApiError> {
    if tx.len() > 64 {
        return Err(PiError::parameter("transaction_id is too long").into());
    }
    let answered = s.core.poll_transaction(tx)?;
    let mut env = Envelope::ok(json!(answered), s.core.now()).with_detail(json!({}));
    env.result.authentication = Some(if answered { "ACCEPT" } else { "REJECT" });
    Ok(Reply(env))
}

/// The `detail` object of a check, as privacyIDEA shapes it (captures 30–42, 71–74, 82–88).
fn detail_of(r: &CheckResult) -> Map<String, Value> {
    let mut detail = Map::new();
    detail.insert("message".into(), json!(r.message));
    if let Some(serial) = &r.serial {
        detail.insert("serial".into(), json!(serial));
    }
    if let Some(t) = &r.tokentype {
        detail.insert("type".into(), json!(t));
    }
    if r.authentication != Authentication::Challenge
        && let Some(n) = r.otplen
    {
        detail.insert("otplen".into(), json!(n));
    }
    if r.authentication == Authentication::Challenge || !r.challenges.is_empty() {
        let multi: Vec<Value> = r
            .challenges
            .iter()
            .map(|c| {
                json!({
                    "client_mode": c.client_mode,
                    "message": c.message,
                    "serial": c.serial,
                    "transaction_id": c.transaction_id,
                    "type": c.tokentype,
                })
            })
            .collect();
        let mut messages: Vec<&str> = Vec::new();
        for c in &r.challenges {
            if !messages.contains(&c.message.as_str()) {
                messages.push(&c.message);
            }
        }
        if let Some(first) = r.challenges.first() {
            detail.insert("transaction_id".into(), json!(first.transaction_id));
            detail.insert("transaction_ids".into(), json!([first.transaction_id]));
            detail.insert("client_mode".into(), json!(first.client_mode));
            detail.insert("preferred_client_mode".into(), json!(first.client_mode));
        }
        detail.insert("message".into(), json!(messages.join(", ")));
        detail.insert("messages".into(), json!(messages));
        detail.insert("multi_challenge".into(), Value::Array(multi));
    }
    detail.insert("threadid".into(), json!(thread_id()));
    detail
}

/// privacyIDEA reports the id of the thread that served the request; ours is a small number per worker thread.
fn thread_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    ID.with(|id| *id)
}
