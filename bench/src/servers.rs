//! The two servers under test as child processes (the bare handler and `tessera serve`), their CPU
//! time from /proc, and the bench fixtures created through Tessera's API like the anchor's bench.sh.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tempfile::TempDir;

use crate::load::{Client, KEY};

/// A child server process, killed on drop.
pub struct Proc {
    child: Child,
    pub addr: SocketAddr,
}

impl Proc {
    /// Spawns `cmd` and waits for a stdout line `<prefix>http://ADDR`.
    fn spawn(mut cmd: Command, prefix: &str, stderr: Stdio) -> Result<Proc> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("spawning a server")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        let prefix = format!("{prefix}http://");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix(&prefix) {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut proc = Proc {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(120))
            .context("the server did not print its address")?;
        proc.addr = addr
            .parse()
            .with_context(|| format!("bad address {addr}"))?;
        Ok(proc)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of a process (all its threads), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the ")" that ends the command name; utime and stime are fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(f64::NAN, |f| {
        f.iter().filter_map(|x| x.parse::<f64>().ok()).sum()
    });
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    static HZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *HZ.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The bare handler, in a child process running this binary.
pub fn start_bare() -> Result<Proc> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("bare-server");
    Proc::spawn(cmd, "bare listening on ", Stdio::inherit())
}

/// A running `tessera serve` with its temporary data dir.
pub struct Tessera {
    pub proc: Proc,
    pub dir: TempDir,
}

/// PIN hash parameters equal to privacyIDEA's `PI_FAST_HASH` (argon2id t=1, m=1 MiB, p=1).
pub const FAST_HASH_CONFIG: &str = "[pin_hash]\nt_cost = 1\nm_cost_kib = 1024\np_cost = 1\n";

/// Creates a data dir with admin/adminpass and starts `tessera serve` on an ephemeral port, with
/// `extra_config` (TOML tables such as `[audit]`) after the PIN hash parameters.
pub fn start_tessera(bin: &Path, extra_config: &str) -> Result<Tessera> {
    let dir = tempfile::Builder::new()
        .prefix("tessera-bench-")
        .tempdir()?;
    let data = dir.path().join("data");
    fs::create_dir(&data)?;
    let config = dir.path().join("config.toml");
    fs::write(&config, format!("{FAST_HASH_CONFIG}{extra_config}"))?;
    let mut admin = Command::new(bin)
        .args(["admin", "add", "admin", "--data-dir"])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("running tessera admin add")?;
    admin
        .stdin
        .take()
        .context("no stdin")?
        .write_all(b"adminpass\n")?;
    if !admin.wait()?.success() {
        bail!("tessera admin add failed");
    }
    let log = fs::File::create(dir.path().join("server.log"))?;
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--config")
        .arg(&config);
    let proc = Proc::spawn(cmd, "tessera listening on ", Stdio::from(log))?;
    Ok(Tessera { proc, dir })
}

/// `<workspace>/target/release/tessera`.
pub fn default_tessera_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/tessera")
}

/// One set of bench users and tokens: `<prefix>01..` in realm `benchrealm`, HOTP tokens
/// `<serial_prefix>01..` with the RFC 4226 key, PIN `pin` (maybe empty), max_failcount 1e9.
pub struct TokenSet {
    pub user_prefix: &'static str,
    pub serial_prefix: &'static str,
    pub pin: &'static str,
}

pub const REALM: &str = "benchrealm";

/// The bench's administrator logged in to one server: POSTs that must succeed.
struct Admin {
    agent: ureq::Agent,
    base: String,
    jwt: String,
}

impl Admin {
    fn login(t: &Tessera) -> Result<Admin> {
        let base = t.proc.base();
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let login: Value = serde_json::from_str(
            &agent
                .post(&format!("{base}/auth"))
                .send_form(&[("username", "admin"), ("password", "adminpass")])?
                .into_string()?,
        )?;
        let jwt = login["result"]["value"]["token"]
            .as_str()
            .context("admin login failed")?
            .to_string();
        Ok(Admin { agent, base, jwt })
    }

    fn post(&self, path: &str, params: &[(&str, &str)]) -> Result<Value> {
        let resp = match self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("Authorization", &self.jwt)
            .send_form(params)
        {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.into()),
        };
        let body: Value = serde_json::from_str(&resp.into_string()?)?;
        if body["result"]["status"] != Value::Bool(true) {
            bail!("POST {path} {params:?}: {body}");
        }
        Ok(body)
    }
}

/// Loads `total` policies (at least 3): one authentication policy of the bench realm (`otppin=tokenpin`, what
/// the checks do anyway), an admin policy that keeps `policywrite` for `admin` (so the loading can go on once
/// admin policies exist), and the rest half authentication, half admin policies of other realms, which a
/// check of the bench realm never matches. Returns the number created.
pub fn load_policies(t: &Tessera, total: usize) -> Result<usize> {
    let admin = Admin::login(t)?;
    admin.post(
        "/policy/bench_otppin",
        &[
            ("scope", "authentication"),
            ("action", "otppin=tokenpin"),
            ("realm", REALM),
        ],
    )?;
    let others = total.saturating_sub(2);
    let auth_others = others / 2;
    for i in 0..auth_others {
        admin.post(
            &format!("/policy/auth_other_{i:04}"),
            &[
                ("scope", "authentication"),
                ("action", "otppin=userstore, passthru"),
                ("realm", &format!("other{i:04}")),
            ],
        )?;
    }
    admin.post(
        "/policy/bench_admin",
        &[
            ("scope", "admin"),
            ("action", "policywrite"),
            ("adminuser", "admin"),
        ],
    )?;
    for i in 0..others - auth_others {
        admin.post(
            &format!("/policy/admin_other_{i:04}"),
            &[
                ("scope", "admin"),
                ("action", "enable, disable, tokenlist"),
                ("realm", &format!("other{i:04}")),
                ("adminuser", &format!("helpdesk{i:04}")),
            ],
        )?;
    }
    Ok(2 + others)
}

/// Writes the passwd file for all sets, creates resolver and realm, and the tokens.
/// Returns one client list per set, counters at 0.
pub fn create_fixtures(t: &Tessera, sets: &[TokenSet], per_set: usize) -> Result<Vec<Vec<Client>>> {
    let admin = Admin::login(t)?;
    let call = |path: &str, params: &[(&str, &str)]| admin.post(path, params);

    // Same hash line for every user: crypt('benchpw', '$6$benchsalt$') as bench.sh writes it.
    let hash = "$6$benchsalt$l5Y5/Of7xIAnqbgf/zHDN57pHR4m.PDCEG0dYoRJMAR3wCtZ8/sF.ztxcLFmFzbySiqD92Q.gf0917rG.iYon.";
    let mut passwd = String::new();
    for (s, set) in sets.iter().enumerate() {
        for i in 1..=per_set {
            let uid = 2000 + s * 1000 + i;
            let user = format!("{}{i:02}", set.user_prefix);
            passwd += &format!(
                "{user}:{hash}:{uid}:{uid}:Bench User {i},,,,{user}@example.com:/home/{user}:/bin/sh\n"
            );
        }
    }
    let passwd_path = t.dir.path().join("bench.passwd");
    fs::write(&passwd_path, passwd)?;
    let file = passwd_path.to_str().context("non-UTF-8 temp path")?;
    call(
        "/resolver/benchres",
        &[("type", "passwdresolver"), ("fileName", file)],
    )?;
    call(&format!("/realm/{REALM}"), &[("resolvers", "benchres")])?;

    let key_hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    let mut all = Vec::new();
    for set in sets {
        let mut clients = Vec::new();
        for i in 1..=per_set {
            let user = format!("{}{i:02}", set.user_prefix);
            let serial = format!("{}{i:02}", set.serial_prefix);
            call(
                "/token/init",
                &[
                    ("type", "hotp"),
                    ("genkey", "0"),
                    ("otpkey", &key_hex),
                    ("pin", set.pin),
                    ("serial", &serial),
                    ("user", &user),
                    ("realm", REALM),
                ],
            )?;
            call(
                "/token/set",
                &[("serial", &serial), ("max_failcount", "1000000000")],
            )?;
            clients.push(Client {
                user,
                realm: REALM.to_string(),
                pin: set.pin.to_string(),
                next_counter: 0,
            });
        }
        all.push(clients);
    }
    Ok(all)
}
