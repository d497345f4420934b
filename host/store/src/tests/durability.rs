//! Group commit batching, the order write -> sync -> answer, a SIGKILLed process, no clear seed on disk.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use super::token;
use crate::commit::{DiskSyncer, Syncer};
use crate::{Cas, Sealer, SledStore, Store, StoreError};

#[test]
fn concurrent_commits_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let threads = 64;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                assert!(store.insert_token(token(&format!("GC{i:03}"))).unwrap());
                store.commit().wait_blocking()
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let (syncs, tickets) = store.commit_stats();
    println!("group commit: {tickets} tickets answered by {syncs} syncs");
    assert_eq!(tickets, threads as u64);
    assert!(
        syncs < tickets,
        "{syncs} syncs for {tickets} tickets: no batching"
    );
    assert_eq!(
        store.list_tokens(&Default::default()).unwrap().len(),
        threads
    );
}

/// The production syncer, with every step logged next to the test's own steps.
struct Recording {
    inner: DiskSyncer,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl Syncer for Recording {
    fn sync(&mut self) -> Result<(), StoreError> {
        self.log.lock().unwrap().push("sync starts");
        let done = self.inner.sync();
        self.log.lock().unwrap().push("flush + fdatasync done");
        done
    }
}

#[test]
fn a_commit_answers_only_after_a_sync_that_started_after_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let for_syncer = Arc::clone(&log);
    let store = SledStore::open_with(dir.path(), move |db, dir| {
        Ok(Box::new(Recording {
            inner: DiskSyncer::new(db, dir)?,
            log: for_syncer,
        }))
    })
    .unwrap();
    log.lock().unwrap().clear(); // opening syncs once
    for round in 0..3 {
        store.insert_token(token(&format!("T{round}"))).unwrap();
        log.lock().unwrap().push("write returned");
        let ticket = store.commit();
        ticket.wait_blocking().unwrap();
        log.lock().unwrap().push("ticket resolved");
    }
    let expected: Vec<_> = [
        "write returned",
        "sync starts",
        "flush + fdatasync done",
        "ticket resolved",
    ]
    .into_iter()
    .cycle()
    .take(12)
    .collect();
    assert_eq!(*log.lock().unwrap(), expected);
    assert_eq!(store.commit_stats(), (3, 3));
}

const CHILD_ENV: &str = "TESSERA_STORE_CHILD";
const CHILD_DIR_ENV: &str = "TESSERA_STORE_CHILD_DIR";
const COMMITTED: &str = "<<child committed>>";
const CRASH_TEST: &str = "tests::durability::a_killed_process_keeps_its_committed_writes";

/// Kills the child if the test fails before it does.
struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_killed_process_keeps_its_committed_writes() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return crash_child(Path::new(&std::env::var_os(CHILD_DIR_ENV).unwrap()));
    }
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CRASH_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env(CHILD_DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let started = Instant::now();
    loop {
        let line = lines
            .next()
            .expect("child exited before committing")
            .unwrap();
        // libtest prints "test <name> ... " without a newline before the test's own output.
        if line.contains(COMMITTED) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child too slow"
        );
    }
    // SIGKILL: no destructor, no sled shutdown flush, nothing but what the commit made durable.
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    let store = SledStore::open(dir.path()).unwrap();
    let t = store
        .get_token("CRASH1")
        .unwrap()
        .expect("committed token lost");
    assert_eq!(t.value.count, 42, "the committed counter update was lost");
    assert_eq!(store.tokens_of_user("flat", "alice").unwrap(), ["CRASH1"]);
}

fn crash_child(dir: &Path) {
    let store = SledStore::open(dir).unwrap();
    let mut t = token("CRASH1");
    t.owner = super::owner("corp", "flat", "alice");
    assert!(store.insert_token(t).unwrap());
    let read = store.get_token("CRASH1").unwrap().unwrap();
    let mut next = read.value.clone();
    next.count = 42;
    assert_eq!(store.update_token(&read, &next).unwrap(), Cas::Done);
    store.commit().wait_blocking().unwrap();
    println!("{COMMITTED}");
    // Wait to be killed; give up after a minute so a failed parent leaves no process behind.
    std::thread::sleep(Duration::from_secs(60));
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_clear_seed_reaches_the_disk() {
    let seed = b"12345678901234567890"; // RFC 4226's seed, 20 bytes
    let tmp = tempfile::tempdir().unwrap();
    let key_path = tmp.path().join("seal.key");
    Sealer::create_key_file(&key_path).unwrap();
    let sealer = Sealer::from_key_file(&key_path).unwrap();
    let data = tmp.path().join("data");
    let sealed = sealer.seal(b"token:SEED1", seed);
    {
        let store = SledStore::open(&data).unwrap();
        let mut t = token("SEED1");
        t.sealed_key = Some(sealed.clone());
        store.insert_token(t).unwrap();
        let read = store.get_token("SEED1").unwrap().unwrap();
        let mut next = read.value.clone();
        next.count = 1;
        store.update_token(&read, &next).unwrap();
        store.commit().wait_blocking().unwrap();
        let back = store
            .get_token("SEED1")
            .unwrap()
            .unwrap()
            .value
            .sealed_key
            .unwrap();
        assert_eq!(sealer.open(b"token:SEED1", &back).unwrap().as_slice(), seed);
    }
    let mut files = Vec::new();
    files_under(&data, &mut files);
    let needles: [(&str, Vec<u8>); 3] = [
        ("raw", seed.to_vec()),
        ("hex", hex::encode(seed).into_bytes()),
        ("HEX", hex::encode_upper(seed).into_bytes()),
    ];
    let mut sealed_seen = false;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for (form, needle) in &needles {
            assert!(
                !contains(&bytes, needle),
                "{form} seed found in {}",
                file.display()
            );
        }
        sealed_seen |= contains(&bytes, hex::encode(&sealed).as_bytes());
    }
    // Control: the scan does see the record, so the absence above means something.
    assert!(
        sealed_seen,
        "the sealed seed was not found in any of {files:?}"
    );
}

/// Not a benchmark harness, just the order of magnitude of the hot path:
/// `cargo test --release -p tessera-store -- --ignored --nocapture hot_path`.
#[test]
#[ignore]
fn hot_path_timing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    for i in 0..1000 {
        store.insert_token(token(&format!("HOTP{i:04}"))).unwrap();
    }
    let n = 100_000u32;
    let start = Instant::now();
    for i in 0..n {
        let read = store
            .get_token(&format!("HOTP{:04}", i % 1000))
            .unwrap()
            .unwrap();
        std::hint::black_box(&read);
    }
    let get = start.elapsed() / n;
    let start = Instant::now();
    for i in 0..n {
        let read = store
            .get_token(&format!("HOTP{:04}", i % 1000))
            .unwrap()
            .unwrap();
        let mut next = read.value.clone();
        next.count += 1;
        assert_eq!(store.update_token(&read, &next).unwrap(), Cas::Done);
    }
    let get_update = start.elapsed() / n;
    let start = Instant::now();
    for _ in 0..200 {
        store
            .insert_token(token(&format!("C{}", start.elapsed().as_nanos())))
            .unwrap();
        store.commit().wait_blocking().unwrap();
    }
    let commit = start.elapsed() / 200;
    println!(
        "get_token {get:?}, get + update_token {get_update:?}, insert + commit (c=1) {commit:?}"
    );
}
