//! `import`: send a seed file other tools wrote (Yubico-format or traditional YubiKey CSV, OATH CSV, PSKC,
//! ykksm) to the server's `POST /token/load`, its type detected from the content unless given, and report
//! what was and was not imported. Seeds are never printed; the PSKC key or password comes from a file or
//! an environment variable, not the command line.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use tessera_hwtool::modhex;
use tessera_hwtool::server::{LoadReport, Server};
use zeroize::Zeroizing;

use super::enroll::credentials;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    /// Tell from the content: XML is PSKC, `# ykksm` is ykksm, YubiKey CSV rows are yubikeycsv, else OATH CSV.
    Auto,
    /// privacyIDEA's OATH CSV: `serial, key, type, otplen, counter|timestep`.
    Oathcsv,
    /// ykman / Personalization Tool CSV (Yubico format or the traditional log).
    Yubikeycsv,
    /// RFC 6030 PSKC (plain, or encrypted with a pre-shared key or a password).
    Pskc,
    /// yubikey-ksm provisioning lines.
    Ykksm,
}

impl TypeArg {
    fn name(self) -> &'static str {
        match self {
            TypeArg::Auto => "auto",
            TypeArg::Oathcsv => "oathcsv",
            TypeArg::Yubikeycsv => "yubikeycsv",
            TypeArg::Pskc => "pskc",
            TypeArg::Ykksm => "ykksm",
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// Server base URL, e.g. https://tessera.example.com
    #[arg(long, env = "TESSERA_URL")]
    pub server: String,
    /// The file's format.
    #[arg(long = "type", value_enum, default_value_t = TypeArg::Auto)]
    pub file_type: TypeArg,
    /// A file holding the PSKC pre-shared key in hex (32 digits for AES-128).
    #[arg(long, group = "pskc_secret")]
    pub psk_file: Option<PathBuf>,
    /// The environment variable holding the PSKC pre-shared key in hex (`batch` reads TESSERA_PSKC_KEY).
    #[arg(long, group = "pskc_secret")]
    pub psk_env: Option<String>,
    /// The environment variable holding the PSKC password (PBKDF2-protected files).
    #[arg(long, group = "pskc_secret")]
    pub password_env: Option<String>,
    /// Put the imported tokens in this realm (repeat for several).
    #[arg(long = "realm")]
    pub realms: Vec<String>,
    /// Replace tokens whose serial already exists (otherwise such rows are not imported).
    #[arg(long)]
    pub overwrite: bool,
}

/// How much of the file the type is detected from.
const HEAD: u64 = 64 << 10;

/// A detected format and what it was recognised by.
#[derive(Debug, PartialEq, Eq)]
pub struct Detected {
    pub format: TypeArg,
    pub why: &'static str,
}

fn found(format: TypeArg, why: &'static str) -> Result<Detected> {
    Ok(Detected { format, why })
}

/// The format of a file from its first bytes (the first meaningful line decides).
pub fn detect(head: &[u8]) -> Result<Detected> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    // A cut in the middle of a UTF-8 sequence at the end of the head is not a binary file.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()])?,
        Err(_) => bail!(
            "the file is not text (an OpenPGP-encrypted file? decrypt it first with gpg --decrypt); \
             give --type if it is one of oathcsv, yubikeycsv, pskc, ykksm"
        ),
    };
    if text.contains("-----BEGIN PGP MESSAGE-----") {
        bail!("the file is an OpenPGP message: decrypt it first (gpg --decrypt)");
    }
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('<') {
            return found(TypeArg::Pskc, "XML: a PSKC key container");
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            if comment.split_whitespace().next() == Some("ykksm") {
                return found(TypeArg::Ykksm, "a '# ykksm' header");
            }
            if comment.to_ascii_lowercase().starts_with("version:") {
                return found(TypeArg::Oathcsv, "an OATH CSV '# version:' header");
            }
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        if yubico_format(&cols) {
            return found(
                TypeArg::Yubikeycsv,
                "Yubico-format CSV rows (serial,public id,private id,key,access code,timestamp)",
            );
        }
        if traditional_format(&cols) {
            return found(
                TypeArg::Yubikeycsv,
                "the Personalization Tool's traditional CSV log (mode,timestamp,slot,...)",
            );
        }
        return found(
            TypeArg::Oathcsv,
            "CSV rows that are not YubiKey CSV: OATH CSV (serial,key,type,...)",
        );
    }
    found(TypeArg::Oathcsv, "no rows, only comments: read as OATH CSV")
}

/// `serial,public_id,private_id,key,access_code,timestamp,` as ykman and the Personalization Tool write it.
fn yubico_format(cols: &[&str]) -> bool {
    let hex_of = |s: &str, lens: &[usize]| {
        lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
    };
    cols.len() >= 6
        && !cols[0].is_empty()
        && cols[0].bytes().all(|b| b.is_ascii_digit())
        && (cols[1].is_empty() || modhex::decode(cols[1]).is_some())
        && hex_of(cols[3], &[32, 40])
}

/// The traditional log: the slot's mode first, or the tool's own log events.
fn traditional_format(cols: &[&str]) -> bool {
    let mode = cols[0].to_ascii_lowercase();
    matches!(mode.as_str(), "yubico otp" | "oath-hotp" | "logging start")
        || mode.starts_with("static password")
        || mode.starts_with("challenge-response")
        || mode.starts_with("configuration ")
}

/// The key or password that opens an encrypted PSKC file, as the form field that carries it.
fn pskc_secret(args: &ImportArgs) -> Result<Option<(&'static str, Zeroizing<String>)>> {
    let from_env = |var: &str, what: &str| -> Result<Zeroizing<String>> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Zeroizing::new(v)),
            _ => bail!("the environment variable {var} (the {what}) is not set or empty"),
        }
    };
    let psk = match (&args.psk_file, &args.psk_env, &args.password_env) {
        (Some(path), _, _) => Zeroizing::new(
            fs::read_to_string(path)
                .with_context(|| format!("reading the pre-shared key from {}", path.display()))?,
        ),
        (None, Some(var), _) => from_env(var, "pre-shared key")?,
        (None, None, Some(var)) => return Ok(Some(("password", from_env(var, "PSKC password")?))),
        (None, None, None) => return Ok(None),
    };
    // Never echo the key in an error: it is a secret.
    let clean: Zeroizing<String> =
        Zeroizing::new(psk.chars().filter(|c| !c.is_whitespace()).collect());
    if !clean.bytes().all(|b| b.is_ascii_hexdigit()) || !matches!(clean.len(), 32 | 48 | 64) {
        bail!(
            "the pre-shared key must be 32 hex digits (48 or 64 for AES-192/256 files); \
             what was given is {} characters{}",
            clean.len(),
            if clean.bytes().all(|b| b.is_ascii_hexdigit()) {
                ""
            } else {
                ", not all hex"
            }
        );
    }
    Ok(Some(("psk", clean)))
}

pub fn run(args: ImportArgs) -> Result<()> {
    let shown = args.file.display().to_string();
    let mut file = File::open(&args.file).with_context(|| format!("opening {shown}"))?;
    let len = file.metadata()?.len();
    if len == 0 {
        bail!("{shown} is empty (nothing was imported)");
    }
    let format = match args.file_type {
        TypeArg::Auto => {
            let mut head = Zeroizing::new(Vec::new());
            (&mut file)
                .take(HEAD)
                .read_to_end(&mut head)
                .with_context(|| format!("reading {shown}"))?;
            let d = detect(&head).with_context(|| format!("{shown}: cannot tell the type"))?;
            println!("{shown}: detected {}: {}", d.format.name(), d.why);
            file.seek(SeekFrom::Start(0))?;
            d.format
        }
        t => t,
    };
    let secret = pskc_secret(&args)?;
    if secret.is_some() && format != TypeArg::Pskc {
        bail!(
            "--psk-file, --psk-env and --password-env are for PSKC files, and {shown} is read as {} \
             (give --type pskc if that is wrong; nothing was imported)",
            format.name()
        );
    }
    let (admin, password) = credentials()?;
    let mut server = Server::new(&args.server);
    server
        .login(&admin, &password)
        .map_err(|e| anyhow::anyhow!("{e} (nothing was imported)"))?;
    let realms = args.realms.join(",");
    let mut fields: Vec<(&str, &str)> = vec![("type", format.name())];
    if let Some((name, value)) = &secret {
        fields.push((name, value.as_str()));
    }
    if !realms.is_empty() {
        fields.push(("tokenrealms", &realms));
    }
    if args.overwrite {
        fields.push(("overwrite", "1"));
    }
    let filename = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = server
        .load_tokens(&filename, file, len, &fields)
        .map_err(|e| {
            let hint = if e.to_string().contains("the file is encrypted") {
                "; give --psk-file, --psk-env or --password-env"
            } else {
                ""
            };
            anyhow::anyhow!("{e} (nothing was imported{hint})")
        })?;
    print_report(&report);
    if report.n_not_imported > 0 {
        bail!(
            "{} of {} not imported (listed above)",
            report.n_not_imported,
            report.n_imported + report.n_not_imported
        );
    }
    Ok(())
}

fn print_report(r: &LoadReport) {
    println!(
        "Imported {} token{}, {} not imported.",
        r.n_imported,
        if r.n_imported == 1 { "" } else { "s" },
        r.n_not_imported
    );
    for n in &r.not_imported {
        let line = n.line.map_or_else(|| "-".to_string(), |l| l.to_string());
        match &n.serial {
            Some(s) => println!("  line {line}, {s}: {}", n.reason),
            None => println!("  line {line}: {}", n.reason),
        }
    }
    if r.not_listed > 0 {
        println!("  ... and {} more not listed by the server", r.not_listed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: TypeArg) {
        let d = detect(input.as_bytes()).unwrap();
        assert_eq!(d.format, want, "{input:?}: {}", d.why);
    }

    #[test]
    fn types_are_told_from_the_content() {
        // What ykman 5 `otp yubiotp -O` and `tessera-hwtool batch --log` write.
        check(
            "12345678,vvccccnrhbfu,0a1b2c3d4e5f,00112233445566778899aabbccddeeff,,2026-12-03T16:11:41,\n",
            TypeArg::Yubikeycsv,
        );
        check(
            "12345678,,0,69cfb9202438ca68964ec3244bfa4843d073a43b,,2026-12-03T16:11:41,\n",
            TypeArg::Yubikeycsv,
        );
        // The Personalization Tool's traditional log (rows from privacyIDEA's parseYubicoCSV docstring).
        check(
            "LOGGING START,12/11/2013 11:09\n\
             Yubico OTP,12/11/2013 11:10,1,vvgutbiedkvi,ab86c04de6a3,d26a7c0f85fdda28bd816e406342b214,,,0,0,0,0,0,0,0,0,0,0\n",
            TypeArg::Yubikeycsv,
        );
        check(
            "\n\nOATH-HOTP,11.12.13 18:55,1,cccccccccccc,,916821d3a138bf855e70069605559a206ba854cd,,,0,0,0,6,0,0,0,0,0,0\n",
            TypeArg::Yubikeycsv,
        );
        // OATH CSV, also with a numeric serial, a comment first, and version 2 with owners.
        check(
            "# exported\n12345678, 3132333435363738393031323334353637383930, hotp, 6\n",
            TypeArg::Oathcsv,
        );
        check(
            "# version: 2\nalice, flat1, realm1, S1, 3132, totp, 6, 30\n",
            TypeArg::Oathcsv,
        );
        check(
            "\u{feff}<?xml version=\"1.0\"?>\n<KeyContainer/>",
            TypeArg::Pskc,
        );
        check("# ykksm 1\n1,cccccccccccb,...\n", TypeArg::Ykksm);
        check("#ykksm 1\n", TypeArg::Ykksm);
    }

    #[test]
    fn files_that_cannot_be_read_as_text_are_refused() {
        let pgp = detect(b"-----BEGIN PGP MESSAGE-----\n\nhQEMA...\n").unwrap_err();
        assert!(pgp.to_string().contains("gpg --decrypt"), "{pgp}");
        let binary = detect(&[0x85, 0x01, 0x0c, 0x03, 0xff, 0x00]).unwrap_err();
        assert!(binary.to_string().contains("not text"), "{binary}");
        // A head cut inside a UTF-8 character is still text.
        let cut = "S1, 3132, hotp\n# Schlüssel".as_bytes();
        assert_eq!(
            detect(&cut[..cut.len() - 6]).unwrap().format,
            TypeArg::Oathcsv
        );
    }
}
