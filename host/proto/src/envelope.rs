//! The JSON envelope every answer has: `{jsonrpc, id, version, versionnumber, time, result, detail}`.

use serde::Serialize;
use serde_json::Value;

use crate::error::PiError;

/// The version string clients see. Clients compare it, so it names the privacyIDEA API level.
pub const VERSION: &str = "privacyIDEA 3.7.1";
pub const VERSION_NUMBER: &str = "3.7.1";

/// `result` of a successful or failed call.
#[derive(Clone, Debug, Serialize)]
pub struct ResultBody {
    pub status: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// `ACCEPT` / `REJECT` / `CHALLENGE` on `/validate/*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorBody {
    pub code: i64,
    pub message: String,
}

/// The whole answer.
#[derive(Clone, Debug, Serialize)]
pub struct Envelope {
    pub jsonrpc: &'static str,
    /// privacyIDEA answers 2 for `/validate/*` and 1 elsewhere; clients ignore it.
    pub id: u32,
    pub version: &'static str,
    pub versionnumber: &'static str,
    /// Unix time with fractions.
    pub time: f64,
    pub result: ResultBody,
    /// Omitted when `None` (privacyIDEA omits it on admin successes and sends null on errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

impl Envelope {
    pub fn ok(value: Value, time: f64) -> Self {
        Envelope {
            jsonrpc: "2.0",
            id: 1,
            version: VERSION,
            versionnumber: VERSION_NUMBER,
            time,
            result: ResultBody {
                status: true,
                value: Some(value),
                authentication: None,
                error: None,
            },
            detail: None,
        }
    }
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }
    /// A `/validate/*` answer: `result.value` = accept, `result.authentication`, `detail`.
    pub fn auth(authentication: &'static str, value: bool, detail: Value, time: f64) -> Self {
        let mut e = Self::ok(Value::Bool(value), time).with_detail(detail);
        e.id = 2;
        e.result.authentication = Some(authentication);
        e
    }
    pub fn error(err: &PiError, time: f64) -> Self {
        let (_, code) = err.kind.status_and_code();
        Envelope {
            jsonrpc: "2.0",
            id: 1,
            version: VERSION,
            versionnumber: VERSION_NUMBER,
            time,
            result: ResultBody {
                status: false,
                value: None,
                authentication: None,
                error: Some(ErrorBody {
                    code,
                    message: err.message.clone(),
                }),
            },
            detail: Some(Value::Null),
        }
    }
}
