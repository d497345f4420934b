//! The policy scopes (privacyIDEA spellings): parse, display, serde.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tessera_proto::PiError;

/// Where a policy applies. Spelled as privacyIDEA spells it on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `/validate/*`: how users authenticate.
    Authentication,
    /// After a successful authentication: whether it is accepted and what the answer holds.
    Authorization,
    /// Token enrollment: limits, labels, OTP parameters.
    Enrollment,
    /// Rights of administrators, per realm/resolver/user of the object.
    Admin,
    /// Self-service rights of users.
    User,
    /// Settings of the web UI.
    Webui,
    /// Reserved for system-wide settings; it has no actions yet.
    System,
}

impl Scope {
    /// Every scope, in the order `GET /policy/defs` lists them.
    pub const ALL: [Scope; 7] = [
        Scope::Admin,
        Scope::Authentication,
        Scope::Authorization,
        Scope::Enrollment,
        Scope::System,
        Scope::User,
        Scope::Webui,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Authentication => "authentication",
            Scope::Authorization => "authorization",
            Scope::Enrollment => "enrollment",
            Scope::Admin => "admin",
            Scope::User => "user",
            Scope::Webui => "webui",
            Scope::System => "system",
        }
    }

    /// A dense number for per-scope tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = PiError;

    /// Exact privacyIDEA spelling; anything else is a 905 error that lists the known scopes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                PiError::parameter(format!(
                    "Unknown policy scope '{s}'. Known scopes: {}.",
                    known.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_name_and_serde() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{scope}\""));
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
    }

    #[test]
    fn unknown_scope_is_a_parameter_error_naming_it() {
        let err = "nosuchscope".parse::<Scope>().unwrap_err();
        assert_eq!(err.kind.status_and_code(), (400, 905));
        assert_eq!(
            err.message,
            "ERR905: Unknown policy scope 'nosuchscope'. Known scopes: admin, authentication, \
             authorization, enrollment, system, user, webui."
        );
        assert!("Admin".parse::<Scope>().is_err(), "spelling is exact");
    }
}
