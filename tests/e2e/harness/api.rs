//! A small HTTP client for the privacyIDEA API (ureq) and the response type the tests inspect.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::at_rest::contains;

/// A client bound to one server, optionally sending an `Authorization` header.
#[derive(Clone)]
pub struct Api {
    base: String,
    agent: ureq::Agent,
    auth: Option<String>,
}

/// One answer: HTTP status, content type, raw body and the body parsed as JSON (`Null` if it is not JSON).
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub json: Value,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api::with_timeout(base, Duration::from_secs(60))
    }

    pub fn with_timeout(base: &str, timeout: Duration) -> Api {
        let agent = ureq::AgentBuilder::new().timeout(timeout).build();
        Api {
            base: base.to_string(),
            agent,
            auth: None,
        }
    }

    /// The same client sending `Authorization: <header>` (a raw JWT, `Bearer <jwt>` or garbage).
    pub fn with_auth(&self, header: &str) -> Api {
        Api {
            auth: Some(header.to_string()),
            ..self.clone()
        }
    }

    /// The same client with another request timeout.
    pub fn timeout(&self, timeout: Duration) -> Api {
        Api {
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
            ..self.clone()
        }
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let req = self
            .agent
            .request(method, &format!("{}{}", self.base, path));
        match &self.auth {
            Some(h) => req.set("Authorization", h),
            None => req,
        }
    }

    /// POST with a form body.
    pub fn post(&self, path: &str, params: &[(&str, &str)]) -> Resp {
        expect_transport(self.try_post(path, params), "POST", path)
    }

    /// POST with a form body; a transport error (timeout, reset) is returned instead of panicking.
    pub fn try_post(&self, path: &str, params: &[(&str, &str)]) -> Result<Resp, String> {
        finish(self.request("POST", path).send_form(params))
    }

    /// GET with query parameters.
    pub fn get(&self, path: &str, params: &[(&str, &str)]) -> Resp {
        let mut req = self.request("GET", path);
        for (k, v) in params {
            req = req.query(k, v);
        }
        expect_transport(finish(req.call()), "GET", path)
    }

    pub fn delete(&self, path: &str) -> Resp {
        expect_transport(finish(self.request("DELETE", path).call()), "DELETE", path)
    }

    /// POST with a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.raw("POST", path, Some("application/json"), &body.to_string())
    }

    /// Any method, any body, any content type.
    pub fn raw(&self, method: &str, path: &str, content_type: Option<&str>, body: &str) -> Resp {
        let mut req = self.request(method, path);
        if let Some(ct) = content_type {
            req = req.set("Content-Type", ct);
        }
        let result = if body.is_empty() {
            req.call()
        } else {
            req.send_string(body)
        };
        expect_transport(finish(result), method, path)
    }

    /// `POST path` as `multipart/form-data`: the text `fields`, then `file` in the field `file`
    /// (the upload of `POST /token/load/<filename>`; its file name is the last path segment).
    pub fn upload(&self, path: &str, fields: &[(&str, &str)], file: &[u8]) -> Resp {
        let name = path.rsplit('/').next().unwrap_or("upload");
        let mut parts: Vec<Part> = fields
            .iter()
            .map(|(k, v)| Part::text(k, v.as_bytes()))
            .collect();
        parts.push(Part::file("file", name, file));
        self.multipart(path, &parts)
    }

    /// `POST path` with these multipart parts in this order. ureq has no multipart support, so the
    /// body is built here, with a boundary that occurs in no part.
    pub fn multipart(&self, path: &str, parts: &[Part<'_>]) -> Resp {
        let mut n = 0u32;
        let boundary = loop {
            let b = format!("tessera-e2e-boundary-{n}");
            if !parts.iter().any(|p| contains(p.body, b.as_bytes())) {
                break b;
            }
            n += 1;
        };
        let mut body = Vec::new();
        for p in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let disposition = match p.filename {
                Some(f) => format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                    p.name
                ),
                None => format!(
                    "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                    p.name
                ),
            };
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(p.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = self.request("POST", path).set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        );
        expect_transport(finish(req.send_bytes(&body)), "POST", path)
    }

    /// `POST /validate/check` (no credentials needed).
    pub fn check(&self, params: &[(&str, &str)]) -> Resp {
        self.post("/validate/check", params)
    }

    /// `POST /token/init`; panics unless the token was created. Returns the answer.
    pub fn init_token(&self, params: &[(&str, &str)]) -> Resp {
        let resp = self.post("/token/init", params);
        resp.expect_ok();
        resp
    }

    /// `GET /token/?serial=S` and the one token in it.
    pub fn token_info(&self, serial: &str) -> Value {
        let resp = self.get("/token/", &[("serial", serial)]);
        resp.expect_ok();
        let tokens = resp.json["result"]["value"]["tokens"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(tokens.len(), 1, "GET /token/?serial={serial}: {resp}");
        tokens[0].clone()
    }
}

/// One part of a `multipart/form-data` body: a text field, or a file when it has a file name.
#[derive(Clone, Copy, Debug)]
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> Part<'a> {
    pub fn text(name: &'a str, body: &'a [u8]) -> Part<'a> {
        Part {
            name,
            filename: None,
            body,
        }
    }

    pub fn file(name: &'a str, filename: &'a str, body: &'a [u8]) -> Part<'a> {
        Part {
            name,
            filename: Some(filename),
            body,
        }
    }
}

fn finish(result: Result<ureq::Response, ureq::Error>) -> Result<Resp, String> {
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return Err(t.to_string()),
    };
    let status = resp.status();
    let content_type = resp.header("Content-Type").unwrap_or("").to_string();
    let body = resp
        .into_string()
        .map_err(|e| format!("reading the body: {e}"))?;
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Ok(Resp {
        status,
        content_type,
        body,
        json,
    })
}

fn expect_transport(result: Result<Resp, String>, method: &str, path: &str) -> Resp {
    result.unwrap_or_else(|e| panic!("{method} {path}: transport error: {e}"))
}

impl Resp {
    /// Panics unless HTTP 200 and `result.status` is true.
    pub fn expect_ok(&self) -> &Resp {
        assert!(
            self.status == 200 && self.json["result"]["status"] == Value::Bool(true),
            "expected success, got {self}"
        );
        self
    }

    /// `result.authentication` (`ACCEPT`/`REJECT`) or "" if absent.
    pub fn authentication(&self) -> &str {
        self.json["result"]["authentication"].as_str().unwrap_or("")
    }

    /// `detail.message` or "" if absent.
    pub fn message(&self) -> &str {
        self.json["detail"]["message"].as_str().unwrap_or("")
    }

    /// `result.error.code`, if the answer is an error envelope.
    pub fn error_code(&self) -> Option<i64> {
        self.json["result"]["error"]["code"].as_i64()
    }

    /// Panics unless this is a `/validate/check` answer with this outcome and message.
    pub fn expect_auth(&self, authentication: &str, message: &str) -> &Resp {
        let accepted = authentication == "ACCEPT";
        assert!(
            self.status == 200
                && self.json["result"]["status"] == Value::Bool(true)
                && self.json["result"]["value"] == Value::Bool(accepted)
                && self.authentication() == authentication
                && self.message() == message,
            "expected {authentication} \"{message}\", got {self}"
        );
        self
    }

    /// Panics unless this is a privacyIDEA error envelope with this HTTP status and error code.
    pub fn expect_error(&self, status: u16, code: i64) -> &Resp {
        assert!(
            self.status == status
                && self.content_type.starts_with("application/json")
                && self.json["result"]["status"] == Value::Bool(false)
                && self.error_code() == Some(code)
                && self.json["result"]["error"]["message"].is_string(),
            "expected error {status}/{code}, got {self}"
        );
        self
    }
}

impl fmt::Display for Resp {
    /// Status, content type and body, with long strings (QR code images) cut short.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.json.is_null() {
            return write!(
                f,
                "HTTP {} ({}) {}",
                self.status, self.content_type, self.body
            );
        }
        let mut short = self.json.clone();
        shorten(&mut short);
        write!(f, "HTTP {} ({}) {short}", self.status, self.content_type)
    }
}

fn shorten(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > 160 => *s = format!("{}...({} chars)", &s[..60], s.len()),
        Value::Array(items) => items.iter_mut().for_each(shorten),
        Value::Object(map) => map.values_mut().for_each(shorten),
        _ => {}
    }
}
