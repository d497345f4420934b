//! One audit entry (one HTTP request) and the column names privacyIDEA's `GET /audit/` knows.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// What the server records for one request.
/// `None` and `Some("")` are kept apart because privacyIDEA's answers show both (`null` and `""`).
/// The field order is part of the on-disk format: the hash covers this struct's JSON in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Method and route, e.g. `POST /validate/check`.
    pub action: String,
    /// Whether the request did what it was asked.
    pub success: bool,
    /// `ACCEPT`, `REJECT`, `CHALLENGE`, `DECLINED` ... (validate endpoints only).
    pub authentication: Option<String>,
    pub serial: Option<String>,
    pub token_type: Option<String>,
    pub user: Option<String>,
    pub realm: Option<String>,
    pub resolver: Option<String>,
    /// The admin who called an admin endpoint.
    pub administrator: Option<String>,
    pub action_detail: Option<String>,
    pub info: Option<String>,
    /// Client IP address.
    pub client: Option<String>,
    pub user_agent: Option<String>,
    /// Names of the policies that took part, comma-separated.
    pub policies: Option<String>,
    /// When the request arrived.
    pub startdate: Timestamp,
    /// When the answer was ready.
    pub date: Timestamp,
    /// Seconds between `startdate` and `date`.
    pub duration: f64,
    /// The node that served the request.
    pub privacyidea_server: Option<String>,
}

impl Entry {
    /// An entry for `action` that ran from `startdate` to `date`; every other column empty.
    pub fn new(action: impl Into<String>, startdate: Timestamp, date: Timestamp) -> Entry {
        Entry {
            action: action.into(),
            success: false,
            authentication: None,
            serial: None,
            token_type: None,
            user: None,
            realm: None,
            resolver: None,
            administrator: None,
            action_detail: None,
            info: None,
            client: None,
            user_agent: None,
            policies: None,
            startdate,
            date,
            duration: date.seconds_since(startdate),
            privacyidea_server: None,
        }
    }

    /// A text column by its `GET /audit/` name, for filtering.
    /// `Err(())` when `column` is not a text column of this table.
    pub(crate) fn text_column(&self, column: &str) -> Result<Option<&str>, ()> {
        let v = match column {
            "action" => return Ok(Some(&self.action)),
            "authentication" => &self.authentication,
            "serial" => &self.serial,
            "token_type" => &self.token_type,
            "user" => &self.user,
            "realm" => &self.realm,
            "resolver" => &self.resolver,
            "administrator" => &self.administrator,
            "action_detail" => &self.action_detail,
            "info" => &self.info,
            "client" => &self.client,
            "user_agent" => &self.user_agent,
            "policies" => &self.policies,
            "privacyidea_server" => &self.privacyidea_server,
            _ => return Err(()),
        };
        Ok(v.as_deref())
    }
}

/// The columns of `GET /audit/` in privacyIDEA 3.7's order (capture 97), then the two this log adds.
pub const AUDIT_COLUMNS: [&str; 23] = [
    "number",
    "action",
    "success",
    "serial",
    "date",
    "startdate",
    "duration",
    "token_type",
    "user",
    "realm",
    "administrator",
    "action_detail",
    "info",
    "privacyidea_server",
    "client",
    "log_level",
    "policies",
    "clearance_level",
    "sig_check",
    "missing_line",
    "resolver",
    "authentication",
    "user_agent",
];
