//! `tessera token import`: seed import from a file straight into a data directory, while `tessera serve` is stopped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tessera_core::import::{Format, ImportOptions, ImportReport, Secret};

use crate::Common;
use crate::serve::open;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Import tokens from an OATH CSV, YubiKey CSV, PSKC or ykksm file. Prints what was not imported
    /// and why; exits 1 if anything was not.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file (`-`: standard input).
    file: PathBuf,
    /// oathcsv, yubikeycsv, pskc or ykksm.
    #[arg(long = "type", value_name = "TYPE")]
    format: String,
    /// Pre-shared AES key of an encrypted PSKC file, in hex.
    #[arg(long, value_name = "HEX", conflicts_with = "password_env")]
    psk: Option<String>,
    /// Environment variable holding the password of a password-encrypted PSKC file.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Put every token in this realm (repeat for several).
    #[arg(long = "realm", value_name = "REALM")]
    realms: Vec<String>,
    /// Replace tokens whose serial exists (their owner, PIN and counters are lost).
    #[arg(long)]
    overwrite: bool,
    /// A directory of extra plugins (NAME.wasm + NAME.toml), for token types not bundled.
    #[arg(long, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Import(args) => import(args),
    }
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let format: Format = args.format.parse()?;
    let secret = match (&args.psk, &args.password_env) {
        (Some(psk), _) => Secret::psk_hex(psk)?,
        (None, Some(var)) => Secret::password(
            &std::env::var(var)
                .with_context(|| format!("the environment variable {var} is not set"))?,
        ),
        (None, None) => Secret::None,
    };
    let reader: Box<dyn BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        Box::new(BufReader::with_capacity(64 << 10, file))
    };
    let cfg = args.common.load(None, args.plugin_dir)?;
    let opened = open(&cfg, true)?;
    let opts = ImportOptions {
        tokenrealms: args.realms,
        overwrite: args.overwrite,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let report = rt
        .block_on(opened.core.import_tokens(format, reader, secret, opts))
        .map_err(|e| {
            anyhow::anyhow!(
                "{}",
                e.message.strip_prefix("ERR905: ").unwrap_or(&e.message)
            )
        })?;
    print!("{}", summary(&report));
    if report.n_not_imported > 0 {
        bail!("{} tokens not imported", report.n_not_imported);
    }
    Ok(())
}

/// `imported N, not imported M` and a line per failure.
fn summary(report: &ImportReport) -> String {
    let mut out = format!(
        "imported {}, not imported {}\n",
        report.n_imported, report.n_not_imported
    );
    for n in &report.not_imported {
        let serial = n
            .serial
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        out += &format!("line {}{serial}: {}\n", n.line, n.reason);
    }
    if report.not_listed > 0 {
        out += &format!("... and {} more not listed\n", report.not_listed);
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use tessera_core::import::NotImported;

    use super::*;
    use crate::{Cli, Command};

    #[test]
    fn the_documented_invocation_parses() {
        let cli = Cli::try_parse_from([
            "tessera",
            "token",
            "import",
            "seeds.csv",
            "--type",
            "oathcsv",
            "--realm",
            "r1",
            "--realm",
            "r2",
            "--overwrite",
            "--data-dir",
            "/d",
        ])
        .unwrap();
        let Command::Token(TokenCommand::Import(args)) = cli.command else {
            panic!("{:?}", cli.command)
        };
        assert_eq!(args.file, PathBuf::from("seeds.csv"));
        assert_eq!((args.format.as_str(), args.overwrite), ("oathcsv", true));
        assert_eq!(args.realms, ["r1", "r2"]);
        assert_eq!(args.common.data_dir, Some(PathBuf::from("/d")));
        let both = Cli::try_parse_from([
            "tessera",
            "token",
            "import",
            "f.xml",
            "--type",
            "pskc",
            "--psk",
            "00",
            "--password-env",
            "PW",
        ]);
        assert!(both.is_err());
    }

    #[test]
    fn the_summary_lists_failures_by_line() {
        let report = ImportReport {
            n_imported: 2,
            n_not_imported: 3,
            not_imported: vec![
                NotImported {
                    line: 4,
                    serial: Some("S4".into()),
                    reason: "serial exists".into(),
                },
                NotImported {
                    line: 7,
                    serial: None,
                    reason: "the serial (first column) is empty".into(),
                },
            ],
            not_listed: 1,
        };
        assert_eq!(
            summary(&report),
            "imported 2, not imported 3\nline 4 (S4): serial exists\nline 7: the serial (first column) is empty\n... and 1 more not listed\n"
        );
    }
}
