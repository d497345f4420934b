//! `tessera admin add|list|delete` and `tessera enckey create`: offline maintenance of a data directory
//! (`block_on` and `pi` are shared with the other offline commands).

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use zeroize::Zeroizing;

use crate::config::Config;
use crate::datadir;
use crate::serve::open;

pub fn add(cfg: &Config, name: &str) -> anyhow::Result<()> {
    let opened = open(cfg, false)?;
    let password = read_password(name)?;
    let existed = opened
        .core
        .list_admins()
        .map_err(pi)?
        .iter()
        .any(|a| a == name);
    block_on(opened.core.add_admin(name, &password))?.map_err(pi)?;
    let what = if existed { "password changed" } else { "added" };
    println!("administrator '{name}' {what}");
    Ok(())
}

pub fn list(cfg: &Config) -> anyhow::Result<()> {
    let opened = open(cfg, false)?;
    for name in opened.core.list_admins().map_err(pi)? {
        println!("{name}");
    }
    Ok(())
}

pub fn delete(cfg: &Config, name: &str) -> anyhow::Result<()> {
    let opened = open(cfg, false)?;
    block_on(opened.core.delete_admin(name))?.map_err(pi)?;
    println!("administrator '{name}' deleted");
    Ok(())
}

/// First start without an administrator: create one from `TESSERA_ADMIN_PASSWORD` (name from
/// `TESSERA_ADMIN_USER`, default `admin`), or by asking on the terminal; otherwise say what to do.
pub fn first_admin(core: &tessera_core::Tessera, cfg: &Config) -> anyhow::Result<()> {
    let from_env = std::env::var("TESSERA_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let name = std::env::var("TESSERA_ADMIN_USER")
        .ok()
        .filter(|n| !n.is_empty());
    let (name, password) = match from_env {
        Some(pw) => (name.unwrap_or_else(|| "admin".into()), Zeroizing::new(pw)),
        None if std::io::stdin().is_terminal() => {
            eprint!("No administrator yet. Name of the first administrator [admin]: ");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the name")?;
            let name = match line.trim() {
                "" => "admin".to_string(),
                n => n.to_string(),
            };
            let password = read_password(&name)?;
            (name, password)
        }
        None => {
            tracing::warn!(
                "no administrator yet: stop the server and run `tessera admin add NAME --data-dir {}`, or start it with TESSERA_ADMIN_PASSWORD set",
                cfg.data_dir.display()
            );
            return Ok(());
        }
    };
    block_on(core.add_admin(&name, &password))?.map_err(pi)?;
    tracing::info!(name = %name, "created the first administrator");
    Ok(())
}

/// `tessera enckey create`: a new key where the config says; never replaces one.
pub fn create_enckey(cfg: &Config) -> anyhow::Result<()> {
    let path = cfg.enckey_path();
    datadir::create_key(&path)?;
    println!("created {}", path.display());
    Ok(())
}

/// Asks twice on a terminal; otherwise reads one line from stdin (scripts: `echo "$PW" | tessera admin add NAME`).
fn read_password(name: &str) -> anyhow::Result<Zeroizing<String>> {
    if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(rpassword::prompt_password(format!(
            "Password for '{name}': "
        ))?);
        let second = Zeroizing::new(rpassword::prompt_password("Repeat the password: ")?);
        if first != second {
            bail!("the passwords do not match");
        }
        check_password(first)
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let trimmed = Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_string());
        check_password(trimmed)
    }
}

fn check_password(password: Zeroizing<String>) -> anyhow::Result<Zeroizing<String>> {
    if password.is_empty() {
        bail!("the password must not be empty");
    }
    Ok(password)
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    Ok(rt.block_on(f))
}

pub(crate) fn pi(e: tessera_proto::PiError) -> anyhow::Error {
    anyhow::anyhow!(
        "{}",
        e.message.strip_prefix("ERR905: ").unwrap_or(&e.message)
    )
}
