//! A real `tessera` server for the enroll tests: temporary data dir, one admin, a flat-file realm with alice.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "adminpass";
/// alice / alicepw (SHA-512 crypt), the line the e2e tests use.
const USERS_PASSWD: &str = "alice:$6$anchorsaltalice$M01F41nrsfxDdTFCSvmsKcE/fCynCjBOCSPvP/74xG4r2eQzDY3NxFQnTt/GdnQdWrjo897oUkXvbhnjSf/ca.:1000:1000:Alice Anchor,Room 1,+49111,+49222,alice@example.com:/home/alice:/bin/bash\n";

pub struct Server {
    _root: tempfile::TempDir,
    child: Child,
    pub base: String,
    jwt: String,
}

/// `target/release/tessera`, built once (`cargo build --release -p tessera`); `TESSERA_BIN` overrides.
fn tessera_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("TESSERA_BIN") {
            return PathBuf::from(bin);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = Command::new(cargo)
            .args(["build", "--release", "-p", "tessera"])
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo build -p tessera failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), |d| root.join(d));
        target.join("release").join("tessera")
    })
}

impl Server {
    /// Started, with realm `realm1` (resolver `flat1` over a passwd file holding alice).
    pub fn start() -> Server {
        let root = tempfile::Builder::new()
            .prefix("tessera-hwtool-e2e-")
            .tempdir()
            .unwrap();
        let config = root.path().join("config.toml");
        let data = root.path().join("data");
        fs::write(
            &config,
            "[pin_hash]\nt_cost = 1\nm_cost_kib = 1024\np_cost = 1\n",
        )
        .unwrap();
        fs::create_dir(&data).unwrap();
        let mut add = Command::new(tessera_bin())
            .args(["admin", "add", ADMIN, "--data-dir"])
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        add.stdin
            .take()
            .unwrap()
            .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
            .unwrap();
        let out = add.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "tessera admin add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = fs::File::create(root.path().join("server.log")).unwrap();
        let mut child = Command::new(tessera_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("tessera listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("tessera serve did not start");
        let mut server = Server {
            _root: root,
            child,
            base,
            jwt: String::new(),
        };
        let auth = server.post(
            "/auth",
            &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
        );
        server.jwt = auth["result"]["value"]["token"]
            .as_str()
            .unwrap()
            .to_string();
        let passwd = server._root.path().join("users.passwd");
        fs::write(&passwd, USERS_PASSWD).unwrap();
        let file = passwd.to_str().unwrap().to_string();
        server.post_ok(
            "/resolver/flat1",
            &[("type", "passwdresolver"), ("fileName", &file)],
        );
        server.post_ok("/realm/realm1", &[("resolvers", "flat1")]);
        server
    }

    /// POST a form (with the admin JWT once logged in); the JSON answer, whatever the status.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let mut req = ureq::post(&format!("{}{path}", self.base));
        if !self.jwt.is_empty() {
            req = req.set("Authorization", &self.jwt);
        }
        let resp = match req.send_form(form) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        serde_json::from_str(&resp.into_string().unwrap()).unwrap()
    }

    pub fn post_ok(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let v = self.post(path, form);
        assert_eq!(v["result"]["status"], Value::Bool(true), "POST {path}: {v}");
        v
    }

    /// `result.authentication` of POST /validate/check.
    pub fn check(&self, user: &str, pass: &str) -> String {
        let v = self.post(
            "/validate/check",
            &[("user", user), ("realm", "realm1"), ("pass", pass)],
        );
        v["result"]["authentication"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The tokens with this serial.
    pub fn tokens(&self, serial: &str) -> Vec<Value> {
        let resp = ureq::get(&format!("{}/token/", self.base))
            .query("serial", serial)
            .set("Authorization", &self.jwt)
            .call()
            .unwrap();
        let v: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
        v["result"]["value"]["tokens"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
