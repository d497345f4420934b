//! A small client for the Tessera (privacyIDEA-compatible) REST API: POST /auth, GET /token/, POST /token/init,
//! POST /token/load (a multipart upload streamed from the file).

use std::io::{Cursor, Read};
use std::time::Duration;

use rand::RngCore;
use serde_json::Value;
use thiserror::Error;
use zeroize::Zeroizing;

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

    fn authorized(&self, req: ureq::Request) -> ureq::Request {
        match &self.jwt {
            Some(jwt) => req.set("Authorization", jwt),
            None => req,
        }
    }

    fn call(
        &self,
        req: ureq::Request,
        form: Option<&[(&str, &str)]>,
        what: &str,
    ) -> Result<Value, ServerError> {
        let req = self.authorized(req);
        let result = match form {
            Some(f) => req.send_form(f),
            None => req.call(),
        };
        self.answer(result, what)
    }

    /// The JSON of a privacyIDEA answer with `result.status` true, else why not.
    fn answer(
        &self,
        result: Result<ureq::Response, ureq::Error>,
        what: &str,
    ) -> Result<Value, ServerError> {
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

    /// `POST /token/load/<filename>`: uploads `file` (`len` bytes) as multipart/form-data with the
    /// text `fields` (`type`, `psk`, `password`, `tokenrealms`, `overwrite`) before it.
    pub fn load_tokens(
        &self,
        filename: &str,
        file: impl Read,
        len: u64,
        fields: &[(&str, &str)],
    ) -> Result<LoadReport, ServerError> {
        let name = upload_name(filename);
        let boundary = format!("tessera-hwtool-{}", hex::encode(random16()));
        let (head, tail) = multipart_frame(&boundary, fields, &name);
        let total = head.len() as u64 + len + tail.len() as u64;
        let req = self
            .authorized(self.agent.post(&format!("{}/token/load/{name}", self.base)))
            .set(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .set("Content-Length", &total.to_string())
            // A large file takes the server a while to read and import.
            .timeout(Duration::from_secs(3600));
        let body = Cursor::new(head)
            .chain(file.take(len))
            .chain(Cursor::new(tail));
        let json = self.answer(req.send(body), "the import")?;
        LoadReport::from_answer(&json).ok_or_else(|| ServerError::BadAnswer {
            what: "POST /token/load".into(),
            detail: "no n_imported / n_not_imported in the answer".into(),
        })
    }
}

/// The answer to `POST /token/load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    pub n_imported: u64,
    pub n_not_imported: u64,
    /// The rows or key packages that were not imported, as far as the server lists them.
    pub not_imported: Vec<NotImported>,
    /// Failures the server counted but did not list.
    pub not_listed: u64,
}

/// One row or key package the server did not import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotImported {
    pub line: Option<u64>,
    pub serial: Option<String>,
    pub reason: String,
}

impl LoadReport {
    fn from_answer(json: &Value) -> Option<LoadReport> {
        let value = &json["result"]["value"];
        let detail = &json["detail"];
        let not_imported = detail["not_imported"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|n| NotImported {
                        line: n["line"].as_u64(),
                        serial: n["serial"].as_str().map(str::to_string),
                        reason: n["reason"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(LoadReport {
            n_imported: value["n_imported"].as_u64()?,
            n_not_imported: value["n_not_imported"].as_u64()?,
            not_imported,
            not_listed: detail["not_listed"].as_u64().unwrap_or(0),
        })
    }
}

fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// The file name as sent in the path and the part header: its last component, with only
/// `[A-Za-z0-9._-]` kept (anything else becomes `_`).
fn upload_name(filename: &str) -> String {
    let base = filename.rsplit('/').next().unwrap_or_default();
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.trim_matches('.').is_empty() {
        "upload".to_string()
    } else {
        name
    }
}

/// What goes before and after the file's bytes: the text fields, the file part's header, the closing
/// boundary. The head may hold a PSK or password, so it is wiped when dropped.
fn multipart_frame(
    boundary: &str,
    fields: &[(&str, &str)],
    filename: &str,
) -> (Zeroizing<Vec<u8>>, Vec<u8>) {
    let mut head = Zeroizing::new(Vec::new());
    for (name, value) in fields {
        head.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    (head, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_frame_around_the_file() {
        let (head, tail) = multipart_frame(
            "B",
            &[("type", "pskc"), ("tokenrealms", "r1,r2")],
            "keys.pskc",
        );
        let mut body = head.to_vec();
        body.extend_from_slice(b"<xml/>");
        body.extend_from_slice(&tail);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "--B\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\npskc\r\n\
             --B\r\nContent-Disposition: form-data; name=\"tokenrealms\"\r\n\r\nr1,r2\r\n\
             --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"keys.pskc\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n<xml/>\r\n--B--\r\n"
        );
    }

    #[test]
    fn upload_names_are_safe_in_a_path_and_a_header() {
        assert_eq!(upload_name("/tmp/keys.csv"), "keys.csv");
        assert_eq!(upload_name("my \"keys\"?.csv"), "my__keys__.csv");
        assert_eq!(upload_name("Schlüssel.csv"), "Schl_ssel.csv");
        assert_eq!(upload_name(".."), "upload");
        assert_eq!(upload_name("dir/"), "upload");
    }

    #[test]
    fn the_load_answer_with_failures() {
        let json: Value = serde_json::from_str(
            r#"{"result": {"status": true, "value": {"n_imported": 1, "n_not_imported": 2}},
                "detail": {"not_imported": [{"line": 3, "serial": "UBSM1_X", "reason": "static"},
                                            {"line": 4, "serial": null, "reason": "5 columns"}],
                           "not_listed": 0}}"#,
        )
        .unwrap();
        let r = LoadReport::from_answer(&json).unwrap();
        assert_eq!((r.n_imported, r.n_not_imported, r.not_listed), (1, 2, 0));
        assert_eq!(
            r.not_imported[1],
            NotImported {
                line: Some(4),
                serial: None,
                reason: "5 columns".into()
            }
        );
        let clean: Value = serde_json::from_str(
            r#"{"result": {"value": {"n_imported": 2, "n_not_imported": 0}}}"#,
        )
        .unwrap();
        assert!(
            LoadReport::from_answer(&clean)
                .unwrap()
                .not_imported
                .is_empty()
        );
    }
}
