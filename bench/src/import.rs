//! `tessera-bench import`: seed import throughput and peak memory, through `POST /token/load` on a
//! real `tessera serve` and through `tessera token import`, next to baselines measured in the same
//! run (the parse-only rate of `tessera-import` on the same files, the idle server's memory, and the
//! same paths with a small file). Prints figures; asserts nothing but a sanity check of the tokens.
//!
//! ```text
//! cargo build --release -p tessera -p tessera-bench
//! target/release/tessera-bench import                         # 100 000-row CSV, 10 000-key PSKC
//! target/release/tessera-bench import --rows 2000 --pskc-keys 200   # smoke run
//! ```

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aes::Aes128;
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::{Digest, Sha1};
use tessera_import::{Format, Secret};

use crate::load::hotp;
use crate::servers::{self, FAST_HASH_CONFIG, cpu_seconds};

/// The pre-shared AES key of the generated PSKC file (RFC 6030 figure 6's).
const PSK: [u8; 16] = [
    0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12,
];
const PSK_HEX: &str = "12345678901234567890123456789012";
const MAC_KEY: [u8; 20] = [0x5a; 20];

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Rows of the big OATH CSV (one HOTP or TOTP token each).
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// Keys of the PSK-encrypted PSKC file (0: skip it).
    #[arg(long, default_value_t = 10_000)]
    pskc_keys: usize,
    /// Rows of the small OATH CSV imported first (the baseline of each path).
    #[arg(long, default_value_t = 1_000)]
    small_rows: usize,
    /// The tessera binary (default: <workspace>/target/release/tessera).
    #[arg(long)]
    tessera: Option<PathBuf>,
}

/// A generated import file.
struct Input {
    path: PathBuf,
    format: Format,
    tokens: usize,
    /// The first serial and its key (for the sanity check).
    first: (String, Vec<u8>),
}

impl Input {
    fn name(&self) -> String {
        format!("{} {}", self.format, self.tokens)
    }

    fn secret(&self) -> Result<Secret> {
        Ok(match self.format {
            Format::Pskc => Secret::psk_hex(PSK_HEX)?,
            _ => Secret::None,
        })
    }

    fn fields(&self) -> Vec<(&'static str, &'static str)> {
        match self.format {
            Format::Pskc => vec![("type", "pskc"), ("psk", PSK_HEX)],
            _ => vec![("type", "oathcsv")],
        }
    }

    fn cli_args(&self) -> Vec<&'static str> {
        match self.format {
            Format::Pskc => vec!["--type", "pskc", "--psk", PSK_HEX],
            _ => vec!["--type", "oathcsv"],
        }
    }

    fn size(&self) -> u64 {
        fs::metadata(&self.path).map_or(0, |m| m.len())
    }
}

/// One measured import.
struct Measured {
    what: String,
    tokens: u64,
    secs: f64,
    /// Peak RSS in KiB (server VmHWM after the import, or the CLI's maxrss).
    peak_kib: u64,
    /// Server CPU seconds for the request (NaN for the other paths).
    cpu_s: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.tokens as f64 / self.secs
    }
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let bin = args
        .tessera
        .clone()
        .unwrap_or_else(servers::default_tessera_bin);
    if !bin.exists() {
        bail!(
            "{} not found: run `cargo build --release -p tessera` first",
            bin.display()
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("tessera-import-bench-")
        .tempdir()?;
    let small = write_csv(&dir.path().join("small.csv"), "SMALL", args.small_rows)?;
    let big = write_csv(&dir.path().join("big.csv"), "BIG", args.rows)?;
    let mut inputs = vec![small, big];
    if args.pskc_keys > 0 {
        inputs.push(write_pskc(&dir.path().join("keys.pskc"), args.pskc_keys)?);
    }
    println!(
        "# tessera-bench import: {} CPUs; files: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        inputs
            .iter()
            .map(|i| format!("{} ({} bytes)", i.name(), i.size()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Baseline 1: the parser alone, in this process, on the same files.
    let mut parse = Vec::new();
    for input in &inputs {
        let m = parse_only(input)?;
        println!(
            "parse-only {} | tokens={} secs={:.3} tokens_per_s={:.0}",
            m.what,
            m.tokens,
            m.secs,
            m.rate()
        );
        parse.push(m);
    }

    // The server: idle memory (baseline 2), then each file through POST /token/load.
    let tessera = servers::start_tessera(&bin, "")?;
    let pid = tessera.proc.pid();
    let base = tessera.proc.base();
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(3600))
        .build();
    let jwt = login(&agent, &base)?;
    let idle_hwm = proc_status_kib(pid, "VmHWM")?;
    let idle_rss = proc_status_kib(pid, "VmRSS")?;
    println!("server idle | pid={pid} VmHWM_kib={idle_hwm} VmRSS_kib={idle_rss}");
    let mut http = Vec::new();
    for input in &inputs {
        let cpu0 = cpu_seconds(pid);
        let start = Instant::now();
        let answer = upload(&agent, &base, &jwt, input)?;
        let secs = start.elapsed().as_secs_f64();
        let cpu_s = cpu_seconds(pid) - cpu0;
        let imported = answer["result"]["value"]["n_imported"]
            .as_u64()
            .with_context(|| format!("import of {} failed: {answer}", input.name()))?;
        if imported != input.tokens as u64 {
            bail!("{}: only {imported} imported: {answer}", input.name());
        }
        sanity(&agent, &base, input)?;
        let m = Measured {
            what: input.name(),
            tokens: imported,
            secs,
            peak_kib: proc_status_kib(pid, "VmHWM")?,
            cpu_s,
        };
        println!(
            "http {} | tokens={} secs={:.3} tokens_per_s={:.0} server_cpu_s={:.2} server_VmHWM_kib={} VmRSS_kib={}",
            m.what,
            m.tokens,
            m.secs,
            m.rate(),
            m.cpu_s,
            m.peak_kib,
            proc_status_kib(pid, "VmRSS")?
        );
        http.push(m);
    }
    let data_kib = du_kib(&tessera.dir.path().join("data"));
    println!("server data dir after the imports | size_kib={data_kib}");
    drop(tessera);

    // The CLI on a fresh, stopped data dir.
    let cli_root = tempfile::Builder::new()
        .prefix("tessera-import-bench-cli-")
        .tempdir()?;
    let data = cli_root.path().join("data");
    fs::create_dir(&data)?;
    let config = cli_root.path().join("config.toml");
    fs::write(&config, FAST_HASH_CONFIG)?;
    let mut cli = Vec::new();
    for input in &inputs {
        let m = cli_import(&bin, &data, &config, input)?;
        println!(
            "cli {} | tokens={} secs={:.3} tokens_per_s={:.0} maxrss_kib={}",
            m.what,
            m.tokens,
            m.secs,
            m.rate(),
            m.peak_kib
        );
        cli.push(m);
    }

    print_table(&inputs, &parse, &http, &cli, idle_hwm);
    Ok(())
}

fn print_table(
    inputs: &[Input],
    parse: &[Measured],
    http: &[Measured],
    cli: &[Measured],
    idle: u64,
) {
    println!();
    println!(
        "| file | parse-only tokens/s | HTTP tokens/s (% of parse) | server CPU s | server VmHWM MiB (x idle {:.1} MiB) | CLI tokens/s (% of parse) | CLI maxrss MiB (x small file) |",
        mib(idle)
    );
    println!("|---|---|---|---|---|---|---|");
    let cli_small = cli.first().map_or(1, |m| m.peak_kib);
    for (i, input) in inputs.iter().enumerate() {
        let (p, h, c) = (&parse[i], &http[i], &cli[i]);
        println!(
            "| {} | {:.0} | {:.0} ({:.1}%) | {:.2} | {:.1} (x{:.2}) | {:.0} ({:.1}%) | {:.1} (x{:.2}) |",
            input.name(),
            p.rate(),
            h.rate(),
            100.0 * h.rate() / p.rate(),
            h.cpu_s,
            mib(h.peak_kib),
            h.peak_kib as f64 / idle as f64,
            c.rate(),
            100.0 * c.rate() / p.rate(),
            mib(c.peak_kib),
            c.peak_kib as f64 / cli_small as f64,
        );
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// 20 bytes of key for token `i` of a file.
fn key_of(tag: &str, i: usize) -> Vec<u8> {
    Sha1::digest(format!("tessera-bench {tag} {i}").as_bytes()).to_vec()
}

/// An OATH CSV of `rows` tokens `<prefix>0000000..`: HOTP, every fourth a 30 s TOTP.
fn write_csv(path: &Path, prefix: &str, rows: usize) -> Result<Input> {
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(out, "# serial, key, type, otplen, counter|timestep")?;
    for i in 0..rows {
        let key = hex::encode(key_of(prefix, i));
        if i % 4 == 3 {
            writeln!(out, "{prefix}{i:07}, {key}, totp, 6, 30")?;
        } else {
            writeln!(out, "{prefix}{i:07}, {key}, hotp, 6")?;
        }
    }
    out.flush()?;
    Ok(Input {
        path: path.to_path_buf(),
        format: Format::OathCsv,
        tokens: rows,
        first: (format!("{prefix}0000000"), key_of(prefix, 0)),
    })
}

/// AES-128-CBC under [`PSK`], the IV in front (xmlenc), base64.
fn encrypt(iv: [u8; 16], plain: &[u8]) -> Result<Vec<u8>> {
    let body = cbc::Encryptor::<Aes128>::new_from_slices(&PSK, &iv)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .encrypt_padded_vec_mut::<Pkcs7>(plain);
    Ok([iv.as_slice(), &body].concat())
}

/// A PSKC file of `keys` HOTP keys `PSKC0000000..`, secrets encrypted with [`PSK`] and HMAC-SHA1
/// `ValueMAC`s under [`MAC_KEY`], as a vendor ships them (RFC 6030 section 6.1).
fn write_pskc(path: &Path, keys: usize) -> Result<Input> {
    let mut out = BufWriter::new(File::create(path)?);
    write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
  <EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>
  <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1">
    <MACKey>
      <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
      <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>
    </MACKey>
  </MACMethod>
"#,
        STANDARD.encode(encrypt([0xa5; 16], &MAC_KEY)?)
    )?;
    for i in 0..keys {
        let mut iv = [0u8; 16];
        iv[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let data = encrypt(iv, &key_of("PSKC", i))?;
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&MAC_KEY)?;
        mac.update(&data);
        write!(
            out,
            r#"  <KeyPackage>
    <DeviceInfo><Manufacturer>Acme</Manufacturer><SerialNo>PSKC{i:07}</SerialNo></DeviceInfo>
    <Key Id="{i}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret>
          <EncryptedValue>
            <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
            <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>
          </EncryptedValue>
          <ValueMAC>{}</ValueMAC>
        </Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
"#,
            STANDARD.encode(&data),
            STANDARD.encode(mac.finalize().into_bytes())
        )?;
    }
    writeln!(out, "</KeyContainer>")?;
    out.flush()?;
    Ok(Input {
        path: path.to_path_buf(),
        format: Format::Pskc,
        tokens: keys,
        first: ("PSKC0000000".to_string(), key_of("PSKC", 0)),
    })
}

/// `tessera-import` alone: open the file and pull every token (no store, no plugin).
fn parse_only(input: &Input) -> Result<Measured> {
    let start = Instant::now();
    let reader = BufReader::with_capacity(64 << 10, File::open(&input.path)?);
    let mut tokens = 0u64;
    for item in tessera_import::open(input.format, reader, input.secret()?)? {
        if item.is_ok() {
            tokens += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    if tokens != input.tokens as u64 {
        bail!("{}: the parser gave {tokens} tokens", input.name());
    }
    Ok(Measured {
        what: input.name(),
        tokens,
        secs,
        peak_kib: 0,
        cpu_s: f64::NAN,
    })
}

fn login(agent: &ureq::Agent, base: &str) -> Result<String> {
    let body = agent
        .post(&format!("{base}/auth"))
        .send_form(&[("username", "admin"), ("password", "adminpass")])?
        .into_string()?;
    let body: Value = serde_json::from_str(&body)?;
    body["result"]["value"]["token"]
        .as_str()
        .map(str::to_string)
        .context("admin login failed")
}

/// `POST /token/load/<file>`, the file streamed from disk inside a multipart body.
fn upload(agent: &ureq::Agent, base: &str, jwt: &str, input: &Input) -> Result<Value> {
    const BOUNDARY: &str = "tessera-bench-import-boundary-7f3a9c";
    let mut head = String::new();
    for (name, value) in input.fields() {
        head += &format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    head += &format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let len = head.len() as u64 + input.size() + tail.len() as u64;
    let body = Cursor::new(head.into_bytes())
        .chain(File::open(&input.path)?)
        .chain(Cursor::new(tail.into_bytes()));
    let resp = match agent
        .post(&format!("{base}/token/load/upload"))
        .set("Authorization", jwt)
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .set("Content-Length", &len.to_string())
        .send(body)
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.into()),
    };
    Ok(serde_json::from_str(&resp.into_string()?)?)
}

/// The first token of the file accepts its counter-0 OTP.
fn sanity(agent: &ureq::Agent, base: &str, input: &Input) -> Result<()> {
    let (serial, key) = &input.first;
    let otp = format!("{:06}", hotp(key, 0));
    let body = agent
        .post(&format!("{base}/validate/check"))
        .send_form(&[("serial", serial), ("pass", &otp)])?
        .into_string()?;
    let body: Value = serde_json::from_str(&body)?;
    if body["result"]["authentication"] != "ACCEPT" {
        bail!("sanity check: {serial} did not accept its first OTP: {body}");
    }
    Ok(())
}

/// `tessera token import` on the stopped data dir: wall time and the child's maxrss (wait4).
fn cli_import(bin: &Path, data: &Path, config: &Path, input: &Input) -> Result<Measured> {
    let start = Instant::now();
    let child = Command::new(bin)
        .args(["token", "import"])
        .arg(&input.path)
        .args(input.cli_args())
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("running tessera token import")?;
    let (ok, maxrss_kib) = wait_rusage(child.id())?;
    let secs = start.elapsed().as_secs_f64();
    if !ok {
        bail!("tessera token import {} failed", input.name());
    }
    Ok(Measured {
        what: input.name(),
        tokens: input.tokens as u64,
        secs,
        peak_kib: maxrss_kib,
        cpu_s: f64::NAN,
    })
}

/// Reaps child `pid` with wait4(2): (exited with 0, ru_maxrss in KiB).
#[allow(unsafe_code)]
fn wait_rusage(pid: u32) -> Result<(bool, u64)> {
    let pid = libc::pid_t::try_from(pid)?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own unreaped child; both pointers are to live locals.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc != pid {
        bail!("wait4({pid}): {}", std::io::Error::last_os_error());
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((ok, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// A field of /proc/<pid>/status in KiB (`VmHWM`, `VmRSS`).
fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Bytes of all files under `dir`, in KiB.
fn du_kib(dir: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        let Ok(entries) = fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(dir) / 1024
}
