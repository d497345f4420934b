//! The PC/SC test rig: our own pcscd with a vpcd reader named like a YubiKey, and the software key (this
//! process, a thread) dialled into vpcd as the card. One rig per process, one test at a time, and a file lock
//! so two test processes on one machine never fight over the machine's single pcscd.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tessera_hwtool::softkey::{ATR, SoftKey, lock};

/// Serial of the virtual key.
pub const SERIAL: u32 = 12_345_678;
/// Serial of the second virtual key, inserted into the second reader on demand.
pub const SERIAL2: u32 = 87_654_321;
/// Reader names pcscd gives the vpcd slots (slot 0 holds the card, slot 1 stays empty).
pub const READER: &str = "Yubico YubiKey OTP+FIDO+CCID 00 00";
pub const EMPTY_READER: &str = "Yubico YubiKey OTP+FIDO+CCID 00 01";
/// vpcd's port for slot 0 (0x8C7B, the driver's default).
const VPCD_PORT: u16 = 35963;

pub struct Rig {
    pub key: Arc<Mutex<SoftKey>>,
    pub key2: Arc<Mutex<SoftKey>>,
    present2: Arc<AtomicBool>,
    pub dir: PathBuf,
    _watchdog: Mutex<(Child, ChildStdin)>,
    _machine_lock: File,
    serial_tests: Mutex<()>,
}

/// One test's exclusive use of the rig, with a blank key.
pub struct Session {
    pub rig: &'static Rig,
    _guard: MutexGuard<'static, ()>,
}

impl Session {
    pub fn key(&self) -> MutexGuard<'_, SoftKey> {
        lock(&self.rig.key)
    }

    pub fn key2(&self) -> MutexGuard<'_, SoftKey> {
        lock(&self.rig.key2)
    }

    /// Puts the second key into the second reader and waits until pcscd sees it.
    pub fn insert_second(&self) {
        self.rig.present2.store(true, Ordering::SeqCst);
        wait_for(EMPTY_READER, true, &self.rig.dir.join("pcscd.log"));
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.rig.present2.swap(false, Ordering::SeqCst) {
            wait_for(EMPTY_READER, false, &self.rig.dir.join("pcscd.log"));
        }
    }
}

fn fail(msg: &str) -> ! {
    panic!("PC/SC test rig: {msg}");
}

/// The rig, started on first use; panics with a clear message when pcscd cannot be run.
pub fn session() -> Session {
    static RIG: OnceLock<Rig> = OnceLock::new();
    let rig = RIG.get_or_init(start);
    let guard = rig
        .serial_tests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *lock(&rig.key) = SoftKey::new(SERIAL);
    *lock(&rig.key2) = SoftKey::new(SERIAL2);
    Session { rig, _guard: guard }
}

fn start() -> Rig {
    if Command::new("pcscd").arg("--version").output().is_err() {
        fail(
            "pcscd is not installed. Run scripts/setup-hwtool.sh (installs pcscd, vsmartcard-vpcd, ykman, ...)",
        );
    }
    let driver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
    if !std::path::Path::new(driver).exists() {
        fail(&format!(
            "{driver} is missing: install vsmartcard-vpcd (scripts/setup-hwtool.sh)"
        ));
    }
    let uid = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    if uid.split_whitespace().nth(1).is_none_or(|u| u != "0") {
        fail("the tests must run as root: pcscd needs /run/pcscd");
    }
    let machine_lock =
        File::create("/tmp/tessera-hwtool-pcsc-rig.lock").unwrap_or_else(|e| fail(&e.to_string()));
    machine_lock
        .lock()
        .unwrap_or_else(|e| fail(&format!("locking the rig: {e}")));
    if let Some(pid) = running_pcscd() {
        fail(&format!(
            "another pcscd (pid {pid}) is running; the tests need the machine's pcscd to be their own (stop it)"
        ));
    }
    // Under the machine lock, so one fixed directory is ours alone.
    let dir = std::env::temp_dir().join("tessera-hwtool-rig");
    let _ = fs::remove_dir_all(&dir);
    let conf = dir.join("reader.conf.d");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("vpcd-yubikey"),
        format!(
            "FRIENDLYNAME \"Yubico YubiKey OTP+FIDO+CCID\"\nDEVICENAME   /dev/null:0x{VPCD_PORT:04X}\n\
             LIBPATH      {driver}\nCHANNELID    0x{VPCD_PORT:04X}\n"
        ),
    )
    .unwrap();
    let log = dir.join("pcscd.log");
    // pcscd lives exactly as long as this process: the shell kills it when our end of its stdin closes.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("pcscd --foreground --config \"$1\" >\"$2\" 2>&1 & p=$!; echo $p; read _ignored; kill $p; wait $p")
        .arg("sh")
        .arg(&conf)
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("starting pcscd: {e}")));
    let stdin = child.stdin.take().unwrap();
    let mut pid = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut pid)
        .unwrap();
    let key = SoftKey::shared(SERIAL);
    let card_key = key.clone();
    thread::spawn(move || card_loop(VPCD_PORT, card_key, None));
    let key2 = SoftKey::shared(SERIAL2);
    let present2 = Arc::new(AtomicBool::new(false));
    let (k2, p2) = (key2.clone(), present2.clone());
    thread::spawn(move || card_loop(VPCD_PORT + 1, k2, Some(p2)));
    wait_for(READER, true, &log);
    Rig {
        key,
        key2,
        present2,
        dir,
        _watchdog: Mutex::new((child, stdin)),
        _machine_lock: machine_lock,
        serial_tests: Mutex::new(()),
    }
}

fn running_pcscd() -> Option<u32> {
    for e in fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let stat = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'));
        if comm.trim() == "pcscd" && !zombie {
            return Some(pid);
        }
    }
    None
}

fn card_in(reader: &str) -> bool {
    let Ok(ctx) = pcsc::Context::establish(pcsc::Scope::User) else {
        return false;
    };
    let Ok(readers) = ctx.list_readers_owned() else {
        return false;
    };
    readers
        .iter()
        .find(|r| r.to_string_lossy() == reader)
        .is_some_and(|r| {
            ctx.connect(r, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
                .is_ok()
        })
}

/// Waits until `reader` holds a card (`present`) or not.
fn wait_for(reader: &str, present: bool, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while card_in(reader) != present {
        if Instant::now() > deadline {
            fail(&format!(
                "the virtual card did not {} \"{reader}\" within 15 s; pcscd log:\n{}",
                if present { "show up in" } else { "leave" },
                fs::read_to_string(log).unwrap_or_default()
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The card side of vpcd: connect, then answer length-prefixed messages (1 byte = control, else an APDU).
/// With `present`, the card is only in the reader while the flag is set.
fn card_loop(port: u16, key: Arc<Mutex<SoftKey>>, present: Option<Arc<AtomicBool>>) {
    let inserted = || present.as_ref().is_none_or(|p| p.load(Ordering::SeqCst));
    loop {
        if !inserted() {
            thread::sleep(Duration::from_millis(50));
            continue;
        }
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
        while inserted() {
            let mut len = [0u8; 2];
            match s.read_exact(&mut len) {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(_) => break,
            }
            let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
            let _ = s.set_read_timeout(None);
            if s.read_exact(&mut msg).is_err() {
                break;
            }
            let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
            let reply = match msg.as_slice() {
                [0x00] | [0x01] | [0x02] => {
                    lock(&key).power_cycle();
                    continue;
                }
                [0x04] => ATR.to_vec(),
                apdu => lock(&key).process_apdu(apdu),
            };
            let n = u16::try_from(reply.len()).unwrap();
            if s.write_all(&n.to_be_bytes())
                .and_then(|()| s.write_all(&reply))
                .is_err()
            {
                break;
            }
        }
        drop(s);
        thread::sleep(Duration::from_millis(50));
    }
}

/// Output of one tessera-hwtool run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Run {
        assert_eq!(self.code, 0, "tessera-hwtool failed: {self:?}");
        self
    }
    pub fn failed_with(&self, text: &str) -> &Run {
        assert!(
            self.code != 0 && self.stderr.contains(text),
            "expected a failure mentioning \"{text}\", got {self:?}"
        );
        self
    }
}

/// Runs the tool against the rig's reader (extra args first, so `--reader` can be overridden).
pub fn hwtool(args: &[&str]) -> Run {
    hwtool_env(args, &[])
}

pub fn hwtool_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera-hwtool"));
    if !args.contains(&"--reader") {
        cmd.args(["--reader", READER]);
    }
    cmd.args(args)
        .env_remove("TESSERA_ADMIN_USER")
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .env_remove("TESSERA_OATH_PASSWORD")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
