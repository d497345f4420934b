//! Starts, kills and restarts a real `tessera serve` process on an ephemeral port with a temporary data dir.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::api::Api;

/// Password of the `admin` account every test server is created with.
pub const ADMIN_PASSWORD: &str = "adminpass";

/// What to put in the server's config file and plugin dir. `Default` is a plain server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `[plugins] instance_mode`: `"pooled"` or `"fresh"`.
    pub instance_mode: Option<&'static str>,
    /// `[plugins] time_limit_ms`.
    pub time_limit_ms: Option<u64>,
    /// `[plugins] memory_limit_mib`.
    pub memory_limit_mib: Option<u64>,
    /// Hostile fixture plugins (from `tessera-bundled`) to install into a `--plugin-dir`.
    pub fixture_plugins: Vec<&'static str>,
    /// Install the fixtures' manifests without their `[limits]` table, so the config's limits apply.
    pub strip_manifest_limits: bool,
    /// Run the server under libfaketime (Debian's `faketime` package) so that the test can move
    /// its wall clock with `Server::shift_clock`; monotonic time (timers) is left alone.
    pub fake_clock: bool,
    /// More TOML tables appended to the config file (e.g. a `[throttle]` table).
    pub extra_config: &'static str,
}

/// libfaketime's multi-threaded preload library on Debian.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// One server: its temporary root (data dir, config, plugin dir, log) and the running process.
///
/// Layout of the root: `data/` (the `--data-dir`), `config.toml`, `plugins/`, `server.log`
/// (the server's stderr, appended across restarts), `users.passwd` (written by the tests).
pub struct Server {
    root: TempDir,
    has_plugin_dir: bool,
    fake_clock: bool,
    child: Option<Child>,
    base: String,
}

impl Server {
    /// A server with the default options, an `admin` account, started and listening.
    pub fn start() -> Server {
        Server::start_with(Options::default())
    }

    pub fn start_with(opts: Options) -> Server {
        let root = tempfile::Builder::new()
            .prefix("tessera-e2e-")
            .tempdir()
            .unwrap();
        fs::write(root.path().join("config.toml"), config_toml(&opts)).unwrap();
        fs::create_dir(root.path().join("data")).unwrap();
        let has_plugin_dir = !opts.fixture_plugins.is_empty();
        if has_plugin_dir {
            let dir = root.path().join("plugins");
            fs::create_dir(&dir).unwrap();
            for name in &opts.fixture_plugins {
                fs::copy(
                    tessera_bundled::fixture_path(name),
                    dir.join(format!("{name}.wasm")),
                )
                .unwrap();
                let manifest =
                    fs::read_to_string(tessera_bundled::fixture_manifest_path(name)).unwrap();
                let manifest = match (opts.strip_manifest_limits, manifest.find("[limits]")) {
                    (true, Some(at)) => manifest[..at].to_string(),
                    _ => manifest,
                };
                fs::write(dir.join(format!("{name}.toml")), manifest).unwrap();
            }
        }
        let mut server = Server {
            root,
            has_plugin_dir,
            fake_clock: opts.fake_clock,
            child: None,
            base: String::new(),
        };
        server.add_admin("admin", ADMIN_PASSWORD);
        server.spawn();
        server
    }

    /// `tessera admin add NAME` with the password on stdin (not a terminal, so one line is read).
    pub fn add_admin(&self, name: &str, password: &str) {
        let mut child = Command::new(tessera_bin())
            .args(["admin", "add", name, "--data-dir"])
            .arg(self.data_dir())
            .arg("--config")
            .arg(self.config_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "tessera admin add failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `tessera serve` on the data dir and waits for its "listening" line.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut cmd = Command::new(tessera_bin());
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(self.data_dir())
            .arg("--config")
            .arg(self.config_path());
        if self.fake_clock {
            assert!(
                Path::new(LIBFAKETIME).exists(),
                "{LIBFAKETIME} is missing: install Debian's faketime package (scripts/setup.sh does)"
            );
            let clock = self.root.path().join("faketime");
            if !clock.exists() {
                fs::write(&clock, "+0\n").unwrap();
            }
            cmd.env("LD_PRELOAD", LIBFAKETIME)
                .env("FAKETIME_TIMESTAMP_FILE", &clock)
                .env("FAKETIME_NO_CACHE", "1")
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        if self.has_plugin_dir {
            cmd.arg("--plugin-dir")
                .arg(self.root.path().join("plugins"));
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout after the first line so the server never blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("tessera listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        self.child = Some(child);
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => self.base = url,
            Err(e) => {
                self.kill9();
                panic!(
                    "tessera serve did not print its listening line ({e}); log:\n{}",
                    self.log_tail(60)
                );
            }
        }
    }

    /// SIGKILL: no shutdown code runs. Waits until the process is gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGKILL);
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait (a clean shutdown); SIGKILL after 20 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                if Instant::now() > deadline {
                    signal(&child, libc::SIGKILL);
                    let _ = child.wait();
                    panic!(
                        "tessera serve ignored SIGTERM for 20 s; log:\n{}",
                        self.log_tail(40)
                    );
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts the server again on the same data dir (after `kill9` or `stop`); the port changes.
    pub fn restart(&mut self) {
        self.spawn();
    }

    /// Move the server's wall clock to `seconds` after real time (needs `Options::fake_clock`).
    pub fn shift_clock(&self, seconds: i64) {
        assert!(
            self.fake_clock,
            "start the server with Options {{ fake_clock: true }}"
        );
        fs::write(self.root.path().join("faketime"), format!("{seconds:+}\n")).unwrap();
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.path().join("config.toml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    /// A client without credentials.
    pub fn anon(&self) -> Api {
        Api::new(&self.base)
    }

    /// A client carrying the admin JWT from `POST /auth`.
    pub fn admin(&self) -> Api {
        let anon = self.anon();
        let resp = anon.post(
            "/auth",
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        );
        resp.expect_ok();
        let jwt = resp.json["result"]["value"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {resp}"));
        anon.with_auth(jwt)
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if thread::panicking() {
            eprintln!(
                "--- server log ({}) ---\n{}",
                self.log_path().display(),
                self.log_tail(40)
            );
        }
    }
}

fn config_toml(opts: &Options) -> String {
    // The cheap PIN hash (privacyIDEA's PI_FAST_HASH) keeps the tests fast.
    let mut s = String::from("[pin_hash]\nt_cost = 1\nm_cost_kib = 1024\np_cost = 1\n");
    let mut plugins = String::new();
    if let Some(mode) = opts.instance_mode {
        plugins += &format!("instance_mode = \"{mode}\"\n");
    }
    if let Some(ms) = opts.time_limit_ms {
        plugins += &format!("time_limit_ms = {ms}\n");
    }
    if let Some(mib) = opts.memory_limit_mib {
        plugins += &format!("memory_limit_mib = {mib}\n");
    }
    if !plugins.is_empty() {
        s += "\n[plugins]\n";
        s += &plugins;
    }
    s += opts.extra_config;
    s
}

#[allow(unsafe_code)]
fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) has no memory effects; the pid is our own child, not yet reaped.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

/// `<workspace>/target/release/tessera`, built once per test run with `cargo build --release -p tessera`
/// so the tests never run a stale binary. `TESSERA_BIN` overrides (then nothing is built).
pub fn tessera_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("TESSERA_BIN") {
            return PathBuf::from(bin);
        }
        let root = workspace_root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = Command::new(cargo)
            .args(["build", "--release", "-p", "tessera"])
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo build --release -p tessera failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => root.join(dir),
            None => root.join("target"),
        };
        target.join("release").join("tessera")
    })
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
