//! Retention: which old segments to delete (whole files, oldest first, never the one being written),
//! judged from each segment's first line (anchor) and last checkpoint only.

use std::fs;
use std::path::{Path, PathBuf};

use crate::AuditError;
use crate::chain::AnchorLine;
use crate::segment::{list_segments, read_anchor, read_last_checkpoint};
use crate::time::Timestamp;

/// How much history to keep. Only whole segments are deleted, never the one being written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Delete a segment once its newest entry is older than this many days.
    pub max_age_days: Option<u32>,
    /// Delete the oldest segments while the log holds more than this many entries.
    /// The segment being written is never deleted, so the log may hold fewer (down to that one segment).
    pub max_entries: Option<u64>,
}

impl Retention {
    /// Whether this retention deletes anything at all.
    pub fn is_active(&self) -> bool {
        self.max_age_days.is_some() || self.max_entries.is_some()
    }
}

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotateReport {
    /// The deleted segment files, oldest first.
    pub deleted_segments: Vec<PathBuf>,
    /// How many entries they held.
    pub deleted_entries: u64,
    /// The log now holds the entries after this sequence number (unchanged when nothing was deleted).
    pub starts_after_seq: u64,
}

/// Segments to delete and the first one kept.
#[derive(Debug)]
pub(crate) struct Plan {
    pub delete: Vec<PathBuf>,
    pub deleted_entries: u64,
    pub keep_index: u64,
    pub keep_anchor: AnchorLine,
}

/// Decides which segments `retention` deletes at `now`. `current` is the segment being written and
/// `head_seq` the newest entry's number.
pub(crate) fn plan(
    dir: &Path,
    current: u64,
    head_seq: u64,
    retention: &Retention,
    now: Timestamp,
) -> Result<Option<Plan>, AuditError> {
    let segments = list_segments(dir)?;
    let cutoff = retention
        .max_age_days
        .map(|days| now.minus_micros(i64::from(days) * 86_400 * 1_000_000));
    let mut delete = Vec::new();
    let mut first_anchor_seq = None;
    for (index, path) in &segments {
        if *index >= current {
            break;
        }
        // A segment whose anchor or checkpoint cannot be read is kept: verify will show why.
        let Some(anchor) = read_anchor(path)? else {
            break;
        };
        let too_many = retention
            .max_entries
            .is_some_and(|max| head_seq.saturating_sub(anchor.anchor) > max);
        let too_old = match cutoff {
            Some(cutoff) => read_last_checkpoint(path)?.is_some_and(|c| c.date < cutoff),
            None => false,
        };
        if !(too_many || too_old) {
            break;
        }
        first_anchor_seq.get_or_insert(anchor.anchor);
        delete.push(path.clone());
    }
    let Some(first_seq) = first_anchor_seq else {
        return Ok(None);
    };
    let Some((keep_index, keep_path)) = segments.get(delete.len()) else {
        return Ok(None);
    };
    let Some(keep_anchor) = read_anchor(keep_path)? else {
        return Ok(None);
    };
    Ok(Some(Plan {
        deleted_entries: keep_anchor.anchor.saturating_sub(first_seq),
        delete,
        keep_index: *keep_index,
        keep_anchor,
    }))
}

/// Deletes the planned files, oldest first (a crash half-way leaves a log that still starts at a segment
/// boundary at or before the one the retention line names), then syncs the directory.
pub(crate) fn apply(dir: &Path, plan: &Plan) -> Result<(), AuditError> {
    for path in &plan.delete {
        fs::remove_file(path).map_err(|e| AuditError::io(path, e))?;
        tracing::info!(file = %path.display(), "audit log: deleted old segment (retention)");
    }
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AuditError::io(dir, e))
}
