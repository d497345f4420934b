//! The `Input` extractor: the query string and the body (form, JSON or empty) merged into one
//! `tessera_proto::Params`, as privacyIDEA's `get_all_params` does. Bad input is a 400/905 privacyIDEA error.

use std::ops::{Deref, DerefMut};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use percent_encoding::percent_decode;
use serde_json::Value;
use tessera_proto::{Params, PiError};

use crate::error::ApiError;

/// The largest request body accepted (the router installs it as axum's `DefaultBodyLimit`).
pub const BODY_LIMIT: usize = 1 << 20;

/// All parameters of a request: query string first, then the body; a later value for a key replaces an earlier one.
///
/// Bodies: `application/x-www-form-urlencoded`, `application/json` (an object; strings, numbers and booleans
/// become strings, `null` is skipped, nested arrays/objects become their JSON text), or empty (any content type).
/// A request without `Content-Type` but with a body is read as a form, as curl's `-d` sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input(pub Params);

impl Deref for Input {
    type Target = Params;
    fn deref(&self) -> &Params {
        &self.0
    }
}

impl DerefMut for Input {
    fn deref_mut(&mut self) -> &mut Params {
        &mut self.0
    }
}

impl<S: Send + Sync> FromRequest<S> for Input {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let note = crate::audit::AuditNote::in_extensions(req.extensions());
        let mut params = Params::new();
        if let Some(query) = req.uri().query() {
            parse_form(query.as_bytes(), &mut params)
                .map_err(|e| PiError::parameter(format!("Invalid query string: {e}")))?;
        }
        let content_type = match req.headers().get(header::CONTENT_TYPE) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| PiError::parameter("The Content-Type header is not valid text."))?
                    .to_owned(),
            ),
        };
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(BODY_LIMIT)
            } else {
                PiError::parameter(format!(
                    "Could not read the request body: {}",
                    rejection.body_text()
                ))
                .into()
            }
        })?;
        parse_body(content_type.as_deref(), &body, &mut params)?;
        // privacyIDEA echoes a request's `nonce` in every signed answer.
        if let Some(nonce) = params.get_nonempty("nonce") {
            note.set(|n| n.nonce = Some(nonce.to_string()));
        }
        Ok(Input(params))
    }
}

/// Adds the parameters of `body` (sent with `content_type`) to `params`.
pub fn parse_body(
    content_type: Option<&str>,
    body: &[u8],
    params: &mut Params,
) -> Result<(), PiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let mime = content_type.map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match mime.as_deref() {
        None | Some("") | Some("application/x-www-form-urlencoded") => parse_form(body, params)
            .map_err(|e| PiError::parameter(format!("Invalid form body: {e}"))),
        Some(m)
            if m == "application/json"
                || (m.starts_with("application/") && m.ends_with("+json")) =>
        {
            parse_json(body, params)
        }
        Some(m) => Err(PiError::parameter(format!(
            "Unsupported Content-Type '{m}': send parameters as application/x-www-form-urlencoded or application/json."
        ))),
    }
}

/// Adds `a=1&b=x+y` pairs (percent-decoded, `+` as space) to `params`.
pub fn parse_form(input: &[u8], params: &mut Params) -> Result<(), String> {
    for pair in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let key = decode_component(key)?;
        if key.is_empty() {
            continue;
        }
        let value = decode_component(value)?;
        params.insert(key, value);
    }
    Ok(())
}

fn decode_component(raw: &[u8]) -> Result<String, String> {
    let bytes: Vec<u8> = if raw.contains(&b'+') {
        let plus_as_space: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_decode(&plus_as_space).collect()
    } else {
        percent_decode(raw).collect()
    };
    String::from_utf8(bytes)
        .map_err(|_| format!("'{}' is not valid UTF-8", String::from_utf8_lossy(raw)))
}

fn parse_json(body: &[u8], params: &mut Params) -> Result<(), PiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PiError::parameter(format!("Invalid JSON body: {e}")))?;
    let Value::Object(map) = value else {
        return Err(PiError::parameter(format!(
            "The JSON body must be an object of parameters, not {}.",
            json_kind(&value)
        )));
    };
    for (key, value) in map {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            nested @ (Value::Array(_) | Value::Object(_)) => nested.to_string(),
        };
        params.insert(key, text);
    }
    Ok(())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    /// Runs the extractor on a request as a client would send it.
    async fn extract(
        method: &str,
        uri: &str,
        ctype: Option<&str>,
        body: impl Into<Body>,
    ) -> Result<Params, ApiError> {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = ctype {
            req = req.header(header::CONTENT_TYPE, c);
        }
        Input::from_request(req.body(body.into()).unwrap(), &())
            .await
            .map(|i| i.0)
    }

    fn pairs(p: &Params) -> Vec<(&str, &str)> {
        p.iter().collect()
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json");

    #[tokio::test]
    async fn form_body_as_privacyidea_clients_send_it() {
        let p = extract(
            "POST",
            "/validate/check",
            FORM,
            "user=alice&pass=1234%20287082&realm=r+1",
        )
        .await
        .unwrap();
        assert_eq!(
            pairs(&p),
            [("pass", "1234 287082"), ("realm", "r 1"), ("user", "alice")]
        );
        let p = extract(
            "POST",
            "/x",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "a=%C3%A9&b",
        )
        .await
        .unwrap();
        assert_eq!(pairs(&p), [("a", "é"), ("b", "")]);
        // curl -d without a Content-Type header
        assert_eq!(
            pairs(&extract("POST", "/x", None, "a=1").await.unwrap()),
            [("a", "1")]
        );
    }

    #[tokio::test]
    async fn query_and_body_merge_body_wins_and_last_repeat_wins() {
        let p = extract("GET", "/token/?serial=S1&page=2&serial=S2", None, "")
            .await
            .unwrap();
        assert_eq!(pairs(&p), [("page", "2"), ("serial", "S2")]);
        let p = extract("POST", "/x?a=query&q=1", FORM, "a=body&a=body2")
            .await
            .unwrap();
        assert_eq!(pairs(&p), [("a", "body2"), ("q", "1")]);
        let p = extract("DELETE", "/x?a=1", JSON, "").await.unwrap();
        assert_eq!(pairs(&p), [("a", "1")]);
    }

    #[tokio::test]
    async fn json_values_become_strings() {
        let body = r#"{"user":"alice","otplen":8,"genkey":true,"x":null,"f":1.5,"realms":["a","b"],"o":{"k":1}}"#;
        let p = extract(
            "POST",
            "/token/init",
            Some("application/json; charset=utf-8"),
            body,
        )
        .await
        .unwrap();
        assert_eq!(
            pairs(&p),
            [
                ("f", "1.5"),
                ("genkey", "true"),
                ("o", r#"{"k":1}"#),
                ("otplen", "8"),
                ("realms", r#"["a","b"]"#),
                ("user", "alice")
            ]
        );
        assert_eq!(p.bool_or("genkey", false), Ok(true));
    }

    #[tokio::test]
    async fn empty_bodies_are_fine_with_any_content_type() {
        for ctype in [None, FORM, JSON, Some("text/plain")] {
            assert_eq!(
                extract("POST", "/auth", ctype, "").await.unwrap(),
                Params::new(),
                "{ctype:?}"
            );
        }
    }

    /// A 400 with code 905 and a message containing `needle`.
    async fn rejects(ctype: Option<&str>, body: impl Into<Body>, needle: &str) {
        let err = extract("POST", "/x", ctype, body).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(err.error.kind.status_and_code(), (400, 905));
        assert!(
            err.error.message.starts_with("ERR905: "),
            "{}",
            err.error.message
        );
        assert!(
            err.error.message.contains(needle),
            "{} lacks {needle}",
            err.error.message
        );
    }

    #[tokio::test]
    async fn bad_input_is_a_clear_400() {
        rejects(JSON, "{\"user\": ", "Invalid JSON body").await;
        rejects(
            JSON,
            "[1,2]",
            "must be an object of parameters, not an array",
        )
        .await;
        rejects(JSON, "\"x\"", "not a string").await;
        rejects(JSON, &b"{\"a\":\"\xff\"}"[..], "Invalid JSON body").await;
        rejects(FORM, &b"a=\xff\xfe"[..], "not valid UTF-8").await;
        rejects(FORM, "a=%FF", "not valid UTF-8").await;
        rejects(
            Some("text/plain"),
            "user=alice",
            "Unsupported Content-Type 'text/plain'",
        )
        .await;
        rejects(
            Some("multipart/form-data; boundary=x"),
            "--x--",
            "Unsupported Content-Type",
        )
        .await;
        let err = extract("GET", "/x?a=%FF", None, "").await.unwrap_err();
        assert!(
            err.error.message.contains("Invalid query string"),
            "{}",
            err.error.message
        );
    }

    #[tokio::test]
    async fn oversized_body_is_413() {
        use axum::Router;
        use axum::extract::DefaultBodyLimit;
        use axum::routing::post;
        use tower::ServiceExt;
        let app = Router::new()
            .route(
                "/x",
                post(|Input(p): Input| async move { p.get("a").unwrap_or("").len().to_string() }),
            )
            .layer(DefaultBodyLimit::max(BODY_LIMIT));
        let big = format!("a={}", "x".repeat(BODY_LIMIT));
        let req =
            Request::post("/x").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let response = app
            .clone()
            .oneshot(req.body(Body::from(big)).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["result"]["error"]["code"], 905);

        let ok = format!("a={}", "x".repeat(BODY_LIMIT - 10));
        let req =
            Request::post("/x").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let response = app
            .oneshot(req.body(Body::from(ok)).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
