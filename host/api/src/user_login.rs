//! `POST /auth` for realm users: the password is checked against the user store, or with the
//! policy `webui:login_mode=privacyIDEA` against the user's tokens (a challenge-response token
//! answers first with a challenge, answered by a second `/auth` with `transaction_id`). The JWT
//! carries role `user`; such a caller acts on their own tokens only.

use serde_json::{Value, json};
use tessera_core::{Authentication, Caller, CheckRequest, LoginMode};
use tessera_proto::{Envelope, ErrorKind, Params, PiError};

use crate::auth::{issue_token, login_value, wrong_credentials};
use crate::client::ClientIp;
use crate::jwt::Role;
use crate::{ApiError, AppState, Reply};

/// Self-service actions offered in the rights list when no user policy restricts them.
const USER_RIGHTS: &[&str] = &[
    "enable", "disable", "delete", "unassign", "reset", "resync", "setpin",
];

pub(crate) async fn login(
    state: &AppState,
    username: &str,
    realm: Option<&str>,
    password: &str,
    params: &Params,
    ip: ClientIp,
) -> Result<Reply, ApiError> {
    let user = match state.core.resolve_user(username, realm) {
        Ok(u) => u,
        Err(e) if e.kind == ErrorKind::User => {
            tracing::info!(?username, "login refused: unknown user");
            return Err(wrong_credentials());
        }
        Err(e) => return Err(e.into()),
    };
    match state.core.login_mode(&user)? {
        LoginMode::Disabled => {
            tracing::info!(user = %user.login, realm = %user.realm, "login refused: login_mode=disable");
            return Err(wrong_credentials());
        }
        LoginMode::UserStore => {
            let (core, u, pw) = (state.core.clone(), user.clone(), password.to_string());
            let ok = !pw.is_empty()
                && tokio::task::spawn_blocking(move || core.check_user_password(&u, &pw))
                    .await
                    .map_err(|_| PiError::internal())??;
            if !ok {
                tracing::info!(user = %user.login, realm = %user.realm, "login refused: wrong password");
                return Err(wrong_credentials());
            }
        }
        LoginMode::Tokens => {
            let req = CheckRequest {
                user: Some(user.login.clone()),
                realm: Some(user.realm.clone()),
                serial: None,
                pass: password.to_string(),
                transaction_id: params.get_nonempty("transaction_id").map(str::to_string),
                client: ip.0,
                tokentype: None,
            };
            let r = state.core.validate_check(&req).await?;
            match r.authentication {
                Authentication::Accept => {}
                Authentication::Challenge => {
                    // privacyIDEA answers 401 with the challenge in `detail`; the WebUI then
                    // asks for the OTP and sends it with the transaction id.
                    let multi: Vec<Value> = r
                        .challenges
                        .iter()
                        .map(|c| {
                            json!({"transaction_id": c.transaction_id, "serial": c.serial,
                                   "type": c.tokentype, "message": c.message,
                                   "client_mode": c.client_mode})
                        })
                        .collect();
                    let tx = r.challenges.first().map(|c| c.transaction_id.clone());
                    let detail = json!({
                        "message": r.message,
                        "messages": [r.message],
                        "multi_challenge": multi,
                        "transaction_id": tx,
                        "transaction_ids": tx.iter().collect::<Vec<_>>(),
                    });
                    return Err(ApiError::with_detail(
                        PiError::new(
                            ErrorKind::AuthWrongCredentials,
                            "Authentication failure. Wrong credentials",
                        ),
                        detail,
                    ));
                }
                Authentication::Reject => {
                    tracing::info!(user = %user.login, realm = %user.realm, "login refused: tokens rejected");
                    return Err(wrong_credentials());
                }
            }
        }
    }
    let token = issue_token(state, &user.login, &user.realm, Role::User);
    tracing::info!(user = %user.login, realm = %user.realm, "user logged in");
    let caller = Caller::User {
        login: user.login.clone(),
        realm: user.realm.clone(),
    };
    let mut rights: Vec<String> = USER_RIGHTS.iter().map(|r| r.to_string()).collect();
    rights.extend(
        state
            .core
            .token_types()
            .into_iter()
            .map(|(t, _)| format!("enroll{}", t.to_ascii_uppercase())),
    );
    rights.retain(|r| {
        state
            .core
            .check_right(&caller, r, tessera_core::Target::default(), ip.0)
            .is_ok()
    });
    let mut value = login_value(token, &user.login, rights);
    value["role"] = json!("user");
    value["realm"] = json!(user.realm);
    value["menus"] = json!(["tokens"]);
    Ok(Reply(Envelope::ok(value, state.core.now())))
}
