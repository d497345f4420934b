//! Prints what the audit log costs: RSA signing, `append` on the caller's thread, the writer's sustained
//! rate with 1, 8 and 32 producers (against a plain bounded channel), and search/verify per 100k entries.
//! Run: `cargo bench -p tessera-audit --bench append` (files go to a temporary directory on the data disk).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tessera_audit::{AuditConfig, AuditKeys, AuditLog, Entry, SearchQuery, Timestamp};

fn entry(i: u64) -> Entry {
    let start = Timestamp::from_unix(1_796_315_926.0 + i as f64 / 1000.0);
    let mut e = Entry::new("POST /validate/check", start, start.minus_micros(-48_204));
    e.success = !i.is_multiple_of(4);
    e.authentication = Some(if e.success { "ACCEPT" } else { "REJECT" }.into());
    e.user = Some(format!("user{}", i % 1000));
    e.realm = Some("realm1".into());
    e.resolver = Some("flat1".into());
    e.serial = Some(format!("OATH{:08}", i % 1000));
    e.token_type = Some("hotp".into());
    e.info = Some("matching 1 tokens".into());
    e.client = Some("10.0.0.7".into());
    e.user_agent = Some("privacyidea-cp/3.8 Windows/Laptop-1234".into());
    e.action_detail = Some(String::new());
    e.policies = Some(String::new());
    e.privacyidea_server = Some("node1".into());
    e
}

fn per(d: Duration, n: u64) -> String {
    let ns = d.as_nanos() as f64 / n as f64;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn signing(keys: &AuditKeys) {
    let n = 50;
    let t = Instant::now();
    for i in 0..n {
        keys.sign(format!("tessera-audit/checkpoint/v1 {i}").as_bytes())
            .unwrap();
    }
    println!(
        "RSA-2048 PSS sign (one per batch):      {}",
        per(t.elapsed(), n)
    );
    let sig = keys.sign(b"x").unwrap();
    let t = Instant::now();
    for _ in 0..n * 10 {
        assert!(keys.public().verify(b"x", &sig));
    }
    println!(
        "RSA-2048 PSS verify:                    {}",
        per(t.elapsed(), n * 10)
    );
    let capture: serde_json::Value =
        serde_json::from_str(include_str!("../testdata/97-audit.json")).unwrap();
    let body = capture["response"].clone();
    let t = Instant::now();
    for _ in 0..n {
        let mut b = body.clone();
        keys.add_signature(&mut b, Some("nonce"));
    }
    println!(
        "sign_response (capture 97, 5.4 kB):     {}",
        per(t.elapsed(), n)
    );
}

/// `producers` threads push `total` prebuilt entries through `send`; returns (caller ns/append, entries/s until
/// everything is durable).
fn drive(producers: usize, total: u64, log: Option<&Arc<AuditLog>>) -> (Duration, Duration, u64) {
    let per_thread = total / producers as u64;
    let barrier = Arc::new(Barrier::new(producers + 1));
    let (base_tx, base_rx) = sync_channel::<Entry>(AuditConfig::default().queue);
    let consumer = std::thread::spawn(move || base_rx.iter().count());
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let barrier = Arc::clone(&barrier);
            let log = log.cloned();
            let base_tx = base_tx.clone();
            std::thread::spawn(move || {
                let entries: Vec<Entry> = (0..per_thread)
                    .map(|i| entry(p as u64 * per_thread + i))
                    .collect();
                barrier.wait();
                let t = Instant::now();
                for e in entries {
                    match &log {
                        Some(log) => log.append(e).unwrap(),
                        None => base_tx.send(e).unwrap(),
                    }
                }
                t.elapsed()
            })
        })
        .collect();
    drop(base_tx);
    barrier.wait();
    let t = Instant::now();
    let caller: Duration = handles.into_iter().map(|h| h.join().unwrap()).sum();
    if let Some(log) = log {
        log.flush().unwrap();
    }
    let consumed = consumer.join().unwrap() as u64;
    let wall = t.elapsed();
    (
        caller / producers as u32,
        wall,
        if log.is_some() {
            per_thread * producers as u64
        } else {
            consumed
        },
    )
}

fn checkpoints(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|f| std::fs::read_to_string(f.unwrap().path()).ok())
        .map(|t| {
            t.lines()
                .filter(|l| l.starts_with("{\"checkpoint\""))
                .count() as u64
        })
        .sum()
}

fn main() {
    let keys = AuditKeys::from_pem(include_str!("../testdata/test-private.pem")).unwrap();
    signing(&keys);
    let base = std::env::var_os("TMPDIR").unwrap_or_else(|| "/tmp".into());

    // The caller's cost with room in the queue: bursts smaller than the queue, each call timed.
    let dir = tempfile::tempdir_in(&base).unwrap();
    let log = AuditLog::open(dir.path(), keys.clone(), AuditConfig::default()).unwrap();
    let (tx, rx) = sync_channel::<Entry>(AuditConfig::default().queue);
    let consumer = std::thread::spawn(move || rx.iter().count());
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    for round in 0..10u64 {
        let entries: Vec<Entry> = (0..2000).map(|i| entry(round * 2000 + i)).collect();
        let copies = entries.clone();
        for e in entries {
            let t = Instant::now();
            log.append(e).unwrap();
            ours.push(t.elapsed());
        }
        for e in copies {
            let t = Instant::now();
            tx.send(e).unwrap();
            plain.push(t.elapsed());
        }
        log.flush().unwrap();
    }
    drop(tx);
    consumer.join().unwrap();
    ours.sort();
    plain.sort();
    let pct = |v: &[Duration], p: usize| per(v[v.len() * p / 100], 1);
    println!(
        "append, queue not full (10 bursts of 2000): median {}, p99 {} (plain bounded channel: median {}, p99 {})",
        pct(&ours, 50),
        pct(&ours, 99),
        pct(&plain, 50),
        pct(&plain, 99)
    );
    drop(log);

    let total = 200_000;
    println!(
        "sustained, {total} entries (queue {}):",
        AuditConfig::default().queue
    );
    for producers in [1, 8, 32] {
        let dir = tempfile::tempdir_in(&base).unwrap();
        let log =
            Arc::new(AuditLog::open(dir.path(), keys.clone(), AuditConfig::default()).unwrap());
        let (caller, wall, n) = drive(producers, total, Some(&log));
        let (b_caller, b_wall, b_n) = drive(producers, total, None);
        let batches = checkpoints(dir.path());
        println!(
            "  {producers:>2} producers: audit log {:>8.0} entries/s durable, {} per append on the caller, \
             {batches} batches (avg {:.0}); plain channel {:>9.0} entries/s, {} per send",
            n as f64 / wall.as_secs_f64(),
            per(caller, n / producers as u64),
            n as f64 / batches.max(1) as f64,
            b_n as f64 / b_wall.as_secs_f64(),
            per(b_caller, b_n / producers as u64),
        );
        if producers == 32 {
            let log = Arc::try_unwrap(log).unwrap();
            let now = Timestamp::from_unix(1_796_315_926.0);
            for (what, params) in [
                ("desc, page 1, no filter", vec![]),
                ("desc, page 1, user=user7", vec![("user", "user7")]),
                (
                    "asc, page 100, action=*check",
                    vec![("action", "*check"), ("page", "100")],
                ),
            ] {
                let q = SearchQuery::from_params(params).unwrap();
                let t = Instant::now();
                let page = log.search(&q, now).unwrap();
                println!(
                    "  search {what}: {} per 100k entries ({} matches)",
                    per(t.elapsed() * 100_000 / n as u32, 1),
                    page.count
                );
            }
            let t = Instant::now();
            let report = log.verify().unwrap();
            assert!(report.is_ok(), "{report}");
            println!(
                "  verify: {} per 100k entries",
                per(t.elapsed() * 100_000 / n as u32, 1)
            );
            let bytes: u64 = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|f| f.unwrap().metadata().unwrap().len())
                .sum();
            println!("  disk: {} bytes per entry", bytes / n);
        }
    }
}
