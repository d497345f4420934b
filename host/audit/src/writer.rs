//! `AuditLog`: callers hand entries to a bounded queue; one writer thread numbers, chains, writes and
//! `fdatasync`s them a batch at a time, with one RSA signature (the checkpoint) per batch.
//!
//! A batch is everything queued when the writer comes round (up to `max_batch`), and batches start at
//! least `min_batch_interval` apart, so batches grow with load and the signature and the sync are paid
//! once per batch (at most 50 a second by default), not per request. The checkpoint is signed before
//! the write, so a batch's entries and its checkpoint reach the disk in one write and one `fdatasync`.
//! A full queue makes `append` wait; entries are never dropped. If the disk fails, the writer keeps the
//! batch and retries (50 ms doubling to 5 s), failing the `flush` calls waiting on it meanwhile.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::AuditError;
use crate::batch::Writer;
use crate::entry::Entry;
use crate::keys::{AuditKeys, AuditPublicKey};
use crate::rotate::{Retention, RotateReport};
use crate::scan::search_within;
use crate::search::{SearchPage, SearchQuery};
use crate::time::Timestamp;
use crate::verify::{Report, verify};

/// Tuning of an [`AuditLog`].
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Entries per segment file before a new one is started.
    pub segment_entries: u64,
    /// Entries the queue holds before `append` waits.
    pub queue: usize,
    /// Most entries written (and signed) as one batch.
    pub max_batch: usize,
    /// Applied each time a segment fills up (with the newest entry's `date` as "now").
    pub retention: Retention,
    /// Least time between two batches: entries arriving sooner wait (at most this long) and join
    /// the next batch, so the RSA signature and the sync are paid at most 1/interval times a second
    /// however the requests trickle in. A flush does not wait.
    pub min_batch_interval: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            segment_entries: 100_000,
            queue: 8192,
            max_batch: 8192,
            retention: Retention::default(),
            min_batch_interval: Duration::from_millis(20),
        }
    }
}

pub(crate) type Reply<T> = SyncSender<Result<T, String>>;

// Nearly every message is an entry; boxing it would cost an allocation per append for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    Entry(Entry),
    Flush(Reply<()>),
    Rotate(Retention, Timestamp, Reply<RotateReport>),
    Stop,
}

/// How far the files are durable and signed: searches read no further.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Committed {
    pub segment: u64,
    pub len: u64,
}

/// The audit log of one server. Share it with `Arc`; dropping it writes what is queued and stops the writer.
pub struct AuditLog {
    tx: SyncSender<Msg>,
    dir: PathBuf,
    public: AuditPublicKey,
    committed: Arc<Mutex<Committed>>,
    thread: Option<JoinHandle<()>>,
    _lock: File,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (or creates) the log in `dir`: repairs a torn tail, signs entries a crash left unsigned,
    /// and starts the writer thread. Fails if another process has the log open.
    pub fn open(dir: &Path, keys: AuditKeys, config: AuditConfig) -> Result<AuditLog, AuditError> {
        fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        let lock_path = dir.join("audit.lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| AuditError::io(&lock_path, e))?;
        lock.try_lock().map_err(|_| {
            AuditError::Writer(format!("{} is in use by another process", dir.display()))
        })?;
        let writer = Writer::open(dir, keys.clone(), config.clone())?;
        let committed = Arc::clone(&writer.committed);
        let (tx, rx) = sync_channel(config.queue.max(1));
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| AuditError::Writer(format!("cannot start the writer thread: {e}")))?;
        Ok(AuditLog {
            tx,
            dir: dir.to_path_buf(),
            public: keys.public().clone(),
            committed,
            thread: Some(thread),
            _lock: lock,
        })
    }

    /// Queues one entry. Returns at once unless the queue is full; then it waits for room.
    /// The entry is durable after a later [`AuditLog::flush`] returns.
    pub fn append(&self, entry: Entry) -> Result<(), AuditError> {
        self.tx
            .send(Msg::Entry(entry))
            .map_err(|_| AuditError::Writer("the writer thread has stopped".into()))
    }

    /// Waits until every entry appended before this call is written, signed and synced.
    /// Blocking: from async code call it on a blocking thread.
    pub fn flush(&self) -> Result<(), AuditError> {
        self.request(Msg::Flush)
    }

    /// Deletes old segments as `retention` says, `now` being the caller's clock. Runs on the writer thread
    /// after everything queued before it, so it never races a write.
    pub fn rotate(
        &self,
        retention: &Retention,
        now: Timestamp,
    ) -> Result<RotateReport, AuditError> {
        let retention = retention.clone();
        self.request(|reply| Msg::Rotate(retention, now, reply))
    }

    /// `GET /audit/`: reads only what the writer has made durable and signed. `now` is for `timelimit`.
    pub fn search(&self, query: &SearchQuery, now: Timestamp) -> Result<SearchPage, AuditError> {
        let limit = *self.committed.lock().map_err(|_| poisoned())?;
        search_within(&self.dir, &self.public, query, now, Some(limit))
    }

    /// Checks the whole log (see [`crate::verify`]).
    pub fn verify(&self) -> Result<Report, AuditError> {
        verify(&self.dir, &self.public)
    }

    /// The directory of the segment files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key that verifies this log.
    pub fn public_key(&self) -> &AuditPublicKey {
        &self.public
    }

    /// Writes what is queued and stops the writer.
    pub fn close(mut self) -> Result<(), AuditError> {
        let flushed = self.flush();
        self.stop();
        flushed
    }

    fn request<T>(&self, msg: impl FnOnce(Reply<T>) -> Msg) -> Result<T, AuditError> {
        let (reply, answer) = sync_channel(1);
        let gone = || AuditError::Writer("the writer thread has stopped".into());
        self.tx.send(msg(reply)).map_err(|_| gone())?;
        answer
            .recv()
            .map_err(|_| gone())?
            .map_err(AuditError::Writer)
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.tx.send(Msg::Stop);
            if thread.join().is_err() {
                tracing::error!("audit writer thread panicked");
            }
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn poisoned() -> AuditError {
    AuditError::Writer("state lock poisoned".into())
}
