//! tessera-policy: privacyIDEA-style policies: the action catalogue, parsing `POST /policy/<name>`,
//! the stored model, and fast matching of a request against a compiled policy set.
//! Pure: no I/O, no store, no clock (the caller passes `now`).
//!
//! ```
//! use tessera_policy::{ActionValue, Catalogue, Policy, PolicySet, Query, Scope};
//!
//! let catalogue = Catalogue::new(&["hotp".into(), "totp".into()]);
//! let params = [("scope", "authentication"), ("action", "otppin=userstore"), ("realm", "realm1")];
//! let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
//! let policy = Policy::from_params("pol_userstore", get, &catalogue).unwrap();
//!
//! let set = PolicySet::compile(vec![policy]);
//! let query = Query::new(Scope::Authentication, 1_704_103_200).realm("realm1").user("alice");
//! let matched = set.matching(&query);
//! assert_eq!(matched.value("otppin").unwrap(), Some(&ActionValue::Str("userstore".into())));
//! assert_eq!(matched.policy_names(), ["pol_userstore"]);
//! // No admin policy yet: administrators may do everything.
//! assert!(set.allows("delete", &Query::new(Scope::Admin, 0).adminuser("admin")).yes);
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod actions;
pub mod catalogue;
mod compile;
mod matching;
mod model;
mod parse;
pub mod scope;
mod timespec;
pub mod value;

pub use catalogue::{ActionDef, ActionKind, Catalogue, Check};
pub use compile::PolicySet;
pub use matching::{Allowed, Matched, Query};
pub use model::Policy;
pub use parse::{check_name, parse_actions};
pub use scope::Scope;
pub use value::ActionValue;
