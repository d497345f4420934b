//! The writer thread: numbers, chains, signs and writes batches; rolls segments; runs retention.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::AuditError;
use crate::chain::{AnchorLine, CheckpointLine, Hash32, RetentionLine, chain_hash, write_line};
use crate::entry::Entry;
use crate::keys::AuditKeys;
use crate::rotate::{self, Retention, RotateReport};
use crate::segment::{list_segments, read_anchor, recover_tail, segment_name};
use crate::time::Timestamp;
use crate::writer::{AuditConfig, Committed, Msg};

/// The writer thread's state: the open segment and the chain head.
pub(crate) struct Writer {
    dir: PathBuf,
    keys: AuditKeys,
    cfg: AuditConfig,
    file: File,
    segment: u64,
    /// Sequence number the current segment's anchor continues from.
    segment_base: u64,
    /// Newest entry's number and hash (the anchor's when there is none yet).
    seq: u64,
    head: Hash32,
    last_date: Option<Timestamp>,
    len: u64,
    pub(crate) committed: Arc<Mutex<Committed>>,
}

/// A batch turned into bytes, not yet written.
struct Prepared {
    buf: Vec<u8>,
    seq: u64,
    head: Hash32,
    date: Option<Timestamp>,
}

impl Writer {
    pub(crate) fn open(
        dir: &Path,
        keys: AuditKeys,
        mut cfg: AuditConfig,
    ) -> Result<Writer, AuditError> {
        cfg.segment_entries = cfg.segment_entries.max(1);
        cfg.max_batch = cfg.max_batch.max(1);
        let mut segments = list_segments(dir)?;
        while let Some((index, path)) = segments.pop() {
            let Some(tail) = recover_tail(&path)? else {
                let len = fs::metadata(&path)
                    .map_err(|e| AuditError::io(&path, e))?
                    .len();
                if len > 0 {
                    return Err(AuditError::Corrupt {
                        path,
                        detail: "the newest segment does not start with a valid anchor".into(),
                    });
                }
                tracing::warn!(file = %path.display(), "audit log: removing an empty segment left by a crash");
                fs::remove_file(&path).map_err(|e| AuditError::io(&path, e))?;
                continue;
            };
            let file = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| AuditError::io(&path, e))?;
            let mut w = Writer {
                dir: dir.to_path_buf(),
                keys,
                cfg,
                file,
                segment: index,
                segment_base: tail.anchor.anchor,
                seq: tail.seq,
                head: tail.h,
                last_date: tail.date,
                len: tail.len,
                committed: Arc::new(Mutex::new(Committed {
                    segment: index,
                    len: tail.len,
                })),
            };
            if !tail.signed {
                tracing::warn!(
                    last_seq = tail.seq,
                    "audit log: entries after the last checkpoint (a crash between write and sync); \
                     signing them now with a checkpoint marked `recovered`"
                );
                let mut buf = Vec::new();
                w.push_checkpoint(
                    &mut buf,
                    tail.seq,
                    tail.h,
                    tail.date.unwrap_or_default(),
                    true,
                )?;
                w.write_durable(&buf, tail.seq, tail.h, tail.date)?;
            }
            return Ok(w);
        }
        let (file, len) = create_segment(dir, 1, 0, Hash32::GENESIS, &keys)?;
        Ok(Writer {
            dir: dir.to_path_buf(),
            keys,
            cfg,
            file,
            segment: 1,
            segment_base: 0,
            seq: 0,
            head: Hash32::GENESIS,
            last_date: None,
            len,
            committed: Arc::new(Mutex::new(Committed { segment: 1, len })),
        })
    }

    pub(crate) fn run(mut self, rx: Receiver<Msg>) {
        let mut batch = Vec::with_capacity(self.cfg.max_batch);
        let gap = self.cfg.min_batch_interval;
        let mut last: Option<Instant> = None;
        while let Ok(first) = rx.recv() {
            let mut urgent = !matches!(first, Msg::Entry(_));
            batch.push(first);
            // Until the gap since the last batch has passed, keep collecting; a flush, rotate or
            // stop ends the wait (and takes what is already queued).
            let deadline = last.map(|l| l + gap);
            while batch.len() < self.cfg.max_batch {
                let now = Instant::now();
                let msg = match deadline {
                    Some(d) if !urgent && now < d => match rx.recv_timeout(d - now) {
                        Ok(msg) => msg,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    },
                    _ => match rx.try_recv() {
                        Ok(msg) => msg,
                        Err(_) => break,
                    },
                };
                urgent |= !matches!(msg, Msg::Entry(_));
                batch.push(msg);
            }
            last = Some(Instant::now());
            if self.process(&mut batch) {
                break;
            }
        }
    }

    /// Writes a batch, then answers its flush and rotate requests. True when told to stop.
    fn process(&mut self, batch: &mut Vec<Msg>) -> bool {
        let mut entries = Vec::with_capacity(batch.len());
        let mut controls = Vec::new();
        for msg in batch.drain(..) {
            match msg {
                Msg::Entry(e) => entries.push(e),
                other => controls.push(other),
            }
        }
        let stopping = controls.iter().any(|c| matches!(c, Msg::Stop));
        let written = self.write_entries(entries, stopping, &mut controls);
        for control in controls {
            match control {
                Msg::Flush(reply) => {
                    let _ = reply.send(written.clone());
                }
                Msg::Rotate(retention, now, reply) => {
                    let result = written
                        .clone()
                        .and_then(|()| self.rotate(&retention, now).map_err(|e| e.to_string()));
                    let _ = reply.send(result);
                }
                Msg::Entry(_) | Msg::Stop => {}
            }
        }
        stopping
    }

    fn write_entries(
        &mut self,
        entries: Vec<Entry>,
        stopping: bool,
        controls: &mut Vec<Msg>,
    ) -> Result<(), String> {
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            if self.seq - self.segment_base >= self.cfg.segment_entries {
                self.retry(stopping, controls, Writer::roll)?;
                self.auto_rotate();
            }
            let room = self.cfg.segment_entries - (self.seq - self.segment_base);
            let mut prepared = self.prepare(entries.by_ref().take(room as usize));
            let (seq, head, date) = (prepared.seq, prepared.head, prepared.date);
            let mut buf = std::mem::take(&mut prepared.buf);
            let checkpoint_len = buf.len();
            self.retry(stopping, controls, |w| {
                buf.truncate(checkpoint_len);
                w.push_checkpoint(&mut buf, seq, head, date.unwrap_or_default(), false)
            })?;
            self.retry(stopping, controls, |w| {
                w.write_durable(&buf, seq, head, date)
            })?;
        }
        Ok(())
    }

    /// Numbers and chains entries after the current head; serializes each entry once for hash and line.
    fn prepare(&self, entries: impl Iterator<Item = Entry>) -> Prepared {
        let mut buf = Vec::new();
        let (mut seq, mut head, mut date) = (self.seq, self.head, self.last_date);
        for entry in entries {
            seq += 1;
            let h = chain_hash(&head, seq, &entry);
            buf.extend_from_slice(
                format!("{{\"seq\":{seq},\"prev\":\"{head}\",\"h\":\"{h}\",\"entry\":").as_bytes(),
            );
            if let Err(e) = serde_json::to_writer(&mut buf, &entry) {
                tracing::error!(?e, "audit entry did not serialize");
            }
            buf.extend_from_slice(b"}\n");
            head = h;
            date = Some(entry.date);
        }
        Prepared {
            buf,
            seq,
            head,
            date,
        }
    }

    fn push_checkpoint(
        &self,
        buf: &mut Vec<u8>,
        seq: u64,
        h: Hash32,
        date: Timestamp,
        recovered: bool,
    ) -> Result<(), AuditError> {
        let sig = self
            .keys
            .sign(CheckpointLine::message(seq, &h, date, recovered).as_bytes())?;
        write_line(
            buf,
            &CheckpointLine {
                checkpoint: seq,
                h,
                date,
                recovered,
                sig,
            },
        );
        Ok(())
    }

    /// Appends `buf` to the segment and `fdatasync`s; on failure cuts the file back to where it was.
    fn write_durable(
        &mut self,
        buf: &[u8],
        seq: u64,
        head: Hash32,
        date: Option<Timestamp>,
    ) -> Result<(), AuditError> {
        let path = self.dir.join(segment_name(self.segment));
        let written = self
            .file
            .write_all_at(buf, self.len)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(self.len);
            return Err(AuditError::io(&path, e));
        }
        self.len += buf.len() as u64;
        self.seq = seq;
        self.head = head;
        self.last_date = date;
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        if let Ok(mut c) = self.committed.lock() {
            *c = Committed {
                segment: self.segment,
                len: self.len,
            };
        }
    }

    /// Starts the next segment with a signed anchor at the current head.
    fn roll(&mut self) -> Result<(), AuditError> {
        let next = self.segment + 1;
        let (file, len) = create_segment(&self.dir, next, self.seq, self.head, &self.keys)?;
        self.file = file;
        self.segment = next;
        self.segment_base = self.seq;
        self.len = len;
        self.publish();
        Ok(())
    }

    fn auto_rotate(&mut self) {
        if !self.cfg.retention.is_active() {
            return;
        }
        if let Some(now) = self.last_date {
            let retention = self.cfg.retention.clone();
            if let Err(e) = self.rotate(&retention, now) {
                tracing::error!(%e, "audit log: retention failed; old segments kept");
            }
        }
    }

    /// Deletes old segments, after recording (signed) where the log now starts.
    fn rotate(
        &mut self,
        retention: &Retention,
        now: Timestamp,
    ) -> Result<RotateReport, AuditError> {
        let Some(plan) = rotate::plan(&self.dir, self.segment, self.seq, retention, now)? else {
            let starts_after_seq = match list_segments(&self.dir)?.first() {
                Some((_, path)) => read_anchor(path)?.map_or(0, |a| a.anchor),
                None => 0,
            };
            return Ok(RotateReport {
                starts_after_seq,
                ..RotateReport::default()
            });
        };
        let a = &plan.keep_anchor;
        let message = RetentionLine::message(a.anchor, &a.h, plan.keep_index);
        let line = RetentionLine {
            retention: a.anchor,
            h: a.h,
            segment: plan.keep_index,
            sig: self.keys.sign(message.as_bytes())?,
        };
        let mut buf = Vec::new();
        write_line(&mut buf, &line);
        let (seq, head, date) = (self.seq, self.head, self.last_date);
        self.write_durable(&buf, seq, head, date)?;
        rotate::apply(&self.dir, &plan)?;
        Ok(RotateReport {
            deleted_segments: plan.delete,
            deleted_entries: plan.deleted_entries,
            starts_after_seq: a.anchor,
        })
    }

    /// Runs `op` until it succeeds. On the first failure, answers the waiting flush/rotate requests with
    /// the error. When stopping, gives up after 3 tries (the entries are then lost, and logged as such).
    fn retry<T>(
        &mut self,
        stopping: bool,
        controls: &mut Vec<Msg>,
        mut op: impl FnMut(&mut Writer) -> Result<T, AuditError>,
    ) -> Result<T, String> {
        let mut delay = Duration::from_millis(50);
        let mut tries = 0u32;
        loop {
            match op(self) {
                Ok(v) => {
                    if tries > 0 {
                        tracing::info!(tries, "audit log: writing again");
                    }
                    return Ok(v);
                }
                Err(e) => {
                    tries += 1;
                    let msg = e.to_string();
                    if tries == 1 {
                        tracing::error!(%e, "audit log: cannot write; entries stay queued and are retried");
                        fail_waiters(controls, &msg);
                    }
                    if stopping && tries >= 3 {
                        tracing::error!(%e, "audit log: stopping with entries not written");
                        return Err(msg);
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

fn fail_waiters(controls: &mut Vec<Msg>, error: &str) {
    controls.retain(|c| match c {
        Msg::Flush(reply) => {
            let _ = reply.send(Err(error.to_string()));
            false
        }
        Msg::Rotate(_, _, reply) => {
            let _ = reply.send(Err(error.to_string()));
            false
        }
        Msg::Entry(_) | Msg::Stop => true,
    });
}

/// Creates segment `index` holding only its signed anchor (chain continues after entry `seq` with head `h`).
fn create_segment(
    dir: &Path,
    index: u64,
    seq: u64,
    h: Hash32,
    keys: &AuditKeys,
) -> Result<(File, u64), AuditError> {
    let sig = keys.sign(AnchorLine::message(seq, &h, index).as_bytes())?;
    let mut buf = Vec::new();
    write_line(
        &mut buf,
        &AnchorLine {
            anchor: seq,
            h,
            segment: index,
            sig,
        },
    );
    let path = dir.join(segment_name(index));
    let io = |e| AuditError::io(&path, e);
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(io)?;
    file.write_all_at(&buf, 0).map_err(io)?;
    file.sync_all().map_err(io)?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AuditError::io(dir, e))?;
    Ok((file, buf.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{EntryLine, Line, parse_line};

    #[test]
    fn prepared_lines_are_what_serde_writes() {
        let keys = AuditKeys::from_pem(include_str!("../testdata/test-private.pem")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::open(dir.path(), keys, AuditConfig::default()).unwrap();
        let mut e = Entry::new("GET /token/", Timestamp(1), Timestamp(40_000));
        e.user = Some("al\"ice\u{e9}".into());
        let p = w.prepare([e.clone()].into_iter());
        let mut want = Vec::new();
        write_line(&mut want, &EntryLine::new(1, Hash32::GENESIS, e.clone()));
        assert_eq!(
            String::from_utf8(p.buf.clone()).unwrap(),
            String::from_utf8(want).unwrap()
        );
        match parse_line(p.buf.trim_ascii_end()) {
            Some(Line::Entry(line)) => assert!(line.hash_ok() && line.entry == e),
            other => panic!("{other:?}"),
        }
    }
}
