//! `tessera audit verify`: walks every segment in order and reports each bad hash, broken link, missing
//! entry or segment, bad or mismatched signature, and unsigned tail, with sequence numbers.

use std::fmt;
use std::fs::File;
use std::path::Path;

use crate::AuditError;
use crate::chain::{Hash32, Line, parse_line};
use crate::keys::AuditPublicKey;
use crate::segment::{Fwd, FwdLines, list_segments, segment_name};

/// Most problems listed one by one; the rest are only counted.
const MAX_PROBLEMS: usize = 1000;

/// What kind of damage a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// An entry's content does not hash to its stored hash: it was edited.
    BadHash,
    /// An entry does not link to the one before it: an entry before it was removed or rewritten.
    BrokenLink,
    /// Sequence numbers jump: entries were removed.
    MissingEntries,
    /// A checkpoint, anchor or retention line's signature does not verify.
    BadSignature,
    /// A validly signed checkpoint names a different chain head: entries before it were rewritten.
    CheckpointMismatch,
    /// Entries at the end that no checkpoint signs.
    UnsignedTail,
    /// A line that is not a well-formed line of the log.
    UnreadableLine,
    /// A segment that does not start with its own valid anchor.
    BadAnchor,
    /// A segment file is missing between two others.
    MissingSegment,
    /// The log starts later than its first entry and no retention record says so: old segments were deleted.
    DeletedHead,
    /// The directory holds no segment at all.
    NoSegments,
}

/// One finding, located by segment, line (1-based) and entry number where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub segment: Option<u64>,
    pub line: Option<u64>,
    pub seq: Option<u64>,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kind)?;
        if let Some(seq) = self.seq {
            write!(f, " at entry {seq}")?;
        }
        if let Some(s) = self.segment {
            write!(f, " ({}", segment_name(s))?;
            if let Some(l) = self.line {
                write!(f, " line {l}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub segments: u64,
    /// Entry lines read.
    pub entries: u64,
    /// Entries whose hash, link and covering checkpoint are all good.
    pub ok_entries: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The last entry covered by a valid checkpoint.
    pub signed_through: Option<u64>,
    /// The first [`MAX_PROBLEMS`] problems, in log order.
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub more_problems: u64,
    /// Facts worth knowing that are not tampering (retention, crash recovery, a write in progress).
    pub notes: Vec<String>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first problem in log order.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }

    fn problem(
        &mut self,
        kind: ProblemKind,
        segment: impl Into<Option<u64>>,
        line: u64,
        seq: Option<u64>,
        detail: String,
    ) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                kind,
                segment: segment.into(),
                line: (line > 0).then_some(line),
                seq,
                detail,
            });
        } else {
            self.more_problems += 1;
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = match (self.first_seq, self.last_seq) {
            (Some(a), Some(b)) => format!("entries {a}..={b}"),
            _ => "no entries".into(),
        };
        writeln!(
            f,
            "{}: {} segments, {range}, {} of {} entries OK",
            if self.is_ok() { "OK" } else { "FAILED" },
            self.segments,
            self.ok_entries,
            self.entries
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        if self.more_problems > 0 {
            writeln!(f, "  ... and {} more problems", self.more_problems)?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}

/// Checks the whole log in `dir` against `public`, reading one line at a time.
pub fn verify(dir: &Path, public: &AuditPublicKey) -> Result<Report, AuditError> {
    use ProblemKind::*;
    let mut r = Report::default();
    let segments = list_segments(dir)?;
    let Some(last_index) = segments.last().map(|(i, _)| *i) else {
        r.problem(
            NoSegments,
            None,
            0,
            None,
            format!("no audit-*.jsonl files in {}", dir.display()),
        );
        return Ok(r);
    };
    let mut expected: Option<u64> = None;
    // What the next entry must link to; `None` after an unreadable line.
    let mut prev: Option<(u64, Hash32)> = None;
    let mut start: Option<(u64, Hash32)> = None;
    let mut retention_marks: Vec<(u64, Hash32)> = Vec::new();
    // Entries since the last valid checkpoint: how many are good, and the first one's number.
    let mut pending_ok = 0u64;
    let mut unsigned_from: Option<u64> = None;

    for (index, path) in segments {
        r.segments += 1;
        let gap = expected.is_some_and(|e| e != index);
        if let Some(e) = expected.filter(|_| gap) {
            let missing = if e + 1 == index {
                segment_name(e)
            } else {
                format!("{} to {}", segment_name(e), segment_name(index - 1))
            };
            r.problem(MissingSegment, index, 0, None, format!("{missing} missing"));
        }
        expected = Some(index + 1);
        let file = File::open(&path).map_err(|e| AuditError::io(&path, e))?;
        let len = file.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        let mut lines = FwdLines::new(file, len).map_err(|e| AuditError::io(&path, e))?;
        let mut n = 0u64;
        loop {
            let bytes = match lines.next_line().map_err(|e| AuditError::io(&path, e))? {
                Fwd::Line(bytes) => bytes,
                Fwd::End => break,
                Fwd::Unterminated(size) if index == last_index => {
                    r.notes.push(format!(
                        "{} ends with an incomplete line ({size} bytes): a write in progress, or a crash (cut at the next open)",
                        segment_name(index)
                    ));
                    break;
                }
                Fwd::Unterminated(size) => {
                    r.problem(
                        UnreadableLine,
                        index,
                        n + 1,
                        None,
                        format!("incomplete line of {size} bytes"),
                    );
                    break;
                }
            };
            n += 1;
            let line = parse_line(&bytes);
            if n == 1 {
                match line {
                    Some(Line::Anchor(a))
                        if a.segment == index
                            && public.verify(a.signed_message().as_bytes(), &a.sig) =>
                    {
                        match prev {
                            None if start.is_none() => start = Some((a.anchor, a.h)),
                            Some((s, h)) if !gap && (s != a.anchor || h != a.h) => r.problem(
                                BrokenLink,
                                index,
                                n,
                                Some(a.anchor + 1),
                                format!("segment continues after entry {} but the previous one ends at entry {s}", a.anchor),
                            ),
                            _ => {}
                        }
                        prev = Some((a.anchor, a.h));
                    }
                    _ => r.problem(
                        BadAnchor,
                        index,
                        n,
                        None,
                        "first line is not this segment's signed anchor".into(),
                    ),
                }
                continue;
            }
            match line {
                Some(Line::Entry(e)) => {
                    r.entries += 1;
                    r.first_seq.get_or_insert(e.seq);
                    r.last_seq = Some(e.seq);
                    unsigned_from.get_or_insert(e.seq);
                    let hash_ok = e.hash_ok();
                    if !hash_ok {
                        r.problem(
                            BadHash,
                            index,
                            n,
                            Some(e.seq),
                            "content does not match its hash (edited)".into(),
                        );
                    }
                    let link_ok = match prev {
                        Some((s, _)) if e.seq > s + 1 => {
                            let what = if e.seq == s + 2 {
                                format!("entry {} is", s + 1)
                            } else {
                                format!("entries {}..={} are", s + 1, e.seq - 1)
                            };
                            r.problem(
                                MissingEntries,
                                index,
                                n,
                                Some(e.seq),
                                format!("{what} missing"),
                            );
                            false
                        }
                        Some((s, h)) if e.seq != s + 1 || e.prev != h => {
                            r.problem(
                                BrokenLink,
                                index,
                                n,
                                Some(e.seq),
                                format!("does not link to entry {s} (removed or rewritten)"),
                            );
                            false
                        }
                        Some(_) => true,
                        None => false, // the unreadable line before it is already reported
                    };
                    if hash_ok && link_ok {
                        pending_ok += 1;
                    }
                    prev = Some((e.seq, e.h));
                }
                Some(Line::Checkpoint(c)) => {
                    let sig_ok = public.verify(c.signed_message().as_bytes(), &c.sig);
                    let head_ok = prev == Some((c.checkpoint, c.h));
                    if !sig_ok {
                        r.problem(
                            BadSignature,
                            index,
                            n,
                            Some(c.checkpoint),
                            "checkpoint signature does not verify".into(),
                        );
                    } else if !head_ok {
                        r.problem(
                            CheckpointMismatch,
                            index,
                            n,
                            Some(c.checkpoint),
                            "the signed chain head differs from the entries: entries before it were rewritten".into(),
                        );
                    }
                    if sig_ok && head_ok {
                        r.ok_entries += pending_ok;
                        r.signed_through = Some(c.checkpoint);
                        if c.recovered {
                            r.notes.push(format!("entries up to {} were signed when the log was reopened after a crash", c.checkpoint));
                        }
                    }
                    pending_ok = 0;
                    unsigned_from = None;
                }
                Some(Line::Retention(t)) => {
                    if public.verify(t.signed_message().as_bytes(), &t.sig) {
                        retention_marks.push((t.retention, t.h));
                    } else {
                        r.problem(
                            BadSignature,
                            index,
                            n,
                            None,
                            "retention record signature does not verify".into(),
                        );
                    }
                }
                Some(Line::Anchor(_)) => r.problem(
                    UnreadableLine,
                    index,
                    n,
                    None,
                    "anchor in the middle of a segment".into(),
                ),
                None => {
                    r.problem(
                        UnreadableLine,
                        index,
                        n,
                        None,
                        "not a line of the audit log".into(),
                    );
                    prev = None;
                }
            }
        }
    }
    if let (Some(from), Some(to)) = (unsigned_from, r.last_seq) {
        r.problem(
            UnsignedTail,
            last_index,
            0,
            Some(from),
            format!("entries {from}..={to} are not signed by any checkpoint"),
        );
    }
    match start {
        Some((0, h)) if h == Hash32::GENESIS => {}
        Some((s, h)) => {
            if retention_marks
                .iter()
                .any(|(m, mh)| *m > s || (*m == s && *mh == h))
            {
                r.notes
                    .push(format!("entries up to {s} were deleted by retention"));
            } else {
                r.problem(
                    DeletedHead,
                    None,
                    0,
                    Some(s + 1),
                    format!("the log starts after entry {s} and no retention record says so: older segments were deleted"),
                );
            }
        }
        None => {}
    }
    Ok(r)
}
