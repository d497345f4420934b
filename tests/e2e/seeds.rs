//! Seeds at rest: after enrollment no file under the data dir (nor the server log) holds a token key
//! as raw bytes, hex, base32 or base64, and no answer after the enrollment answer shows it.

use crate::harness::at_rest::{assert_no_key_on_disk, contains, needles};
use crate::harness::{Server, hotp, now_with_step_margin, serial_of, setup_realm, totp};

/// 32 random-looking bytes: cannot occur by chance in a store file.
const HOTP_KEY: &str = "8f3a9c2e71d04b6a5e19c7f2083db4a6c1e95f7023ab8d4c6e0f1927a3b5c8d1";
const TOTP_KEY: &str = "4be1d37a09c26f85e3a1b7d40c98f2165ad3e7b90f2c84a1d6b35e0972fc1a8e";

#[test]
fn no_seed_in_any_file_or_later_answer() {
    let mut server = Server::start();
    let admin = server.admin();
    setup_realm(&server, &admin);

    let hotp_serial = serial_of(&admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", HOTP_KEY),
        ("pin", "p"),
        ("user", "alice"),
    ]));
    let totp_serial =
        serial_of(&admin.init_token(&[("type", "totp"), ("otpkey", TOTP_KEY), ("user", "bob")]));
    let generated = admin.init_token(&[("type", "hotp"), ("genkey", "1")]);
    let generated_key = generated.json["detail"]["otpkey"]["value"]
        .as_str()
        .unwrap()
        .strip_prefix("seed://")
        .unwrap()
        .to_string();
    assert_eq!(
        generated_key.len(),
        40,
        "a generated HOTP key is 20 bytes: {generated}"
    );

    // Use the tokens so counters and fail counts are written too.
    server
        .anon()
        .check(&[
            ("serial", &hotp_serial),
            ("pass", &format!("p{}", hotp(HOTP_KEY, 0))),
        ])
        .expect_auth("ACCEPT", "matching 1 tokens");
    let now = now_with_step_margin(30);
    server
        .anon()
        .check(&[("serial", &totp_serial), ("pass", &totp(TOTP_KEY, now, 30))])
        .expect_auth("ACCEPT", "matching 1 tokens");
    server
        .anon()
        .check(&[("serial", &serial_of(&generated)), ("pass", "000000")]);

    // No later answer shows a key.
    let keys = [HOTP_KEY, TOTP_KEY, generated_key.as_str()];
    let listing = admin.get("/token/", &[]);
    listing.expect_ok();
    for key in keys {
        for (form, needle) in needles(key) {
            assert!(
                !contains(listing.body.as_bytes(), &needle),
                "GET /token/ shows a key as {form}: {listing}"
            );
        }
    }

    // Stop cleanly so everything the server would ever write is written, then scan.
    server.stop();
    assert_no_key_on_disk(&server, &keys);
}
