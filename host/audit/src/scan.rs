//! The search scan: streams the segments (backwards for `desc`), counts matches, and builds the page's rows
//! with `sig_check` (own hash + a valid covering checkpoint) and `missing_line` (link to the entry before).
//! Entries that cannot be on the page are not parsed: their number and hashes are read from the line's
//! fixed prefix, and an exact filter first looks for its `"column":"value"` text in the raw line.

use std::fs::File;
use std::path::Path;

use crate::AuditError;
use crate::chain::{
    AnchorLine, CheckpointLine, EntryLine, Hash32, Kind, Line, kind_of, parse_line,
};
use crate::keys::AuditPublicKey;
use crate::search::{AuditRow, MAX_PAGE_SIZE, Matcher, SearchPage, SearchQuery, SortOrder, ok};
use crate::segment::{Fwd, FwdLines, RevLines, complete_len, list_segments};
use crate::time::Timestamp;
use crate::writer::Committed;

/// Searches the log in `dir` (offline: reads each segment up to its last complete line).
pub fn search(
    dir: &Path,
    public: &AuditPublicKey,
    query: &SearchQuery,
    now: Timestamp,
) -> Result<SearchPage, AuditError> {
    search_within(dir, public, query, now, None)
}

pub(crate) fn search_within(
    dir: &Path,
    public: &AuditPublicKey,
    query: &SearchQuery,
    now: Timestamp,
    limit: Option<Committed>,
) -> Result<SearchPage, AuditError> {
    let page = query.page.max(1);
    let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);
    let mut window = Window {
        matcher: Matcher::new(query, now),
        skip: (page - 1).saturating_mul(page_size),
        take: page_size,
        count: 0,
        rows: Vec::new(),
    };
    let mut segments = Vec::new();
    for (index, path) in list_segments(dir)? {
        if limit.is_some_and(|l| index > l.segment) {
            continue;
        }
        // A segment deleted by retention since the listing is skipped.
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        let mut len = file.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        if let Some(l) = limit.filter(|l| l.segment == index) {
            len = len.min(l.len);
        }
        let end = complete_len(&mut file, len).map_err(|e| AuditError::io(&path, e))?;
        segments.push((file, end));
    }
    let io = |e| AuditError::io(dir, e);
    match query.sortorder {
        SortOrder::Desc => scan_desc(segments, public, &mut window).map_err(io)?,
        SortOrder::Asc => scan_asc(segments, public, &mut window).map_err(io)?,
    }
    Ok(SearchPage {
        next: (window.count > page.saturating_mul(page_size)).then_some(page + 1),
        prev: (page > 1).then_some(page - 1),
        current: page,
        count: window.count,
        rows: window.rows,
    })
}

/// Counts matches and keeps the rows of the requested page.
struct Window {
    matcher: Matcher,
    skip: u64,
    take: u64,
    count: u64,
    rows: Vec<AuditRow>,
}

impl Window {
    /// When this entry line matches and falls on the page: its row index and whether its hash holds.
    fn offer(&mut self, bytes: &[u8]) -> Option<(usize, bool)> {
        let mut parsed = None;
        if self.matcher.filters_anything() {
            if !self.matcher.may_match(bytes) {
                return None;
            }
            let line = parse_entry(bytes)?;
            if !self.matcher.matches(&line) {
                return None;
            }
            parsed = Some(line);
        }
        self.count += 1;
        if self.count <= self.skip || self.rows.len() as u64 >= self.take {
            return None;
        }
        let line = match parsed {
            Some(line) => line,
            None => parse_entry(bytes)?,
        };
        self.rows.push(AuditRow::from_line(&line));
        Some((self.rows.len() - 1, line.hash_ok()))
    }
}

/// Number, previous hash and hash of an entry line.
#[derive(Clone, Copy)]
struct Head {
    seq: u64,
    prev: Hash32,
    h: Hash32,
}

/// Reads the head from the writer's fixed prefix `{"seq":N,"prev":"<64 hex>","h":"<64 hex>","entry":`,
/// or by parsing the line when it does not have that shape.
fn entry_head(bytes: &[u8]) -> Option<Head> {
    fast_head(bytes).or_else(|| {
        parse_entry(bytes).map(|e| Head {
            seq: e.seq,
            prev: e.prev,
            h: e.h,
        })
    })
}

fn fast_head(bytes: &[u8]) -> Option<Head> {
    let rest = bytes.strip_prefix(b"{\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let seq = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(b",\"prev\":\"")?;
    let mut prev = [0u8; 32];
    hex::decode_to_slice(rest.get(..64)?, &mut prev).ok()?;
    let rest = rest[64..].strip_prefix(b"\",\"h\":\"")?;
    let mut h = [0u8; 32];
    hex::decode_to_slice(rest.get(..64)?, &mut h).ok()?;
    rest[64..].strip_prefix(b"\",\"entry\":{")?;
    Some(Head {
        seq,
        prev: Hash32(prev),
        h: Hash32(h),
    })
}

/// Parses an entry line; one whose bytes are no longer UTF-8 is still read (its hash will fail).
fn parse_entry(bytes: &[u8]) -> Option<EntryLine> {
    match parse_lenient(bytes)? {
        Line::Entry(e) => Some(*e),
        _ => None,
    }
}

fn parse_lenient(bytes: &[u8]) -> Option<Line> {
    parse_line(bytes).or_else(|| match std::str::from_utf8(bytes) {
        Ok(_) => None,
        Err(_) => parse_line(String::from_utf8_lossy(bytes).as_bytes()),
    })
}

fn anchor_ok(a: &AnchorLine, public: &AuditPublicKey) -> bool {
    public.verify(a.signed_message().as_bytes(), &a.sig)
}

/// The checkpoint nearest after the entries being read backwards, and whether it holds.
struct Cover {
    cp: CheckpointLine,
    /// Whether the entry right before the checkpoint is the one it signs (set on the first entry read).
    head: Option<bool>,
    sig: Option<bool>,
}

impl Cover {
    fn valid(&mut self, public: &AuditPublicKey) -> bool {
        if self.head != Some(true) {
            return false;
        }
        let cp = &self.cp;
        *self
            .sig
            .get_or_insert_with(|| public.verify(cp.signed_message().as_bytes(), &cp.sig))
    }
}

fn scan_desc(
    segments: Vec<(File, u64)>,
    public: &AuditPublicKey,
    w: &mut Window,
) -> std::io::Result<()> {
    // The newest row read whose `missing_line` waits for the entry before it: (row, its seq, its prev).
    let mut link: Option<(usize, u64, Hash32)> = None;
    let mut oldest_anchor: Option<AnchorLine> = None;
    for (file, end) in segments.into_iter().rev() {
        let mut cover: Option<Cover> = None;
        let mut lines = RevLines::new(file, end);
        while let Some((_, bytes)) = lines.next_line()? {
            let head = match kind_of(&bytes) {
                Some(Kind::Entry) => entry_head(&bytes),
                _ => None,
            };
            if let Some(e) = head {
                oldest_anchor = None;
                if let Some((row, seq, prev)) = link.take() {
                    w.rows[row].missing_line = ok(e.seq + 1 == seq && e.h == prev);
                }
                if let Some(c) = cover.as_mut() {
                    c.head
                        .get_or_insert(e.seq == c.cp.checkpoint && e.h == c.cp.h);
                }
                if let Some((row, hash_ok)) = w.offer(&bytes) {
                    let signed = cover.as_mut().is_some_and(|c| c.valid(public));
                    w.rows[row].sig_check = ok(signed && hash_ok);
                    link = Some((row, e.seq, e.prev));
                }
                continue;
            }
            match parse_lenient(&bytes) {
                Some(Line::Checkpoint(cp)) => {
                    cover = Some(Cover {
                        cp,
                        head: None,
                        sig: None,
                    })
                }
                Some(Line::Anchor(a)) => {
                    cover = None;
                    oldest_anchor = Some(a);
                }
                Some(Line::Retention(_)) => {}
                Some(Line::Entry(_)) | None => {
                    link = None; // its row keeps FAIL
                    if let Some(c) = cover.as_mut() {
                        c.head.get_or_insert(false);
                    }
                }
            }
        }
    }
    // The oldest entry kept links to the anchor of the oldest segment (genesis, or where retention cut).
    if let (Some((row, seq, prev)), Some(a)) = (link, oldest_anchor) {
        w.rows[row].missing_line = ok(a.anchor + 1 == seq && a.h == prev && anchor_ok(&a, public));
    }
    Ok(())
}

fn scan_asc(
    segments: Vec<(File, u64)>,
    public: &AuditPublicKey,
    w: &mut Window,
) -> std::io::Result<()> {
    // The last entry read (or the first segment's anchor): what the next entry must link to.
    let mut prev: Option<(u64, Hash32)> = None;
    let mut first = true;
    // Rows waiting for the checkpoint after them: (row, hash ok).
    let mut pending: Vec<(usize, bool)> = Vec::new();
    for (file, end) in segments {
        let mut lines = FwdLines::new(file, end)?;
        while let Fwd::Line(bytes) = lines.next_line()? {
            let is_first = std::mem::replace(&mut first, false);
            let head = match kind_of(&bytes) {
                Some(Kind::Entry) => entry_head(&bytes),
                _ => None,
            };
            if let Some(e) = head {
                let linked = prev.is_some_and(|(s, h)| s + 1 == e.seq && h == e.prev);
                prev = Some((e.seq, e.h));
                if let Some((row, hash_ok)) = w.offer(&bytes) {
                    w.rows[row].missing_line = ok(linked);
                    pending.push((row, hash_ok));
                }
                continue;
            }
            match parse_lenient(&bytes) {
                Some(Line::Anchor(a)) => {
                    if is_first {
                        prev = anchor_ok(&a, public).then_some((a.anchor, a.h));
                    }
                }
                Some(Line::Checkpoint(cp)) => {
                    if !pending.is_empty() {
                        let valid = prev == Some((cp.checkpoint, cp.h))
                            && public.verify(cp.signed_message().as_bytes(), &cp.sig);
                        for (row, hash_ok) in pending.drain(..) {
                            w.rows[row].sig_check = ok(hash_ok && valid);
                        }
                    }
                }
                Some(Line::Retention(_)) => {}
                Some(Line::Entry(_)) | None => prev = None,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_head_reads_what_the_parser_reads() {
        let entry = crate::entry::Entry::new("GET /", Timestamp(0), Timestamp(1));
        let line = serde_json::to_vec(&EntryLine::new(42, Hash32([7; 32]), entry)).unwrap();
        let fast = fast_head(&line).unwrap();
        let parsed = parse_entry(&line).unwrap();
        assert_eq!(
            (fast.seq, fast.prev, fast.h),
            (parsed.seq, parsed.prev, parsed.h)
        );
        assert!(fast_head(b"{\"seq\":42,\"prev\":\"zz").is_none());
    }
}
