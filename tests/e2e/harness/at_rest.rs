//! Looking for token keys where they must not be: every form a careless implementation could have
//! written, in every file of a stopped server's data dir and its log.

use std::fs;
use std::path::{Path, PathBuf};

use data_encoding::{BASE32, BASE32_NOPAD, BASE64, HEXLOWER, HEXUPPER};

use super::Server;

/// Every form of `key` (hex) a careless implementation could have written.
pub fn needles(key_hex: &str) -> Vec<(&'static str, Vec<u8>)> {
    let raw = HEXLOWER.decode(key_hex.as_bytes()).unwrap();
    vec![
        ("raw bytes", raw.clone()),
        ("hex", HEXLOWER.encode(&raw).into_bytes()),
        ("HEX", HEXUPPER.encode(&raw).into_bytes()),
        ("base32", BASE32_NOPAD.encode(&raw).into_bytes()),
        ("base32 padded", BASE32.encode(&raw).into_bytes()),
        (
            "base64",
            BASE64
                .encode(&raw)
                .trim_end_matches('=')
                .as_bytes()
                .to_vec(),
        ),
    ]
}

/// Does `haystack` hold `needle` anywhere?
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

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

/// Panics if a file under the (stopped) server's data dir, or its log, holds one of `keys`.
pub fn assert_no_key_on_disk(server: &Server, keys: &[&str]) {
    let mut files = Vec::new();
    files_under(&server.data_dir(), &mut files);
    assert!(files.len() > 1, "the data dir is empty: {files:?}");
    files.push(server.log_path());
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
