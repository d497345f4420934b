//! The `tessera` binary: command line, logging, and dispatch to `serve` and the offline admin commands.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod admin;
mod audit_cmd;
mod config;
mod datadir;
mod policy_cmd;
mod serve;
mod token_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

/// mimalloc: the request path allocates many small, short-lived buffers (HTTP, JSON, plugin calls);
/// measured faster than glibc malloc here under concurrent load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tessera: a two-factor authentication server that speaks privacyIDEA's REST API.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API until SIGTERM or SIGINT.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address and port to listen on (port 0: any free port).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// A directory of extra plugins (NAME.wasm + NAME.toml).
        #[arg(long, value_name = "DIR")]
        plugin_dir: Option<PathBuf>,
    },
    /// Manage the local administrators (stop `tessera serve` first).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage the encryption key that seals token seeds.
    #[command(subcommand)]
    Enckey(EnckeyCommand),
    /// Manage tokens offline: import seed files (stop `tessera serve` first).
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
    /// List, delete or disable policies offline, e.g. after an admin policy locked every
    /// administrator out (stop `tessera serve` first).
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Check the audit log's signatures and hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the key that signs the audit log and the answers.
    #[command(subcommand, name = "audit-keys")]
    AuditKeys(AuditKeysCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add an administrator, or set the password of an existing one. The password is asked twice on a
    /// terminal, or read as one line from stdin.
    Add {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the administrators.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Delete an administrator.
    Delete {
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify every entry (hash chain, checkpoint signatures, missing or edited lines). Exits non-zero
    /// when anything is wrong. Safe while the server runs (its newest batch may show as unsigned).
    Verify {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
enum AuditKeysCommand {
    /// Create the audit signing key pair (refuses to overwrite one). `serve` creates it when missing.
    Create {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
enum EnckeyCommand {
    /// Create the key file (refuses to overwrite an existing one).
    Create {
        #[command(flatten)]
        common: Common,
    },
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Common {
    /// TOML configuration file (see examples/tessera.toml); without it, the defaults.
    #[arg(long, value_name = "FILE", env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (store, key, plugin cache) [default: ./data, or data_dir from the config file].
    #[arg(long, value_name = "DIR", env = "TESSERA_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl Common {
    fn load(self, listen: Option<String>, plugin_dir: Option<PathBuf>) -> anyhow::Result<Config> {
        Config::load(
            self.config.as_deref(),
            Overrides {
                data_dir: self.data_dir,
                listen,
                plugin_dir,
            },
        )
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            common,
            listen,
            plugin_dir,
        } => serve::serve(&common.load(listen, plugin_dir)?),
        Command::Admin(AdminCommand::Add { name, common }) => {
            admin::add(&common.load(None, None)?, &name)
        }
        Command::Admin(AdminCommand::List { common }) => admin::list(&common.load(None, None)?),
        Command::Admin(AdminCommand::Delete { name, common }) => {
            admin::delete(&common.load(None, None)?, &name)
        }
        Command::Enckey(EnckeyCommand::Create { common }) => {
            admin::create_enckey(&common.load(None, None)?)
        }
        Command::Token(command) => token_cmd::run(command),
        Command::Policy(command) => policy_cmd::run(command),
        Command::Audit(AuditCommand::Verify { common }) => {
            audit_cmd::verify(&common.load(None, None)?)
        }
        Command::AuditKeys(AuditKeysCommand::Create { common }) => {
            audit_cmd::create_keys(&common.load(None, None)?)
        }
    }
}

/// Logs go to stderr; `RUST_LOG` sets the filter (default `info`, e.g. `RUST_LOG=tessera_api=debug` for a
/// line per request).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn documented_invocations_parse() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap().command;
        let cmd = parse(&[
            "tessera",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "/d",
            "--config",
            "c.toml",
            "--plugin-dir",
            "/p",
        ]);
        let Command::Serve {
            common,
            listen,
            plugin_dir,
        } = cmd
        else {
            panic!("{cmd:?}")
        };
        assert_eq!(listen.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(plugin_dir, Some(PathBuf::from("/p")));
        let cfg = common.load(listen, plugin_dir);
        assert!(format!("{:#}", cfg.unwrap_err()).contains("c.toml"));
        let cmd = parse(&["tessera", "admin", "add", "alice", "--data-dir", "/d"]);
        let Command::Admin(AdminCommand::Add { name, common }) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(
            (name.as_str(), common.data_dir),
            ("alice", Some(PathBuf::from("/d")))
        );
        assert!(matches!(
            parse(&["tessera", "admin", "list"]),
            Command::Admin(AdminCommand::List { .. })
        ));
        assert!(matches!(
            parse(&["tessera", "admin", "delete", "bob"]),
            Command::Admin(AdminCommand::Delete { .. })
        ));
        assert!(matches!(
            parse(&["tessera", "enckey", "create"]),
            Command::Enckey(EnckeyCommand::Create { .. })
        ));
    }
}
