//! `/auth` (administrator login, JWT issue), `/auth/rights`, and the `AdminAuth` extractor that guards admin endpoints.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::{get, post};
use rand::RngCore;
use serde_json::{Map, Value, json};
use tessera_proto::{Envelope, ErrorKind, PiError};

use crate::client::ClientIp;
use crate::error::{ApiError, Reply};
use crate::jwt::{self, Claims, Role};
use crate::params::Input;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth", post(login))
        .route("/auth/rights", get(rights))
}

/// The claims of a valid administrator JWT. Extracting it answers 401 (4033/4304/4305) or 403 (4306) otherwise.
#[derive(Clone, Debug)]
pub struct AdminAuth(pub Claims);

impl AdminAuth {
    /// The administrator as policies see them.
    pub fn caller(&self) -> tessera_core::Caller {
        tessera_core::Caller::Admin {
            name: self.0.username.clone(),
        }
    }

    /// Require the admin right `action` (on no particular object); 403/303 if policies deny it.
    pub fn need(&self, s: &AppState, action: &str, ip: ClientIp) -> Result<Vec<String>, PiError> {
        self.need_on(s, action, tessera_core::Target::default(), ip)
    }

    /// Require the admin right `action` on an object of a realm / resolver / user.
    pub fn need_on(
        &self,
        s: &AppState,
        action: &str,
        target: tessera_core::Target<'_>,
        ip: ClientIp,
    ) -> Result<Vec<String>, PiError> {
        s.core.check_right(&self.caller(), action, target, ip.0)
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = admin_from_headers(&parts.headers, state.core.jwt_secret(), state.core.now())?;
        crate::audit::AuditNote::of(parts).set(|n| n.administrator = Some(claims.username.clone()));
        Ok(AdminAuth(claims))
    }
}

/// The JWT sent in `PI-Authorization` or `Authorization` (in that order), raw or after `Bearer `.
pub fn token_from_headers(headers: &HeaderMap) -> Result<&str, PiError> {
    let value = ["PI-Authorization", "Authorization"]
        .into_iter()
        .filter_map(|name| headers.get(name))
        .find(|v| !v.is_empty())
        .ok_or_else(|| {
            PiError::new(
                ErrorKind::AuthHeader,
                "Authentication failure. Missing Authorization header.",
            )
        })?;
    let text = value.to_str().map_err(|_| {
        PiError::new(
            ErrorKind::AuthDecoding,
            "Authentication failure. Error during decoding your token: the header is not ASCII",
        )
    })?;
    let text = text.trim();
    let token = match text.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => text[7..].trim_start(),
        _ => text,
    };
    Ok(token)
}

/// Verifies the request's JWT at `now` and requires the admin role.
pub fn admin_from_headers(headers: &HeaderMap, secret: &[u8], now: f64) -> Result<Claims, PiError> {
    let claims = jwt::verify(secret, token_from_headers(headers)?, now)?;
    if claims.role != Role::Admin {
        return Err(PiError::new(
            ErrorKind::AuthMissingRight,
            "Authentication failure. You do not have the necessary role (['admin']) to access this resource!",
        ));
    }
    Ok(claims)
}

pub(crate) fn wrong_credentials() -> ApiError {
    ApiError::new(
        ErrorKind::AuthWrongCredentials,
        "Authentication failure. Wrong credentials",
    )
}

/// `POST /auth`: a local administrator (`username`, `password`, no realm) or a realm user
/// (`username` or `user@realm`, `realm`, `password`; see `user_login`) → a JWT and the WebUI settings.
async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    note: crate::audit::AuditNote,
    params: Input,
) -> Result<Reply, ApiError> {
    let username = params.get_nonempty("username").ok_or_else(|| {
        ApiError::new(
            ErrorKind::AuthWrongCredentials,
            "Authentication failure. Missing Username",
        )
    })?;
    let password = params.get("password").unwrap_or("");
    let realm = params.get_nonempty("realm");
    if realm.is_none()
        && !password.is_empty()
        && state.core.verify_admin(username, password).await?
    {
        // As privacyIDEA's audit of an administrator's login.
        note.set(|n| {
            n.administrator = Some(username.to_string());
            n.info = Some("internal admin".into());
        });
        return Ok(admin_login(&state, username));
    }
    note.set(|n| {
        n.user = Some(username.to_string());
        n.realm = realm.map(str::to_string);
    });
    crate::user_login::login(&state, username, realm, password, &params, ip).await
}

fn admin_login(state: &AppState, username: &str) -> Reply {
    let now = state.core.now();
    let token = issue_token(state, username, "", Role::Admin);
    tracing::info!(%username, "administrator logged in");
    let caller = tessera_core::Caller::Admin {
        name: username.to_string(),
    };
    let mut rights: Vec<String> = ADMIN_RIGHTS.iter().map(|r| r.to_string()).collect();
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
            .check_right(&caller, r, tessera_core::Target::default(), None)
            .is_ok()
    });
    Reply(Envelope::ok(login_value(token, username, rights), now))
}

/// A signed JWT for `username` valid for the configured lifetime.
pub(crate) fn issue_token(state: &AppState, username: &str, realm: &str, role: Role) -> String {
    let now = state.core.now();
    let mut nonce = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let claims = Claims {
        username: username.to_string(),
        realm: realm.to_string(),
        nonce: Some(hex::encode(nonce)),
        role,
        authtype: "password".into(),
        exp: now.max(0.0) as u64 + state.core.jwt_validity().as_secs(),
    };
    jwt::issue(state.core.jwt_secret(), &claims)
}

/// Admin actions Tessera implements, named as privacyIDEA's policy actions (the WebUI shows buttons by them).
const ADMIN_RIGHTS: &[&str] = &[
    "enable",
    "disable",
    "set",
    "setpin",
    "resync",
    "reset",
    "assign",
    "unassign",
    "importtokens",
    "delete",
    "userlist",
    "tokenrealms",
    "tokenlist",
    "configwrite",
    "configdelete",
    "configread",
    "policywrite",
    "policydelete",
    "policyread",
    "resolverwrite",
    "resolverdelete",
    "resolverread",
    "auditlog",
    "triggerchallenge",
];

/// `result.value` of a successful `/auth`, shaped like privacyIDEA 3.7's (01-auth-admin.json).
pub(crate) fn login_value(token: String, username: &str, rights: Vec<String>) -> Value {
    json!({
        "log_level": 20,
        "menus": ["audit", "users", "tokens", "config"],
        "realm": "",
        "rights": rights,
        "role": "admin",
        "token": token,
        "username": username,
        "logout_time": 120,
        "token_page_size": 15,
        "user_page_size": 15,
        "default_tokentype": "hotp",
        "user_details": false,
        "token_wizard": false,
        "token_wizard_2nd": false,
        "admin_dashboard": false,
        "dialog_no_token": false,
        "search_on_enter": false,
        // sic: privacyIDEA's WebUI compares against this spelling
        "timeout_action": "lockscreeen",
        "token_rollover": {},
        "hide_welcome": false,
        "hide_buttons": false,
        "show_seed": false,
        "show_node": "",
        "subscription_status": 0,
        "subscription_status_push": 0,
        "qr_image_android": null,
        "qr_image_ios": null,
        "qr_image_custom": null,
    })
}

/// `GET /auth/rights`: the loaded token types the administrator may enroll, `{type: description}`.
async fn rights(_admin: AdminAuth, State(state): State<AppState>) -> Reply {
    let map: Map<String, Value> = state
        .core
        .token_types()
        .into_iter()
        .map(|(name, description)| (name, Value::String(description)))
        .collect();
    Reply(Envelope::ok(Value::Object(map), state.core.now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn token(role: Role, exp: u64) -> String {
        let claims = Claims {
            username: "admin".into(),
            realm: String::new(),
            nonce: None,
            role,
            authtype: "password".into(),
            exp,
        };
        jwt::issue(SECRET, &claims)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn jwt_in_either_header_raw_or_bearer() {
        let t = token(Role::Admin, 2_000_000_000);
        for h in [
            headers(&[("authorization", &t)]),
            headers(&[("authorization", &format!("Bearer {t}"))]),
            headers(&[("authorization", &format!("bearer  {t}"))]),
            headers(&[("pi-authorization", &t)]),
            headers(&[("pi-authorization", &format!("Bearer {t}"))]),
            // PI-Authorization is read first (privacyIDEA's order)
            headers(&[
                ("pi-authorization", &t),
                ("authorization", "Basic YWxpY2U6c2VjcmV0"),
            ]),
            // an empty PI-Authorization falls back to Authorization
            headers(&[("pi-authorization", ""), ("authorization", &t)]),
        ] {
            let claims =
                admin_from_headers(&h, SECRET, 1.9e9).unwrap_or_else(|e| panic!("{h:?}: {e}"));
            assert_eq!(claims.username, "admin");
        }
    }

    #[test]
    fn missing_header_is_4033() {
        for h in [headers(&[]), headers(&[("authorization", "")])] {
            let err = admin_from_headers(&h, SECRET, 1.9e9).unwrap_err();
            assert_eq!(err.kind.status_and_code(), (401, 4033));
            assert_eq!(
                err.message,
                "Authentication failure. Missing Authorization header."
            );
        }
    }

    #[test]
    fn users_are_refused_admin_endpoints() {
        let h = headers(&[("authorization", &token(Role::User, 2_000_000_000))]);
        let err = admin_from_headers(&h, SECRET, 1.9e9).unwrap_err();
        assert_eq!(err.kind.status_and_code(), (403, 4306));
    }

    #[test]
    fn expired_and_foreign_tokens() {
        let h = headers(&[("authorization", &token(Role::Admin, 1000))]);
        assert_eq!(
            admin_from_headers(&h, SECRET, 1.9e9)
                .unwrap_err()
                .kind
                .status_and_code(),
            (401, 4305)
        );
        let h = headers(&[("authorization", "Bearer not.a.jwt")]);
        assert_eq!(
            admin_from_headers(&h, SECRET, 1.9e9)
                .unwrap_err()
                .kind
                .status_and_code(),
            (401, 4304)
        );
    }

    #[test]
    fn login_value_has_every_key_privacyidea_sends() {
        let path = format!(
            "{}/../../tests/e2e/captured/01-auth-admin.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let captured: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let want = captured["response"]["result"]["value"].as_object().unwrap();
        let got = login_value(
            "t".into(),
            "admin",
            vec!["enrollHOTP".into(), "enrollTOTP".into(), "tokenlist".into()],
        );
        let got = got.as_object().unwrap();
        let mut missing: Vec<&String> = want
            .keys()
            .filter(|k| !got.contains_key(*k) && *k != "policy_template_url")
            .collect();
        missing.sort();
        assert!(missing.is_empty(), "missing keys: {missing:?}");
        for (k, v) in got {
            let w = &want[k];
            assert_eq!(
                std::mem::discriminant(v),
                std::mem::discriminant(w),
                "type of {k}"
            );
        }
        let rights: Vec<&str> = got["rights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(
            rights.contains(&"enrollHOTP")
                && rights.contains(&"enrollTOTP")
                && rights.contains(&"tokenlist")
        );
        assert_eq!(got["role"], "admin");
        assert_eq!(got["realm"], "");
    }

    // ---- through the router, over a real core ----

    use crate::state::testing::{T0, app};
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;

    async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, Value) {
        let response = crate::router(state.clone()).oneshot(req).await.unwrap();
        let status = response.status();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn login_request(body: &str) -> Request<Body> {
        Request::post("/auth")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    fn get(path: &str, auth: Option<&str>) -> Request<Body> {
        let mut req = Request::get(path);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        req.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn login_issues_a_token_that_opens_admin_endpoints_until_it_expires() {
        let t = app().await;
        let (status, body) =
            send(&t.state, login_request("username=admin&password=adminpass")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["status"], true);
        assert_eq!(body["time"], T0);
        let value = &body["result"]["value"];
        assert_eq!(
            (&value["role"], &value["username"], &value["realm"]),
            (&json!("admin"), &json!("admin"), &json!(""))
        );
        let token = value["token"].as_str().unwrap();
        let claims = jwt::verify(t.state.core.jwt_secret(), token, T0).unwrap();
        assert_eq!(claims.exp, T0 as u64 + 3600);
        assert_eq!(claims.nonce.as_ref().map(String::len), Some(40));

        // JSON body, as the Keycloak and PHP clients send it; a new nonce each time
        let req = Request::post("/auth")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"username":"admin","password":"adminpass"}"#))
            .unwrap();
        let (status, again) = send(&t.state, req).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_ne!(again["result"]["value"]["token"], value["token"]);

        let (status, rights) = send(&t.state, get("/auth/rights", Some(token))).await;
        assert_eq!(status, StatusCode::OK, "{rights}");
        assert!(rights["result"]["value"].is_object());
        let (status, _) = send(
            &t.state,
            get("/auth/rights", Some(&format!("Bearer {token}"))),
        )
        .await;
        assert_eq!(status, StatusCode::OK);

        t.clock.set(T0 + 3599.0);
        assert_eq!(
            send(&t.state, get("/auth/rights", Some(token))).await.0,
            StatusCode::OK
        );
        t.clock.set(T0 + 3600.0);
        let (status, body) = send(&t.state, get("/auth/rights", Some(token))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["result"]["error"]["code"], 4305);
    }

    #[tokio::test]
    async fn login_failures_match_privacyidea() {
        let t = app().await;
        let path = format!(
            "{}/../../tests/e2e/captured/02-auth-admin-wrong-password.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let captured: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for body in [
            "username=admin&password=wrong",
            "username=nobody&password=adminpass",
            "username=admin&password=",
            "username=admin",
            "username=admin&password=adminpass&realm=realm1",
        ] {
            let (status, got) = send(&t.state, login_request(body)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            assert_eq!(got["result"], captured["response"]["result"], "{body}");
            assert_eq!(got["detail"], captured["response"]["detail"], "{body}");
        }
        let (status, got) = send(&t.state, login_request("password=adminpass")).await;
        assert_eq!(
            (status, &got["result"]["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!(4031))
        );
    }

    #[tokio::test]
    async fn admin_endpoints_refuse_missing_and_foreign_tokens() {
        let t = app().await;
        let (status, body) = send(&t.state, get("/auth/rights", None)).await;
        assert_eq!(
            (status, &body["result"]["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!(4033))
        );
        let foreign = token(Role::Admin, 9_999_999_999);
        let (status, body) = send(&t.state, get("/auth/rights", Some(&foreign))).await;
        assert_eq!(
            (status, &body["result"]["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!(4304))
        );
        let (status, body) = send(&t.state, get("/auth", None)).await;
        assert_eq!(
            (status, &body["result"]["error"]["code"]),
            (StatusCode::METHOD_NOT_ALLOWED, &json!(405))
        );
    }
}
