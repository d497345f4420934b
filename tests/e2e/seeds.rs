//! Seeds at rest: after enrollment no file under the data dir (nor the server log) holds a token key
//! as raw bytes, hex, base32 or base64, and no answer after the enrollment answer shows it.

use std::fs;
use std::path::{Path, PathBuf};

use data_encoding::{BASE32, BASE32_NOPAD, BASE64, HEXLOWER, HEXUPPER};

use crate::harness::{Server, hotp, now_with_step_margin, serial_of, setup_realm, totp};

/// 32 random-looking bytes: cannot occur by chance in a store file.
const HOTP_KEY: &str = "8f3a9c2e71d04b6a5e19c7f2083db4a6c1e95f7023ab8d4c6e0f1927a3b5c8d1";
const TOTP_KEY: &str = "4be1d37a09c26f85e3a1b7d40c98f2165ad3e7b90f2c84a1d6b35e0972fc1a8e";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every form of `key` a careless implementation could have written.
fn needles(key_hex: &str) -> Vec<(String, Vec<u8>)> {
    let raw = HEXLOWER.decode(key_hex.as_bytes()).unwrap();
    vec![
        ("raw bytes".to_string(), raw.clone()),
        ("hex".to_string(), HEXLOWER.encode(&raw).into_bytes()),
        ("HEX".to_string(), HEXUPPER.encode(&raw).into_bytes()),
        ("base32".to_string(), BASE32_NOPAD.encode(&raw).into_bytes()),
        (
            "base32 padded".to_string(),
            BASE32.encode(&raw).into_bytes(),
        ),
        (
            "base64".to_string(),
            BASE64
                .encode(&raw)
                .trim_end_matches('=')
                .as_bytes()
                .to_vec(),
        ),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

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
    let mut files = Vec::new();
    files_under(&server.data_dir(), &mut files);
    files.push(server.log_path());
    assert!(files.len() > 1, "the data dir is empty: {files:?}");
    for file in &files {
        let bytes = fs::read(file).unwrap();
        for key in keys {
            for (form, needle) in needles(key) {
                assert!(
                    !contains(&bytes, &needle),
                    "{} holds key {key} as {form}",
                    file.display()
                );
            }
        }
    }
}
