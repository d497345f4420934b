//! tessera-audit: a signed, append-only audit log (one entry per request) with privacyIDEA's `GET /audit/`
//! search, offline verification, retention, and privacyIDEA's response signatures.
//!
//! Layout on disk (a directory chosen by the caller, e.g. `<data-dir>/audit/`): segment files
//! `audit-000001.jsonl`, `audit-000002.jsonl` ... of JSON lines. Each segment starts with a signed anchor,
//! then entries (hash-chained), each batch followed by a signed checkpoint of the chain head. See [`mod@chain`]
//! for the line formats, [`mod@writer`] for how entries get there, [`mod@verify`] for what is checked.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod batch;
pub mod chain;
pub mod entry;
pub mod keys;
pub mod pyjson;
pub mod rotate;
mod scan;
pub mod search;
pub mod segment;
pub mod time;
pub mod verify;
pub mod writer;

use std::path::{Path, PathBuf};

pub use chain::Hash32;
pub use entry::{AUDIT_COLUMNS, Entry};
pub use keys::{AuditKeys, AuditPublicKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};
pub use rotate::{Retention, RotateReport};
pub use search::{AuditRow, SearchPage, SearchQuery, SortOrder, search};
pub use time::Timestamp;
pub use verify::{Problem, ProblemKind, Report, verify};
pub use writer::{AuditConfig, AuditLog};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key could not be read, written or used.
    #[error("audit key: {0}")]
    Key(String),
    /// A search parameter is malformed (a client fault).
    #[error("{0}")]
    BadParameter(String),
    /// The writer thread could not make entries durable, or is gone.
    #[error("audit log writer: {0}")]
    Writer(String),
    /// The directory holds something this crate did not write and cannot continue from.
    #[error("audit log {path}: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

impl AuditError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
