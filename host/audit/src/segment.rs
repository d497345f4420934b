//! Segment files: names, listing, reading lines forwards and backwards without loading a file,
//! and repairing a torn tail when the log is opened after a crash.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::AuditError;
use crate::chain::{AnchorLine, CheckpointLine, Hash32, Kind, Line, kind_of, parse_line};
use crate::time::Timestamp;

const CHUNK: usize = 64 * 1024;

/// `audit-000001.jsonl` for segment 1.
pub fn segment_name(index: u64) -> String {
    format!("audit-{index:06}.jsonl")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("audit-")?.strip_suffix(".jsonl")?;
    if digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// The segment files in `dir`, oldest first.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir).map_err(|e| AuditError::io(dir, e))? {
        let item = item.map_err(|e| AuditError::io(dir, e))?;
        if let Some(index) = item.file_name().to_str().and_then(parse_segment_name) {
            out.push((index, item.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a file's lines from a given end back to its start, a chunk at a time.
pub(crate) struct RevLines {
    file: File,
    /// File offset of `data[0]`.
    start: u64,
    /// `file[start..start + data.len()]`; ends with the newline of the next line to return.
    data: Vec<u8>,
}

impl RevLines {
    /// Lines of `file[..end]`; `end` should be just past a newline (use [`complete_len`]).
    pub fn new(file: File, end: u64) -> RevLines {
        RevLines {
            file,
            start: end,
            data: Vec::new(),
        }
    }

    /// The previous line (without its newline) and its offset, or `None` at the start of the file.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        loop {
            if !self.data.is_empty() {
                let body_end = self.data.len() - 1;
                if let Some(i) = self.data[..body_end].iter().rposition(|b| *b == b'\n') {
                    let line = self.data[i + 1..body_end].to_vec();
                    self.data.truncate(i + 1);
                    return Ok(Some((self.start + i as u64 + 1, line)));
                }
                if self.start == 0 {
                    let line = self.data[..body_end].to_vec();
                    self.data.clear();
                    return Ok(Some((0, line)));
                }
            } else if self.start == 0 {
                return Ok(None);
            }
            let n = CHUNK.min(self.start as usize);
            let mut chunk = vec![0u8; n + self.data.len()];
            self.file.seek(SeekFrom::Start(self.start - n as u64))?;
            self.file.read_exact(&mut chunk[..n])?;
            chunk[n..].copy_from_slice(&self.data);
            self.data = chunk;
            self.start -= n as u64;
        }
    }
}

/// Reads complete lines from the start of a file up to `end`; an unterminated last line is reported apart.
pub(crate) struct FwdLines {
    reader: BufReader<io::Take<File>>,
}

/// What [`FwdLines::next_line`] found.
pub(crate) enum Fwd {
    Line(Vec<u8>),
    /// Bytes after the last newline (a torn write, or a write in progress).
    Unterminated(usize),
    End,
}

impl FwdLines {
    /// Lines of `file[..end]`, from the start whatever the file's position.
    pub fn new(mut file: File, end: u64) -> io::Result<FwdLines> {
        file.rewind()?;
        Ok(FwdLines {
            reader: BufReader::with_capacity(CHUNK, file.take(end)),
        })
    }

    pub fn next_line(&mut self) -> io::Result<Fwd> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line)?;
        Ok(match line.pop() {
            None => Fwd::End,
            Some(b'\n') => Fwd::Line(line),
            Some(_) => Fwd::Unterminated(n),
        })
    }
}

/// The length of `file[..len]` up to and including its last newline.
pub(crate) fn complete_len(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; 4096];
    while end > 0 {
        let n = buf.len().min(end as usize);
        file.seek(SeekFrom::Start(end - n as u64))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|b| *b == b'\n') {
            return Ok(end - n as u64 + i as u64 + 1);
        }
        end -= n as u64;
    }
    Ok(0)
}

/// The first line of a segment, if it is an anchor.
pub(crate) fn read_anchor(path: &Path) -> Result<Option<AnchorLine>, AuditError> {
    let file = File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut line = Vec::new();
    BufReader::new(file)
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .map_err(|e| AuditError::io(path, e))?;
    if line.pop() != Some(b'\n') {
        return Ok(None);
    }
    Ok(match parse_line(&line) {
        Some(Line::Anchor(a)) => Some(a),
        _ => None,
    })
}

/// The last checkpoint of a complete segment (its last line, unless a retention line follows it).
pub(crate) fn read_last_checkpoint(path: &Path) -> Result<Option<CheckpointLine>, AuditError> {
    let mut file = File::open(path).map_err(|e| AuditError::io(path, e))?;
    let len = file.metadata().map_err(|e| AuditError::io(path, e))?.len();
    let end = complete_len(&mut file, len).map_err(|e| AuditError::io(path, e))?;
    let mut lines = RevLines::new(file, end);
    while let Some((_, line)) = lines.next_line().map_err(|e| AuditError::io(path, e))? {
        match kind_of(&line) {
            Some(Kind::Checkpoint) => {
                if let Some(Line::Checkpoint(c)) = parse_line(&line) {
                    return Ok(Some(c));
                }
            }
            Some(Kind::Retention) => continue,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Where the chain stands at the end of the newest segment, after repairing a torn tail.
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    pub anchor: AnchorLine,
    /// Sequence number and hash of the last entry (the anchor's when the segment has none).
    pub seq: u64,
    pub h: Hash32,
    /// `date` of the last entry, if the segment has one.
    pub date: Option<Timestamp>,
    /// Whether a checkpoint covers the last entry.
    pub signed: bool,
    /// Length of the file after repair.
    pub len: u64,
}

/// Opens the newest segment for appending: cuts a torn last line (and zero bytes a crash can leave) and
/// finds the chain head. `Ok(None)` when the segment holds no valid anchor (it was being created).
pub(crate) fn recover_tail(path: &Path) -> Result<Option<Tail>, AuditError> {
    let io_err = |e| AuditError::io(path, e);
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let mut end = complete_len(&mut file, len).map_err(io_err)?;
    // Whole lines of zero bytes at the end are the same kind of damage (size updated, data never written).
    loop {
        let mut lines = RevLines::new(file.try_clone().map_err(io_err)?, end);
        match lines.next_line().map_err(io_err)? {
            Some((at, line)) if line.iter().all(|b| *b == 0) => end = at,
            _ => break,
        }
    }
    if end < len {
        tracing::warn!(
            file = %path.display(),
            cut_bytes = len - end,
            kept_bytes = end,
            "audit log: cut a torn last line left by a crash; the entries before it are intact"
        );
        file.set_len(end).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
    }
    let Some(anchor) = read_anchor(path)? else {
        return Ok(None);
    };
    let mut tail = Tail {
        seq: anchor.anchor,
        h: anchor.h,
        date: None,
        signed: true,
        len: end,
        anchor,
    };
    let mut lines = RevLines::new(file, end);
    let mut seen_checkpoint = false;
    while let Some((at, line)) = lines.next_line().map_err(io_err)? {
        match parse_line(&line) {
            Some(Line::Entry(e)) => {
                tail.seq = e.seq;
                tail.h = e.h;
                tail.date = Some(e.entry.date);
                tail.signed = seen_checkpoint;
                break;
            }
            Some(Line::Checkpoint(_)) => seen_checkpoint = true,
            Some(Line::Retention(_)) => {}
            Some(Line::Anchor(_)) => break,
            None => tracing::warn!(
                file = %path.display(),
                offset = at,
                "audit log: unreadable line near the end (verify will report it); continuing after it"
            ),
        }
    }
    Ok(Some(tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_backwards(content: &[u8], end: u64) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        File::create(&path).unwrap().write_all(content).unwrap();
        let mut r = RevLines::new(File::open(&path).unwrap(), end);
        let mut out = Vec::new();
        while let Some((at, l)) = r.next_line().unwrap() {
            out.push((at, String::from_utf8(l).unwrap()));
        }
        out
    }

    #[test]
    fn reads_lines_backwards_across_chunks() {
        let long = "x".repeat(CHUNK + 17);
        let content = format!("a\n\n{long}\nbc\n");
        let got = lines_backwards(content.as_bytes(), content.len() as u64);
        let want = vec![
            ((CHUNK + 17 + 4) as u64, "bc".to_string()),
            (3, long.clone()),
            (2, String::new()),
            (0, "a".to_string()),
        ];
        assert_eq!(got, want);
        assert_eq!(lines_backwards(b"a\nb\n", 2), vec![(0, "a".to_string())]);
        assert!(lines_backwards(b"", 0).is_empty());
    }

    #[test]
    fn segment_names() {
        assert_eq!(segment_name(1), "audit-000001.jsonl");
        assert_eq!(parse_segment_name("audit-000001.jsonl"), Some(1));
        assert_eq!(parse_segment_name("audit-1234567.jsonl"), Some(1_234_567));
        assert_eq!(parse_segment_name("audit-1.jsonl"), None);
        assert_eq!(parse_segment_name("audit-000001.jsonl.tmp"), None);
    }
}
