//! `batch`: program keys one after another (or in several readers) with fresh secrets, logging each to a
//! Yubico-format CSV and/or an encrypted PSKC file, and optionally creating each token on the server.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tessera_hwtool::device::{self, Target, TransportChoice};
use tessera_hwtool::enroll::{EnrollMode, fresh, half_done, token_params};
use tessera_hwtool::error::HwError;
use tessera_hwtool::otp::{OtpBackend, OtpSession, Slot, parse_access_code};
use tessera_hwtool::pskc;
use tessera_hwtool::record::Record;
use tessera_hwtool::server::Server;
use tessera_hwtool::transport::pcsc;
use zeroize::Zeroizing;

use super::enroll::{ModeArg, credentials};
use super::parse_hex;

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// How many keys to program.
    #[arg(long)]
    pub count: usize,
    /// 1 or 2.
    #[arg(long, default_value_t = 2)]
    pub slot: u8,
    #[arg(long, value_enum, default_value_t = ModeArg::Hotp)]
    pub mode: ModeArg,
    /// HOTP digits (6 or 8).
    #[arg(long, default_value_t = 6)]
    pub digits: u8,
    /// Overwrite programmed slots (otherwise such keys are skipped).
    #[arg(long)]
    pub force: bool,
    /// Access code to set on every slot (12 hex digits).
    #[arg(long)]
    pub access_code: Option<String>,
    /// Append a Yubico-format CSV line per key (secrets in clear!).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Write the secrets to this PSKC file, encrypted with --pskc-key.
    #[arg(long, requires = "pskc_key")]
    pub pskc: Option<PathBuf>,
    /// The pre-shared AES-128 key for --pskc (32 hex digits).
    #[arg(long, env = "TESSERA_PSKC_KEY", hide_env_values = true)]
    pub pskc_key: Option<String>,
    /// Also create each token (unassigned) on this server.
    #[arg(long)]
    pub server: Option<String>,
    /// Realm to put the server tokens in.
    #[arg(long, requires = "server")]
    pub realm: Option<String>,
    /// Give up after waiting this many seconds for the next key (default: wait forever).
    #[arg(long)]
    pub wait: Option<u64>,
}

/// The next connected key whose serial is not in `seen`.
fn next_key(
    target: &Target,
    seen: &HashSet<u32>,
) -> Option<(OtpSession<Box<dyn OtpBackend>>, u32)> {
    if target.transport != TransportChoice::Hid
        && let Ok(readers) = pcsc::list_readers(target.reader.as_deref())
    {
        for r in readers.into_iter().filter(|r| r.card_present) {
            let t = Target {
                reader: Some(r.name),
                transport: TransportChoice::Pcsc,
                form: target.form,
            };
            if let Ok(mut s) = device::open_otp(&t)
                && let Ok(serial) = s.serial()
                && !seen.contains(&serial)
            {
                return Some((s, serial));
            }
        }
    }
    if target.transport != TransportChoice::Pcsc {
        let t = Target {
            transport: TransportChoice::Hid,
            ..target.clone()
        };
        if let Ok(mut s) = device::open_otp(&t)
            && let Ok(serial) = s.serial()
            && !seen.contains(&serial)
        {
            return Some((s, serial));
        }
    }
    None
}

fn append_private(path: &PathBuf, text: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn write_private(path: &PathBuf, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

pub fn run(target: &Target, args: BatchArgs) -> Result<()> {
    if args.log.is_none() && args.pskc.is_none() && args.server.is_none() {
        bail!("give --log, --pskc or --server: otherwise the secrets written to the keys are lost");
    }
    let mode = match args.mode {
        ModeArg::Hotp if matches!(args.digits, 6 | 8) => EnrollMode::Hotp {
            digits: args.digits,
        },
        ModeArg::Hotp => bail!("--digits must be 6 or 8"),
        ModeArg::Yubico => EnrollMode::YubicoOtp,
    };
    let slot = Slot::from_number(args.slot)?;
    let access_code = args
        .access_code
        .as_deref()
        .map(parse_access_code)
        .transpose()?;
    let psk: Option<[u8; 16]> = match &args.pskc_key {
        Some(k) => Some(
            parse_hex("--pskc-key", k)?
                .try_into()
                .map_err(|_| anyhow::anyhow!("--pskc-key must be 16 bytes (32 hex digits)"))?,
        ),
        None => None,
    };
    let server = match &args.server {
        Some(url) => {
            let (admin, password) = credentials()?;
            let mut s = Server::new(url);
            s.login(&admin, &password)?;
            Some(s)
        }
        None => None,
    };
    let bar = ProgressBar::new(u64::try_from(args.count).unwrap_or(u64::MAX));
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut seen = HashSet::new();
    let mut records: Vec<Record> = Vec::new();
    let mut waited = 0u64;
    while records.len() < args.count {
        let Some((mut otp, serial)) = next_key(target, &seen) else {
            bar.set_message("insert the next key");
            if args.wait.is_some_and(|w| waited >= w * 10) {
                bar.abandon();
                bail!(
                    "no new key within {} s: {} of {} programmed",
                    args.wait.unwrap_or(0),
                    records.len(),
                    args.count
                );
            }
            waited += 1;
            sleep(Duration::from_millis(100));
            continue;
        };
        waited = 0;
        seen.insert(serial);
        if !args.force && otp.status().slot_programmed(slot) {
            bar.suspend(|| {
                eprintln!(
                    "YubiKey {serial}: slot {} is programmed, skipped (--force overwrites)",
                    slot.number()
                )
            });
            continue;
        }
        let (config, record) = fresh(mode, serial, slot, access_code);
        match otp.program(slot, &config, access_code, true) {
            Ok(()) => {}
            Err(e @ HwError::Rejected(_)) => {
                bar.suspend(|| eprintln!("YubiKey {serial}: {e}; skipped"));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(path) = &args.log {
            append_private(path, &record.yubico_csv_line())?;
        }
        records.push(record);
        if let (Some(path), Some(psk)) = (&args.pskc, &psk) {
            write_private(path, &pskc::document(&records, psk, "Pre-shared-key"))?;
        }
        if let (Some(server), Some(record)) = (&server, records.last()) {
            let params = Zeroizing::new(token_params(
                record,
                "",
                args.realm.as_deref().unwrap_or(""),
                None,
            ));
            let form: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Err(cause) = server.init_token(&form) {
                bar.abandon();
                return Err(half_done(record, cause).into());
            }
        }
        bar.suspend(|| {
            println!(
                "YubiKey {serial}: slot {} programmed as {}",
                slot.number(),
                records.last().map_or("", |r| r.token_serial.as_str())
            );
        });
        bar.inc(1);
        bar.set_message("remove the key, insert the next");
    }
    bar.finish_with_message("done");
    println!("{} keys programmed.", records.len());
    Ok(())
}
