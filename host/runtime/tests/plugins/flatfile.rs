//! The flat-file resolver (`passwdresolver`) through the `files` and `passwords` capabilities:
//! lookups, user info, wildcard listing, crypt SHA-512 password checks, and the host's file cache
//! and a warm instance's parsed users following changes of the file.

use std::path::Path;
use std::time::{Duration, SystemTime};

use tessera_runtime::{CallError, Pairs, PluginErrorCode};

use crate::{both, pairs};

/// `openssl passwd -6 -salt saltsalt secret`
const ALICE_HASH: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";

fn write_passwd(path: &Path) {
    // Bob's hash is made by sha-crypt with a random salt; carol has a locked account.
    let bob_hash =
        sha_crypt::sha512_simple("b0b-pass", &sha_crypt::Sha512Params::default()).unwrap();
    let text = format!(
        "# test users\n\
         alice:{ALICE_HASH}:1000:1000:Alice Anchor,Room 1,+49111,+49222,alice@example.com:/home/alice:/bin/bash\n\
         bob:{bob_hash}:1001:1001:Bob Builder,,,,bob@example.com:/home/bob:/bin/sh\n\
         albert:x:1002:1002:Albert Einstein:/home/albert:/bin/sh\n\
         carol:!{ALICE_HASH}:1003:1003:Carol:/home/carol:/bin/sh\n"
    );
    std::fs::write(path, text).unwrap();
}

fn config(path: &Path) -> Pairs {
    pairs(&[("fileName", path.to_str().unwrap())])
}

#[test]
fn describe_declares_the_file_field() {
    let info = both()[0].1.resolver_type("passwdresolver").unwrap();
    let field = info
        .config_fields
        .iter()
        .find(|f| f.name == "fileName")
        .unwrap();
    assert_eq!(field.kind, tessera_runtime::FieldKind::File);
}

#[test]
fn lookups_user_info_and_wildcards() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passwd");
    write_passwd(&path);
    let cfg = config(&path);
    for (mode, rt) in both() {
        let r = "flat-users";
        assert_eq!(
            rt.resolver_test("passwdresolver", &cfg).unwrap(),
            4,
            "{mode}"
        );
        assert_eq!(
            rt.get_user_id("passwdresolver", r, &cfg, "alice")
                .unwrap()
                .as_deref(),
            Some("1000"),
            "{mode}"
        );
        assert_eq!(
            rt.get_user_id("passwdresolver", r, &cfg, "mallory")
                .unwrap(),
            None,
            "{mode}"
        );

        let alice = rt
            .get_user("passwdresolver", r, &cfg, "1000")
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                alice.username.as_str(),
                alice.givenname.as_str(),
                alice.surname.as_str()
            ),
            ("alice", "Alice", "Anchor")
        );
        assert_eq!(
            (alice.mobile.as_str(), alice.phone.as_str()),
            ("+49111", "+49222")
        );
        assert_eq!(alice.email, "alice@example.com");
        assert_eq!(
            rt.get_user("passwdresolver", r, &cfg, "4242").unwrap(),
            None,
            "{mode}"
        );

        let names = |filter: &[(&str, &str)]| -> Vec<String> {
            let users = rt
                .list_users("passwdresolver", r, &cfg, &pairs(filter))
                .unwrap();
            users.into_iter().map(|u| u.username).collect()
        };
        assert_eq!(names(&[("username", "al*")]), ["alice", "albert"], "{mode}");
        assert_eq!(
            names(&[("email", "*@example.com")]),
            ["alice", "bob"],
            "{mode}"
        );
        assert_eq!(names(&[]).len(), 4, "{mode}");
        assert!(names(&[("username", "zz*")]).is_empty(), "{mode}");
    }
}

#[test]
fn passwords_are_checked_against_sha512_crypt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passwd");
    write_passwd(&path);
    let cfg = config(&path);
    for (mode, rt) in both() {
        let check = |uid: &str, pw: &str| {
            rt.check_password("passwdresolver", "flat-pw", &cfg, uid, pw)
                .unwrap()
        };
        assert!(check("1000", "secret"), "{mode}: openssl hash");
        assert!(!check("1000", "Secret"), "{mode}");
        assert!(check("1001", "b0b-pass"), "{mode}: sha-crypt hash");
        assert!(!check("1001", "secret"), "{mode}");
        assert!(
            !check("1002", "anything"),
            "{mode}: no hash in the passwd file"
        );
        assert!(!check("1003", "secret"), "{mode}: locked account");
        assert!(!check("9999", "secret"), "{mode}: unknown user");
    }
}

#[test]
fn the_file_is_read_again_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passwd");
    write_passwd(&path);
    let cfg = config(&path);
    for (mode, rt) in both() {
        write_passwd(&path);
        assert_eq!(
            rt.get_user_id("passwdresolver", "flat-change", &cfg, "dave")
                .unwrap(),
            None,
            "{mode}"
        );
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("dave:x:1004:1004:Dave:/home/dave:/bin/sh\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            rt.get_user_id("passwdresolver", "flat-change", &cfg, "dave")
                .unwrap()
                .as_deref(),
            Some("1004"),
            "{mode}"
        );
    }
}

/// Set the modification time of `path`, so a test does not depend on how finely the file system
/// clock ticks between two writes.
fn set_mtime(path: &Path, mtime: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

#[test]
fn a_warm_instance_sees_the_rewritten_file() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = SystemTime::now() - Duration::from_secs(3600);
    for (mode, rt) in both() {
        let path = dir.path().join(mode);
        write_passwd(&path);
        set_mtime(&path, t0);
        let cfg = config(&path);
        let id = |login: &str| {
            rt.get_user_id("passwdresolver", "flat-rewrite", &cfg, login)
                .unwrap()
        };
        // The pooled instance parses the file here and keeps the users.
        assert_eq!(id("alice").as_deref(), Some("1000"), "{mode}");
        assert_eq!(id("dave"), None, "{mode}");

        // A user added: the file grows and its mtime moves on.
        let with_dave = std::fs::read_to_string(&path).unwrap()
            + "dave:x:1004:1004:Dave Diver:/home/dave:/bin/sh\n";
        std::fs::write(&path, &with_dave).unwrap();
        set_mtime(&path, t0 + Duration::from_secs(1));
        assert_eq!(id("dave").as_deref(), Some("1004"), "{mode}");
        let dave = rt
            .get_user("passwdresolver", "flat-rewrite", &cfg, "1004")
            .unwrap()
            .unwrap();
        assert_eq!(
            (dave.givenname.as_str(), dave.surname.as_str()),
            ("Dave", "Diver")
        );

        // Dave renamed to erin: the same length, so only the mtime, one nanosecond later, tells.
        let with_erin = with_dave.replace(
            "dave:x:1004:1004:Dave Diver:/home/dave",
            "erin:x:1004:1004:Erin Eagle:/home/erin",
        );
        assert_eq!(with_erin.len(), with_dave.len());
        std::fs::write(&path, &with_erin).unwrap();
        set_mtime(&path, t0 + Duration::from_secs(1) + Duration::from_nanos(1));
        assert_eq!(id("dave"), None, "{mode}");
        assert_eq!(id("erin").as_deref(), Some("1004"), "{mode}");
        assert_eq!(id("alice").as_deref(), Some("1000"), "{mode}");

        // A removed file is an error, not the users parsed before.
        std::fs::remove_file(&path).unwrap();
        let err = rt
            .get_user_id("passwdresolver", "flat-rewrite", &cfg, "alice")
            .unwrap_err();
        assert!(
            matches!(
                err,
                CallError::Plugin {
                    code: PluginErrorCode::Unavailable,
                    ..
                }
            ),
            "{mode}: {err:?}"
        );
    }
}

#[test]
fn missing_or_unreadable_files_are_plugin_errors() {
    for (mode, rt) in both() {
        let err = rt
            .get_user_id("passwdresolver", "flat-missing", &pairs(&[]), "alice")
            .unwrap_err();
        assert!(
            matches!(
                err,
                CallError::Plugin {
                    code: PluginErrorCode::MissingParameter | PluginErrorCode::BadConfig,
                    ..
                }
            ),
            "{mode}: {err:?}"
        );

        let cfg = pairs(&[("fileName", "/nonexistent/passwd")]);
        match rt
            .get_user_id("passwdresolver", "flat-missing", &cfg, "alice")
            .unwrap_err()
        {
            CallError::Plugin { code, message } => {
                assert_eq!(code, PluginErrorCode::Unavailable, "{mode}");
                assert!(message.contains("/nonexistent/passwd"), "{mode}: {message}");
            }
            other => panic!("{mode}: {other:?}"),
        }
        // "test resolver" reports the same as a configuration error.
        let err = rt.resolver_test("passwdresolver", &cfg).unwrap_err();
        assert!(
            matches!(
                err,
                CallError::Plugin {
                    code: PluginErrorCode::BadConfig,
                    ..
                }
            ),
            "{mode}: {err:?}"
        );
    }
}
