//! privacyIDEA's wire shapes: request parameters, the response envelope, error codes. No logic.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod envelope;
pub mod error;
pub mod params;
pub mod types;

pub use envelope::Envelope;
pub use error::{ErrorKind, PiError};
pub use params::Params;
