//! A small client for the Tessera (privacyIDEA-compatible) REST API: POST /auth, GET /token/, POST /token/init.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

/// What can go wrong talking to the server.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot reach the server at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("the server refused {what} (HTTP {status}): {message}")]
    Refused {
        what: String,
        status: u16,
        message: String,
    },
    #[error("unexpected answer to {what}: {detail}")]
    BadAnswer { what: String, detail: String },
}

/// A server session: base URL and, after `login`, the admin's JWT.
pub struct Server {
    base: String,
    agent: ureq::Agent,
    jwt: Option<String>,
}

impl Server {
    pub fn new(base: &str) -> Server {
        Server {
            base: base.trim_end_matches('/').to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
            jwt: None,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn call(
        &self,
        req: ureq::Request,
        form: Option<&[(&str, &str)]>,
        what: &str,
    ) -> Result<Value, ServerError> {
        let req = match &self.jwt {
            Some(jwt) => req.set("Authorization", jwt),
            None => req,
        };
        let result = match form {
            Some(f) => req.send_form(f),
            None => req.call(),
        };
        let (status, resp) = match result {
            Ok(r) => (r.status(), r),
            Err(ureq::Error::Status(code, r)) => (code, r),
            Err(ureq::Error::Transport(t)) => {
                return Err(ServerError::Unreachable {
                    url: self.base.clone(),
                    cause: t.to_string(),
                });
            }
        };
        let body = resp.into_string().unwrap_or_default();
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status == 200 && json["result"]["status"] == Value::Bool(true) {
            return Ok(json);
        }
        let message = json["result"]["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| body.chars().take(200).collect());
        Err(ServerError::Refused {
            what: what.to_string(),
            status,
            message,
        })
    }

    /// `POST /auth`; keeps the JWT for the following calls.
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), ServerError> {
        let req = self.agent.post(&format!("{}/auth", self.base));
        let json = self.call(
            req,
            Some(&[("username", user), ("password", password)]),
            "the login",
        )?;
        match json["result"]["value"]["token"].as_str() {
            Some(t) => {
                self.jwt = Some(t.to_string());
                Ok(())
            }
            None => Err(ServerError::BadAnswer {
                what: "POST /auth".into(),
                detail: "no token in the answer".into(),
            }),
        }
    }

    /// Whether a token with this serial exists (`GET /token/?serial=`).
    pub fn token_exists(&self, serial: &str) -> Result<bool, ServerError> {
        let req = self
            .agent
            .get(&format!("{}/token/", self.base))
            .query("serial", serial);
        let json = self.call(req, None, "the token lookup")?;
        match json["result"]["value"]["tokens"].as_array() {
            Some(t) => Ok(!t.is_empty()),
            None => Err(ServerError::BadAnswer {
                what: "GET /token/".into(),
                detail: "no token list in the answer".into(),
            }),
        }
    }

    /// `POST /token/init` with these form parameters.
    pub fn init_token(&self, params: &[(&str, &str)]) -> Result<Value, ServerError> {
        let req = self.agent.post(&format!("{}/token/init", self.base));
        self.call(req, Some(params), "creating the token")
    }
}
