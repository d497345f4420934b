//! The shared test harness: server process, HTTP client, oathtool OTPs, captured-answer comparison,
//! and the user store every test realm is built on.

pub mod api;
pub mod at_rest;
pub mod otp;
pub mod server;
pub mod shape;

use std::fs;
use std::path::PathBuf;

pub use api::{Api, Resp};
pub use otp::{RFC_KEY, RFC_KEY_B32, hotp, hotp_range, now_with_step_margin, totp};
pub use server::{Options, Server};
pub use shape::{Captured, Mismatches};

/// alice / alicepw and bob / bobpw as SHA-512 crypt hashes, the same lines as the privacyIDEA anchor's
/// `users.passwd` (made with Python 3.11 `crypt.crypt('alicepw', '$6$anchorsaltalice$')` and
/// `crypt.crypt('bobpw', '$6$anchorsaltbob$')`), so `/user/` answers can be compared value for value.
pub const USERS_PASSWD: &str = "\
alice:$6$anchorsaltalice$M01F41nrsfxDdTFCSvmsKcE/fCynCjBOCSPvP/74xG4r2eQzDY3NxFQnTt/GdnQdWrjo897oUkXvbhnjSf/ca.:1000:1000:Alice Anchor,Room 1,+49111,+49222,alice@example.com:/home/alice:/bin/bash
bob:$6$anchorsaltbob$c9RoJYIKpqXqDwddfFiqLd6iAs8SWo8QbCCi.8yS7lThEnur034gjg3KVUzEy3q0EKqCIRW/M2AjQUz1dYxwX.:1001:1001:Bob Anchor,,,,bob@example.com:/home/bob:/bin/bash
";

/// The answers of the three calls that build realm `realm1`.
pub struct RealmSetup {
    pub resolver: Resp,
    pub realm: Resp,
    pub default_realm: Resp,
}

/// Writes `users.passwd` into the server's root and creates resolver `flat1` (passwdresolver over it),
/// realm `realm1` with it, and makes `realm1` the default realm, as the privacyIDEA capture did.
pub fn setup_realm(server: &Server, admin: &Api) -> RealmSetup {
    let passwd: PathBuf = server.root().join("users.passwd");
    fs::write(&passwd, USERS_PASSWD).unwrap();
    let file = passwd.to_str().unwrap();
    let resolver = admin.post(
        "/resolver/flat1",
        &[("type", "passwdresolver"), ("fileName", file)],
    );
    resolver.expect_ok();
    let realm = admin.post("/realm/realm1", &[("resolvers", "flat1")]);
    realm.expect_ok();
    let default_realm = admin.post("/defaultrealm/realm1", &[]);
    default_realm.expect_ok();
    RealmSetup {
        resolver,
        realm,
        default_realm,
    }
}

/// Enrolls an HOTP token with the RFC 4226 key and no user; returns its serial.
/// `pin` may be empty (then `pass` is the OTP alone).
pub fn enroll_rfc_hotp(admin: &Api, serial: &str, pin: &str) -> String {
    let resp = admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("serial", serial),
        ("pin", pin),
    ]);
    serial_of(&resp)
}

/// `detail.serial` of a `/token/init` answer.
pub fn serial_of(resp: &Resp) -> String {
    resp.json["detail"]["serial"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail.serial in {resp}"))
        .to_string()
}
