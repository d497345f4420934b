//! Group commit: one thread per store makes writes durable with one `flush` + `fdatasync` for many callers.
//!
//! # Durability guarantee
//!
//! * A write is a `Store` method that returned `Ok`. It is atomic (multi-tree writes such as
//!   `insert_token` are all-or-nothing, also across a crash) and visible to every later read at once,
//!   but it is not durable yet: it sits in sled's in-memory log buffer or in the OS page cache.
//! * `commit()` returns a ticket. When the ticket resolves `Ok`, **every write that returned before
//!   `commit()` was called** is durable: sled has written its log to `<dir>/db` (`Db::flush`, which is
//!   only `pwrite` + `sync_file_range`), and the commit thread has then called `fdatasync` on `<dir>/db`,
//!   `fsync` on every file that appeared in `<dir>` or `<dir>/blobs` since the last commit (sled's blobs
//!   and snapshots), and `fsync` on those directories when their entries changed.
//!   From then on the writes survive a process crash (kill -9, abort, OOM kill) **and** an OS crash or
//!   power loss, provided the disk honours cache flushes (true for virtio and for drives with power-loss
//!   protection; a drive that acknowledges flushes it has not done defeats any software).
//!   Writes that returned after `commit()` was called may or may not be covered by that ticket.
//! * Without a commit, a write can be lost: on a process crash if sled had not yet written its buffer
//!   (its background flusher runs every 500 ms), on an OS crash or power loss until something syncs it.
//!   After any crash sled recovers a prefix of its log: a write is never recovered without the writes
//!   that returned before it.
//! * A ticket never hangs. If the sync fails (`fdatasync` reports an I/O error) or the commit thread has
//!   died, the ticket resolves with `StoreError::Commit`, and the writes it covers may or may not be on
//!   disk. After a failed sync every later commit fails too: the kernel may have dropped the dirty pages,
//!   so a later successful `fdatasync` would prove nothing. Restart the process; sled then recovers from
//!   what is really on disk.
//!
//! Tickets queued while a sync runs wait for the next round, which takes all of them at once: under load
//! one `fdatasync` (≈ 0.2 ms here) answers every request that arrived during the previous one.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::future::Future;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::StoreError;

type Answer = Result<(), StoreError>;

/// A pending durable commit; resolve it with `wait` (async) or `wait_blocking`.
#[must_use = "a commit is only known durable once its ticket resolves Ok"]
#[derive(Debug)]
pub struct CommitTicket {
    state: TicketState,
}

#[derive(Debug)]
enum TicketState {
    Queued(oneshot::Receiver<Answer>),
    Failed(StoreError),
}

impl CommitTicket {
    /// Wait until the writes that returned before `commit()` are durable.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.state {
            TicketState::Failed(e) => Err(e),
            TicketState::Queued(rx) => rx
                .await
                .unwrap_or_else(|_| Err(StoreError::Commit("the commit thread stopped".into()))),
        }
    }

    /// Blocking form of `wait`, for threads outside an async runtime (inside one it blocks the worker).
    pub fn wait_blocking(self) -> Result<(), StoreError> {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(self.wait());
        loop {
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(answer) => return answer,
                // A spurious wake-up only costs another poll.
                Poll::Pending => std::thread::park(),
            }
        }
    }
}

/// What the commit thread does to make every write so far durable. The production syncer is
/// `DiskSyncer`; tests wrap it to observe the order of events.
pub(crate) trait Syncer: Send + 'static {
    fn sync(&mut self) -> Result<(), StoreError>;
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    syncs: AtomicU64,
    tickets: AtomicU64,
}

#[derive(Default)]
struct State {
    queue: Vec<oneshot::Sender<Answer>>,
    stop: bool,
    /// Set when the thread has stopped answering; every later ticket fails with this.
    dead: Option<String>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // The lock only guards plain data that is valid at every await point; a panic cannot leave it torn.
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Owns the commit thread; dropping it answers the queued tickets and joins the thread.
pub(crate) struct Committer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    pub(crate) fn start(syncer: Box<dyn Syncer>) -> Result<Committer, StoreError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            syncs: AtomicU64::new(0),
            tickets: AtomicU64::new(0),
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("tessera-commit".into())
            .spawn(move || run(&for_thread, syncer))
            .map_err(|e| StoreError::Io(format!("starting the commit thread: {e}")))?;
        Ok(Committer {
            shared,
            thread: Some(thread),
        })
    }

    pub(crate) fn ticket(&self) -> CommitTicket {
        let (tx, rx) = oneshot::channel();
        let mut state = lock(&self.shared);
        if let Some(reason) = &state.dead {
            return CommitTicket {
                state: TicketState::Failed(StoreError::Commit(reason.clone())),
            };
        }
        let was_idle = state.queue.is_empty();
        state.queue.push(tx);
        drop(state);
        if was_idle {
            self.shared.wake.notify_one();
        }
        CommitTicket {
            state: TicketState::Queued(rx),
        }
    }

    /// (sync rounds done, tickets answered by them).
    pub(crate) fn stats(&self) -> (u64, u64) {
        (
            self.shared.syncs.load(Ordering::Relaxed),
            self.shared.tickets.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has already failed its tickets (see `Obituary`).
            let _ = thread.join();
        }
    }
}

/// Marks the committer dead and fails the queued tickets when the thread ends, also by a panic.
struct Obituary<'a>(&'a Shared);

impl Drop for Obituary<'_> {
    fn drop(&mut self) {
        let mut state = lock(self.0);
        if state.dead.is_none() {
            state.dead = Some("the commit thread stopped".into());
        }
        // Dropping the senders resolves their tickets with an error.
        state.queue.clear();
    }
}

/// How long a round may wait for more callers when the previous round answered several.
/// A sync costs ≈ 0.2 ms of disk time plus sled's flush machinery (it wakes all of sled's I/O threads),
/// so under concurrency fewer, fuller rounds save CPU; a lone caller never waits (see `run`).
const LINGER: Duration = Duration::from_micros(250);

fn run(shared: &Shared, mut syncer: Box<dyn Syncer>) {
    let _obituary = Obituary(shared);
    let mut batch = Vec::new();
    let mut last_batch = 1usize;
    loop {
        {
            let mut state = lock(shared);
            while state.queue.is_empty() && !state.stop {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.queue.is_empty() {
                return; // stopping, nothing left to answer
            }
            // Under concurrency (the last round answered several callers), give the callers still on
            // their way up to LINGER to join this round. A lone caller (last round: 1) never waits.
            if last_batch > 1 {
                let deadline = Instant::now() + LINGER;
                while state.queue.len() < last_batch && !state.stop {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    state = shared
                        .wake
                        .wait_timeout(state, deadline - now)
                        .map(|(s, _)| s)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
            }
            std::mem::swap(&mut batch, &mut state.queue);
            last_batch = batch.len();
        }
        let answer = syncer.sync();
        shared.syncs.fetch_add(1, Ordering::Relaxed);
        shared
            .tickets
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        match answer {
            Ok(()) => {
                for tx in batch.drain(..) {
                    let _ = tx.send(Ok(())); // the caller may have stopped waiting
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "durable commit failed; refusing all further commits");
                let reason = format!("{e} (earlier sync failure; restart to recover)");
                let mut state = lock(shared);
                state.dead = Some(reason.clone());
                for tx in batch.drain(..) {
                    let _ = tx.send(Err(StoreError::Commit(e.to_string())));
                }
                for tx in state.queue.drain(..) {
                    let _ = tx.send(Err(StoreError::Commit(reason.clone())));
                }
                return;
            }
        }
    }
}

/// The production syncer: sled's flush, then `fdatasync` on its log and `fsync` on new files and
/// changed directories (sled 0.34 never fsyncs blob files, renamed snapshots or directory entries).
pub(crate) struct DiskSyncer {
    db: sled::Db,
    /// `<dir>/db`, sled's log and page file.
    log: File,
    log_path: PathBuf,
    /// `<dir>` and `<dir>/blobs`, with the entries already known durable.
    dirs: Vec<(PathBuf, HashSet<OsString>)>,
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Commit(format!("{what} {}: {e}", path.display()))
}

impl DiskSyncer {
    pub(crate) fn new(db: sled::Db, dir: &Path) -> Result<DiskSyncer, StoreError> {
        let log_path = dir.join("db");
        let log = File::open(&log_path).map_err(|e| io_err("opening", &log_path, &e))?;
        let dirs = vec![
            (dir.to_path_buf(), HashSet::new()),
            (dir.join("blobs"), HashSet::new()),
        ];
        Ok(DiskSyncer {
            db,
            log,
            log_path,
            dirs,
        })
    }

    /// Fsync every entry of `dir` not seen before, then `dir` itself if its entries changed.
    fn sync_new_entries(dir: &Path, known: &mut HashSet<OsString>) -> Result<(), StoreError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("listing", dir, &e)),
        };
        let mut now = HashSet::with_capacity(known.len());
        let mut changed = false;
        for entry in entries {
            let name = entry.map_err(|e| io_err("listing", dir, &e))?.file_name();
            if !known.contains(&name) {
                changed = true;
                let path = dir.join(&name);
                match File::open(&path).and_then(|f| f.sync_all()) {
                    Ok(()) => {}
                    // Removed meanwhile (a temporary snapshot file): nothing to keep.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err("fsync", &path, &e)),
                }
            }
            now.insert(name);
        }
        changed |= now.len() != known.len();
        if changed {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_err("fsync", dir, &e))?;
        }
        *known = now;
        Ok(())
    }
}

impl Syncer for DiskSyncer {
    fn sync(&mut self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map_err(|e| StoreError::Commit(format!("sled flush: {e}")))?;
        // New blob files first: the log entries that point at them become durable with the fdatasync below.
        for (dir, known) in self.dirs.iter_mut().rev() {
            Self::sync_new_entries(dir, known)?;
        }
        self.log
            .sync_data()
            .map_err(|e| io_err("fdatasync", &self.log_path, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A syncer held at a gate: it reports when a sync starts and waits for the test to release it.
    struct Gated {
        started: mpsc::Sender<()>,
        release: mpsc::Receiver<Result<(), StoreError>>,
    }
    impl Syncer for Gated {
        fn sync(&mut self) -> Result<(), StoreError> {
            self.started.send(()).unwrap();
            self.release.recv().unwrap()
        }
    }

    fn gated() -> (
        Committer,
        mpsc::Receiver<()>,
        mpsc::Sender<Result<(), StoreError>>,
    ) {
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let c = Committer::start(Box::new(Gated {
            started: started_tx,
            release: release_rx,
        }))
        .unwrap();
        (c, started, release)
    }

    fn resolved(ticket: &mut CommitTicket) -> Option<Answer> {
        match &mut ticket.state {
            TicketState::Failed(e) => Some(Err(e.clone())),
            TicketState::Queued(rx) => match rx.try_recv() {
                Ok(a) => Some(a),
                Err(oneshot::error::TryRecvError::Empty) => None,
                Err(oneshot::error::TryRecvError::Closed) => {
                    Some(Err(StoreError::Commit("closed".into())))
                }
            },
        }
    }

    #[test]
    fn a_ticket_waits_for_its_sync_and_later_tickets_wait_for_the_next_round() {
        let (c, started, release) = gated();
        let mut first = c.ticket();
        started.recv_timeout(Duration::from_secs(5)).unwrap();
        // Arrives while the first sync runs: must not be answered by it.
        let mut second = c.ticket();
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            resolved(&mut first).is_none(),
            "answered before the sync finished"
        );
        release.send(Ok(())).unwrap();
        first.wait_blocking().unwrap();
        assert!(
            resolved(&mut second).is_none(),
            "answered by a sync that started before it"
        );
        started.recv_timeout(Duration::from_secs(5)).unwrap();
        release.send(Ok(())).unwrap();
        second.wait_blocking().unwrap();
        assert_eq!(c.stats(), (2, 2));
    }

    #[test]
    fn a_failed_sync_fails_its_tickets_and_every_later_one() {
        let (c, started, release) = gated();
        let first = c.ticket();
        started.recv_timeout(Duration::from_secs(5)).unwrap();
        let queued = c.ticket();
        release
            .send(Err(StoreError::Commit(
                "fdatasync db: Input/output error".into(),
            )))
            .unwrap();
        assert!(
            matches!(first.wait_blocking(), Err(StoreError::Commit(m)) if m.contains("Input/output"))
        );
        assert!(matches!(queued.wait_blocking(), Err(StoreError::Commit(_))));
        let later = c.ticket().wait_blocking().unwrap_err();
        assert!(later.to_string().contains("restart"), "{later}");
    }

    #[test]
    fn a_dead_commit_thread_never_leaves_a_ticket_hanging() {
        struct Panics;
        impl Syncer for Panics {
            fn sync(&mut self) -> Result<(), StoreError> {
                panic!("syncer bug");
            }
        }
        let c = Committer::start(Box::new(Panics)).unwrap();
        assert!(matches!(
            c.ticket().wait_blocking(),
            Err(StoreError::Commit(_))
        ));
        assert!(matches!(
            c.ticket().wait_blocking(),
            Err(StoreError::Commit(_))
        ));
    }

    #[test]
    fn dropping_the_committer_answers_queued_tickets() {
        let (c, started, release) = gated();
        let first = c.ticket();
        started.recv_timeout(Duration::from_secs(5)).unwrap();
        let second = c.ticket();
        release.send(Ok(())).unwrap();
        release.send(Ok(())).unwrap();
        drop(c);
        first.wait_blocking().unwrap();
        second.wait_blocking().unwrap();
    }

    #[test]
    fn wait_works_in_an_async_runtime() {
        let (c, _started, release) = gated();
        release.send(Ok(())).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(c.ticket().wait()).unwrap();
    }
}
