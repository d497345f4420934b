//! CRUD of every record type, compare-and-swap updates, the owner index and corrupt records.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use super::{owner, token};
use crate::{
    AdminRecord, Cas, RealmRecord, RealmResolver, ResolverRecord, SledStore, Store, StoreError,
    TokenFilter,
};

fn serials(store: &SledStore, filter: &TokenFilter) -> Vec<String> {
    store
        .list_tokens(filter)
        .unwrap()
        .into_iter()
        .map(|t| t.serial)
        .collect()
}

#[test]
fn tokens_insert_get_update_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    assert!(store.get_token("HOTP1").unwrap().is_none());

    assert!(store.insert_token(token("HOTP1")).unwrap());
    assert!(
        !store.insert_token(token("HOTP1")).unwrap(),
        "a serial is inserted once"
    );
    assert!(store.insert_token(token("HOTP2")).unwrap());

    let read = store.get_token("HOTP1").unwrap().unwrap();
    assert_eq!(read.value.id, 1);
    assert_eq!(
        read.value,
        crate::TokenRecord {
            id: 1,
            ..token("HOTP1")
        }
    );
    assert_eq!(store.get_token("HOTP2").unwrap().unwrap().value.id, 2);

    let mut next = read.value.clone();
    next.count = 5;
    next.info.insert("count_auth".into(), "1".into());
    assert_eq!(store.update_token(&read, &next).unwrap(), Cas::Done);
    assert_eq!(store.get_token("HOTP1").unwrap().unwrap().value, next);

    // `read` is stale now: its update must not overwrite count 5.
    let mut stale = read.value.clone();
    stale.count = 1;
    assert_eq!(store.update_token(&read, &stale).unwrap(), Cas::Conflict);
    assert_eq!(store.get_token("HOTP1").unwrap().unwrap().value.count, 5);

    let mut renamed = next.clone();
    renamed.serial = "OTHER".into();
    let fresh = store.get_token("HOTP1").unwrap().unwrap();
    assert!(matches!(
        store.update_token(&fresh, &renamed),
        Err(StoreError::Invalid(_))
    ));

    assert!(store.delete_token("HOTP1").unwrap());
    assert!(!store.delete_token("HOTP1").unwrap());
    assert!(store.get_token("HOTP1").unwrap().is_none());
    assert_eq!(
        store.update_token(&fresh, &next).unwrap(),
        Cas::Conflict,
        "a deleted token is not revived"
    );
    assert!(store.get_token("HOTP1").unwrap().is_none());
}

#[test]
fn same_otp_twice_concurrently_is_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    store.insert_token(token("HOTP1")).unwrap();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            std::thread::spawn(move || {
                // Every request read the token before any wrote it: all saw count 0 and the same OTP.
                let read = store.get_token("HOTP1").unwrap().unwrap();
                barrier.wait();
                let mut next = read.value.clone();
                next.count = 1;
                store.update_token(&read, &next).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<Cas> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        outcomes.iter().filter(|c| **c == Cas::Done).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(store.get_token("HOTP1").unwrap().unwrap().value.count, 1);
}

#[test]
fn owner_index_follows_assignment_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut t = token("HOTP1");
    t.owner = owner("corp", "flat", "alice");
    store.insert_token(t).unwrap();
    store.insert_token(token("HOTP2")).unwrap();
    assert_eq!(store.tokens_of_user("flat", "alice").unwrap(), ["HOTP1"]);
    assert!(store.tokens_of_user("flat", "bob").unwrap().is_empty());
    // "alice" is not a prefix match for "alic".
    assert!(store.tokens_of_user("flat", "alic").unwrap().is_empty());

    // Reassign HOTP1 to bob.
    let read = store.get_token("HOTP1").unwrap().unwrap();
    let mut to_bob = read.value.clone();
    to_bob.owner = owner("corp", "flat", "bob");
    assert_eq!(store.update_token(&read, &to_bob).unwrap(), Cas::Done);
    assert!(store.tokens_of_user("flat", "alice").unwrap().is_empty());
    assert_eq!(store.tokens_of_user("flat", "bob").unwrap(), ["HOTP1"]);

    // A stale reassignment conflicts and leaves the index alone.
    let mut to_carol = read.value.clone();
    to_carol.owner = owner("corp", "flat", "carol");
    assert_eq!(store.update_token(&read, &to_carol).unwrap(), Cas::Conflict);
    assert!(store.tokens_of_user("flat", "carol").unwrap().is_empty());
    assert_eq!(store.tokens_of_user("flat", "bob").unwrap(), ["HOTP1"]);

    // Assign HOTP2 to bob too, then unassign HOTP1.
    let read2 = store.get_token("HOTP2").unwrap().unwrap();
    let mut t2 = read2.value.clone();
    t2.owner = owner("corp", "flat", "bob");
    assert_eq!(store.update_token(&read2, &t2).unwrap(), Cas::Done);
    assert_eq!(
        store.tokens_of_user("flat", "bob").unwrap(),
        ["HOTP1", "HOTP2"]
    );
    let read1 = store.get_token("HOTP1").unwrap().unwrap();
    let mut unassigned = read1.value.clone();
    unassigned.owner = None;
    assert_eq!(store.update_token(&read1, &unassigned).unwrap(), Cas::Done);
    assert_eq!(store.tokens_of_user("flat", "bob").unwrap(), ["HOTP2"]);

    assert!(store.delete_token("HOTP2").unwrap());
    assert!(store.tokens_of_user("flat", "bob").unwrap().is_empty());
    assert_eq!(store.owners.len(), 0, "no index entry left behind");
}

#[test]
fn list_tokens_applies_every_filter_in_serial_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut a = token("TOTP0001");
    a.tokentype = "totp".into();
    a.owner = owner("corp", "flat", "alice");
    a.realms = vec!["corp".into()];
    let mut b = token("HOTP0002");
    b.owner = owner("corp", "flat", "alice"); // realm only through the owner
    let mut c = token("HOTP0001");
    c.realms = vec!["lab".into()];
    for t in [a, b, c] {
        store.insert_token(t).unwrap();
    }
    let all = TokenFilter::default();
    assert_eq!(serials(&store, &all), ["HOTP0001", "HOTP0002", "TOTP0001"]);
    let by = |f: TokenFilter| serials(&store, &f);
    assert_eq!(
        by(TokenFilter {
            tokentype: Some("hotp".into()),
            ..all.clone()
        }),
        ["HOTP0001", "HOTP0002"]
    );
    assert_eq!(
        by(TokenFilter {
            realm: Some("corp".into()),
            ..all.clone()
        }),
        ["HOTP0002", "TOTP0001"]
    );
    assert_eq!(
        by(TokenFilter {
            realm: Some("lab".into()),
            ..all.clone()
        }),
        ["HOTP0001"]
    );
    let alice = Some(("flat".to_string(), "alice".to_string()));
    assert_eq!(
        by(TokenFilter {
            owner: alice.clone(),
            ..all.clone()
        }),
        ["HOTP0002", "TOTP0001"]
    );
    assert_eq!(
        by(TokenFilter {
            owner: alice.clone(),
            tokentype: Some("totp".into()),
            ..all.clone()
        }),
        ["TOTP0001"]
    );
    assert_eq!(
        by(TokenFilter {
            serial: Some("HOTP0001".into()),
            ..all.clone()
        }),
        ["HOTP0001"]
    );
    assert!(
        by(TokenFilter {
            serial: Some("HOTP0001".into()),
            owner: alice,
            ..all.clone()
        })
        .is_empty()
    );
    assert!(
        by(TokenFilter {
            serial: Some("NOPE".into()),
            ..all
        })
        .is_empty()
    );
}

#[test]
fn resolvers_realms_admins_config() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();

    let flat = ResolverRecord {
        name: "flat".into(),
        rtype: "passwdresolver".into(),
        data: BTreeMap::from([("fileName".into(), "/etc/passwd".into())]),
    };
    store.put_resolver(&flat).unwrap();
    let ldap = ResolverRecord {
        name: "ldap".into(),
        rtype: "ldapresolver".into(),
        data: BTreeMap::new(),
    };
    store.put_resolver(&ldap).unwrap();
    assert_eq!(store.get_resolver("flat").unwrap(), Some(flat.clone()));
    assert_eq!(store.list_resolvers().unwrap(), [flat.clone(), ldap]);
    assert!(store.delete_resolver("ldap").unwrap());
    assert!(!store.delete_resolver("ldap").unwrap());
    assert_eq!(store.list_resolvers().unwrap(), [flat]);

    let realm = |name: &str, prio: Option<u32>| RealmRecord {
        id: 99, // ignored: the store assigns ids
        name: name.into(),
        resolvers: vec![RealmResolver {
            name: "flat".into(),
            priority: prio,
        }],
    };
    assert_eq!(store.put_realm(realm("corp", None)).unwrap().id, 1);
    assert_eq!(store.put_realm(realm("lab", Some(1))).unwrap().id, 2);
    let replaced = store.put_realm(realm("corp", Some(3))).unwrap();
    assert_eq!(replaced.id, 1, "replacing keeps the id");
    assert_eq!(store.get_realm("corp").unwrap(), Some(replaced));
    assert_eq!(
        store
            .list_realms()
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(store.delete_realm("lab").unwrap());
    assert!(store.get_realm("lab").unwrap().is_none());
    assert_eq!(
        store.put_realm(realm("lab", None)).unwrap().id,
        3,
        "ids are not reused"
    );

    let admin = AdminRecord {
        name: "admin".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    };
    store.put_admin(&admin).unwrap();
    assert_eq!(store.get_admin("admin").unwrap(), Some(admin.clone()));
    assert_eq!(store.list_admins().unwrap(), [admin]);
    assert!(store.delete_admin("admin").unwrap());
    assert!(store.list_admins().unwrap().is_empty());

    assert_eq!(store.get_config("DefaultRealm").unwrap(), None);
    store.set_config("DefaultRealm", "corp").unwrap();
    store.set_config("splitAtSign", "True").unwrap();
    assert_eq!(
        store.get_config("DefaultRealm").unwrap().as_deref(),
        Some("corp")
    );
    store.set_config("DefaultRealm", "lab").unwrap();
    assert_eq!(
        store.get_config("DefaultRealm").unwrap().as_deref(),
        Some("lab")
    );
    assert!(store.delete_config("DefaultRealm").unwrap());
    assert!(!store.delete_config("DefaultRealm").unwrap());
}

#[test]
fn records_and_id_counters_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.insert_token(token("HOTP1")).unwrap();
        store
            .put_realm(RealmRecord {
                id: 0,
                name: "corp".into(),
                resolvers: vec![],
            })
            .unwrap();
        store.set_config("DefaultRealm", "corp").unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        store.get_config("DefaultRealm").unwrap().as_deref(),
        Some("corp")
    );
    assert!(store.insert_token(token("HOTP2")).unwrap());
    assert_eq!(store.get_token("HOTP2").unwrap().unwrap().value.id, 2);
    assert_eq!(
        store
            .put_realm(RealmRecord {
                id: 0,
                name: "lab".into(),
                resolvers: vec![]
            })
            .unwrap()
            .id,
        2
    );
}

#[test]
fn corrupt_records_are_reported_with_their_key_and_can_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut t = token("BROKEN");
        t.owner = owner("corp", "flat", "alice");
        store.insert_token(t).unwrap();
        // Overwrite the records behind the store's back, as a bad disk or a newer build would.
        store
            .tokens
            .insert("BROKEN", &b"\x00\x01not json"[..])
            .unwrap();
        store
            .tokens
            .insert("FUTURE", &br#"{"v":2,"data":{"serial":"FUTURE"}}"#[..])
            .unwrap();
        store.config.insert("k", &b"{}"[..]).unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    let err = store.get_token("BROKEN").unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("tokens/\"BROKEN\"")),
        "{err}"
    );
    let err = store.get_token("FUTURE").unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("unknown record version 2")),
        "{err}"
    );
    assert!(matches!(
        store.list_tokens(&TokenFilter::default()),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(store.get_config("k"), Err(StoreError::Corrupt(_))));

    assert!(store.delete_token("BROKEN").unwrap());
    assert!(
        store.tokens_of_user("flat", "alice").unwrap().is_empty(),
        "index entry removed too"
    );
    assert!(store.delete_token("FUTURE").unwrap());
    assert!(
        store
            .list_tokens(&TokenFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_unknown_store_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.meta.insert("format", &b"7"[..]).unwrap();
    }
    let err = SledStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("unknown store format")),
        "{err}"
    );
}
