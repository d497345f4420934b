//! The audit log in the daemon: opening it for `serve` (keys created on first start, like the
//! enckey), and the offline commands `tessera audit verify` and `tessera audit-keys create`.

use std::path::Path;

use anyhow::{Context, bail};
use tessera_api::audit::Auditing;
use tessera_audit::{AuditConfig, AuditKeys, AuditPublicKey, PUBLIC_KEY_FILE, Retention};

use crate::config::Config;

/// The audit log for `serve`, or `None` when `[audit] enabled = false`.
pub fn open(cfg: &Config) -> anyhow::Result<Option<Auditing>> {
    if !cfg.audit.enabled {
        tracing::warn!("the audit log is off ([audit] enabled = false)");
        return Ok(None);
    }
    let key_dir = cfg.audit_key_dir();
    let keys = if key_dir.join(tessera_audit::PRIVATE_KEY_FILE).exists() {
        AuditKeys::load(&key_dir)
            .with_context(|| format!("cannot read the audit key in {}", key_dir.display()))?
    } else {
        tracing::info!(dir = %key_dir.display(), "creating the audit signing key");
        AuditKeys::create(&key_dir)
            .with_context(|| format!("cannot create the audit key in {}", key_dir.display()))?
    };
    let config = AuditConfig {
        segment_entries: cfg.audit.segment_entries,
        retention: Retention {
            max_age_days: cfg.audit.max_age_days,
            max_entries: cfg.audit.max_entries,
        },
        ..AuditConfig::default()
    };
    let dir = cfg.audit_dir();
    let log = tessera_audit::AuditLog::open(&dir, keys.clone(), config)
        .with_context(|| format!("cannot open the audit log in {}", dir.display()))?;
    let node = cfg.audit.node.clone().unwrap_or_else(host_name);
    Ok(Some(Auditing {
        log,
        signer: cfg.audit.sign_responses.then_some(keys),
        node,
    }))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tessera".into())
}

/// `tessera audit verify`: check every segment against the public key. Fails if anything is wrong.
pub fn verify(cfg: &Config) -> anyhow::Result<()> {
    let key = cfg.audit_key_dir().join(PUBLIC_KEY_FILE);
    let public = AuditPublicKey::load(&key)
        .with_context(|| format!("cannot read the audit public key {}", key.display()))?;
    let dir = cfg.audit_dir();
    let report = tessera_audit::verify(&dir, &public)
        .with_context(|| format!("cannot read the audit log in {}", dir.display()))?;
    println!("{report}");
    if !report.is_ok() {
        bail!("the audit log in {} does not verify", dir.display());
    }
    Ok(())
}

/// `tessera audit-keys create`: a new signing key pair (refuses to overwrite one).
pub fn create_keys(cfg: &Config) -> anyhow::Result<()> {
    let dir = cfg.audit_key_dir();
    create_in(&dir)?;
    println!("created {}", dir.display());
    Ok(())
}

fn create_in(dir: &Path) -> anyhow::Result<()> {
    if dir.join(tessera_audit::PRIVATE_KEY_FILE).exists() {
        bail!(
            "{} already holds an audit key; move it away first (entries signed with it need its public key to verify)",
            dir.display()
        );
    }
    AuditKeys::create(dir)
        .with_context(|| format!("cannot create the audit key in {}", dir.display()))?;
    Ok(())
}
