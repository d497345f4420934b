//! Challenges (per transaction, single use, expiry purge) and policy records.

use std::sync::{Arc, Barrier};

use crate::{ChallengeRecord, PolicyRecord, SledStore, Store};

fn challenge(tx: &str, serial: &str, expires: f64) -> ChallengeRecord {
    ChallengeRecord {
        transaction_id: tx.into(),
        serial: serial.into(),
        data: String::new(),
        created: expires - 120.0,
        expires,
        answered: false,
    }
}

#[test]
fn challenges_are_grouped_by_transaction_and_taken_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let tx = "12345678901234567890";
    store
        .put_challenge(&challenge(tx, "HOTP1", 1000.0))
        .unwrap();
    store
        .put_challenge(&challenge(tx, "HOTP2", 1000.0))
        .unwrap();
    // A transaction id that is a prefix of another must not see the other's challenges.
    store
        .put_challenge(&challenge("1234567890123456789", "HOTP3", 1000.0))
        .unwrap();
    let found: Vec<String> = store
        .challenges(tx)
        .unwrap()
        .into_iter()
        .map(|c| c.serial)
        .collect();
    assert_eq!(found, ["HOTP1", "HOTP2"]);

    // Eight threads race to take the same transaction: exactly two challenges are taken in all.
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.take_challenges(tx).unwrap()
            })
        })
        .collect();
    let taken: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(taken, 2);
    assert!(store.challenges(tx).unwrap().is_empty());
    assert_eq!(store.challenges("1234567890123456789").unwrap().len(), 1);
}

#[test]
fn expired_challenges_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    store.put_challenge(&challenge("1", "A", 100.0)).unwrap();
    store.put_challenge(&challenge("2", "B", 200.0)).unwrap();
    store.put_challenge(&challenge("3", "C", 300.0)).unwrap();
    assert_eq!(store.purge_challenges(250.0).unwrap(), 2);
    assert!(store.challenges("1").unwrap().is_empty());
    assert_eq!(store.challenges("3").unwrap().len(), 1);
}

#[test]
fn policies_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        for name in ["pol_b", "pol_a"] {
            store
                .put_policy(&PolicyRecord {
                    name: name.into(),
                    body: format!("{{\"name\":\"{name}\"}}"),
                })
                .unwrap();
        }
        store.commit().wait_blocking().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    let names: Vec<String> = store
        .list_policies()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["pol_a", "pol_b"]);
    assert!(store.delete_policy("pol_a").unwrap());
    assert!(!store.delete_policy("pol_a").unwrap());
    assert_eq!(store.list_policies().unwrap().len(), 1);
}
