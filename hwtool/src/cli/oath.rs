//! `oath ...`: add, list, code, delete, reset and password of the OATH applet.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use tessera_hwtool::device::{self, Target};
use tessera_hwtool::error::HwError;
use tessera_hwtool::oath::{Credential, HashAlgo, NewCredential, OathSession, OathType};

#[derive(Debug, Args)]
pub struct OathArgs {
    /// The applet's password, if it has one.
    #[arg(long, env = "TESSERA_OATH_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    #[command(subcommand)]
    pub command: OathCommand,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TypeArg {
    Totp,
    Hotp,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AlgoArg {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Subcommand)]
pub enum OathCommand {
    /// Add (or replace) an account.
    Add {
        /// Account name.
        name: String,
        /// Secret, base32 (as in otpauth:// URIs).
        secret: String,
        #[arg(long)]
        issuer: Option<String>,
        #[arg(long = "type", value_enum, default_value_t = TypeArg::Totp)]
        oath_type: TypeArg,
        #[arg(long, value_enum, default_value_t = AlgoArg::Sha1)]
        algorithm: AlgoArg,
        #[arg(long, default_value_t = 6)]
        digits: u8,
        /// TOTP step in seconds.
        #[arg(long, default_value_t = 30)]
        period: u32,
        /// HOTP start counter.
        #[arg(long, default_value_t = 0)]
        counter: u32,
        /// Require a touch for each code.
        #[arg(long)]
        touch: bool,
        /// Replace an existing account of the same id.
        #[arg(long)]
        force: bool,
    },
    /// List account ids with type and algorithm.
    List,
    /// Codes of all accounts, or of those whose id contains QUERY.
    Code {
        query: Option<String>,
        /// Unix time to compute TOTP codes for (default: now).
        #[arg(long)]
        timestamp: Option<u64>,
    },
    /// Delete the account with exactly this id.
    Delete { id: String },
    /// Delete every account and the password.
    Reset {
        #[arg(long)]
        force: bool,
    },
    /// Set (or, with --clear, remove) the applet password.
    Password {
        /// The new password.
        new: Option<String>,
        #[arg(long, conflicts_with = "new")]
        clear: bool,
    },
}

fn unlock(s: &mut OathSession, password: Option<&str>) -> Result<()> {
    if !s.locked() {
        return Ok(());
    }
    match password {
        Some(p) => Ok(s.validate(p)?),
        None => Err(HwError::OathLocked.into()),
    }
}

fn find(creds: &[Credential], query: &str) -> Vec<Credential> {
    if let Some(c) = creds.iter().find(|c| c.id == query) {
        return vec![c.clone()];
    }
    let q = query.to_lowercase();
    creds
        .iter()
        .filter(|c| c.id.to_lowercase().contains(&q))
        .cloned()
        .collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn run(target: &Target, args: OathArgs) -> Result<()> {
    let mut s = device::open_oath(target)?;
    if !matches!(args.command, OathCommand::Reset { .. }) {
        unlock(&mut s, args.password.as_deref())?;
    }
    match args.command {
        OathCommand::Add {
            name,
            secret,
            issuer,
            oath_type,
            algorithm,
            digits,
            period,
            counter,
            touch,
            force,
        } => {
            let clean: String = secret
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '=')
                .collect();
            let secret = data_encoding::BASE32_NOPAD
                .decode(clean.to_uppercase().as_bytes())
                .map_err(|_| anyhow::anyhow!("the secret must be base32"))?;
            let cred = NewCredential {
                issuer,
                name,
                oath_type: match oath_type {
                    TypeArg::Totp => OathType::Totp,
                    TypeArg::Hotp => OathType::Hotp,
                },
                algo: match algorithm {
                    AlgoArg::Sha1 => HashAlgo::Sha1,
                    AlgoArg::Sha256 => HashAlgo::Sha256,
                    AlgoArg::Sha512 => HashAlgo::Sha512,
                },
                digits,
                period,
                counter,
                touch,
                secret,
            };
            if !force && s.list()?.iter().any(|c| c.id == cred.id()) {
                bail!(
                    "an account \"{}\" exists: pass --force to replace it",
                    cred.id()
                );
            }
            let c = s.put(&cred)?;
            println!("Added {}", c.id);
        }
        OathCommand::List => {
            for c in s.list()? {
                let ty = match c.oath_type {
                    OathType::Totp => "TOTP",
                    OathType::Hotp => "HOTP",
                };
                println!("{}\t{ty}\t{}", c.id, c.algo.name());
            }
        }
        OathCommand::Code { query, timestamp } => {
            let creds = s.list()?;
            let selected = match &query {
                Some(q) => find(&creds, q),
                None => creds,
            };
            if selected.is_empty() {
                bail!("no account matches \"{}\"", query.unwrap_or_default());
            }
            let t = timestamp.unwrap_or_else(now);
            for c in selected {
                let code = s.calculate(&c, t)?;
                println!("{}\t{code}", c.id);
            }
        }
        OathCommand::Delete { id } => {
            s.delete(&id)?;
            println!("Deleted {id}");
        }
        OathCommand::Reset { force } => {
            if !force {
                bail!("reset deletes every OATH account on the key: pass --force");
            }
            s.reset()?;
            println!("OATH applet reset.");
        }
        OathCommand::Password { new, clear } => match (new, clear) {
            (Some(p), false) => {
                s.set_password(Some(&p))?;
                println!("Password set.");
            }
            (None, true) => {
                s.set_password(None)?;
                println!("Password removed.");
            }
            _ => bail!("give the new password, or --clear"),
        },
    }
    Ok(())
}
