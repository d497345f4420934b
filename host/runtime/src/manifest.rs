//! The plugin manifest: the TOML file next to each plugin's `.wasm` naming it, its kind, the
//! capabilities it is granted and its sandbox limits.
//!
//! ```toml
//! name = "resolver-flatfile"
//! kind = "resolver"                  # or "token"
//! capabilities = ["files", "passwords"]
//! [limits]                           # optional; defaults come from RuntimeConfig
//! memory_mib = 32
//! time_ms = 200
//! ```

use std::fmt;

use serde::Deserialize;

/// Largest `memory_mib` a manifest may ask for.
const MAX_MEMORY_MIB: u32 = 4096;
/// Largest `time_ms` a manifest may ask for.
const MAX_TIME_MS: u64 = 60_000;

/// Which world a plugin implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    Token,
    Resolver,
}

impl PluginKind {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Token => "token",
            PluginKind::Resolver => "resolver",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host interface that is only linked when the manifest grants it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Capability {
    /// `tessera:plugin/files`: read files named by `kind: file` configuration fields.
    Files,
    /// `tessera:plugin/passwords`: verify password hashes natively.
    Passwords,
}

impl Capability {
    /// The manifest spelling, which is also the WIT interface name.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Files => "files",
            Capability::Passwords => "passwords",
        }
    }

    /// The WIT interface the capability grants, without version.
    pub(crate) fn interface(self) -> &'static str {
        match self {
            Capability::Files => "tessera:plugin/files",
            Capability::Passwords => "tessera:plugin/passwords",
        }
    }

    pub(crate) const ALL: [Capability; 2] = [Capability::Files, Capability::Passwords];
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed, checked manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub kind: PluginKind,
    pub capabilities: Vec<Capability>,
    /// `[limits] memory_mib`, if set.
    pub memory_mib: Option<u32>,
    /// `[limits] time_ms`, if set.
    pub time_ms: Option<u64>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("invalid plugin manifest: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("plugin manifest: `name` must not be empty")]
    EmptyName,
    #[error("plugin manifest {plugin}: unknown kind `{kind}` (expected `token` or `resolver`)")]
    UnknownKind { plugin: String, kind: String },
    #[error(
        "plugin manifest {plugin}: unknown capability `{capability}` (known: files, passwords)"
    )]
    UnknownCapability { plugin: String, capability: String },
    #[error("plugin manifest {plugin}: limit `{limit}` = {value} is out of range (1..={max})")]
    LimitOutOfRange {
        plugin: String,
        limit: &'static str,
        value: u64,
        max: u64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    kind: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    limits: RawLimits,
    // Accepted for documentation; the runtime does not use them.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory_mib: Option<u32>,
    time_ms: Option<u64>,
}

impl Manifest {
    /// Parse and check a manifest.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text)?;
        let name = raw.name.trim().to_string();
        if name.is_empty() {
            return Err(ManifestError::EmptyName);
        }
        let kind = match raw.kind.as_str() {
            "token" => PluginKind::Token,
            "resolver" => PluginKind::Resolver,
            other => {
                return Err(ManifestError::UnknownKind {
                    plugin: name,
                    kind: other.to_string(),
                });
            }
        };
        let mut capabilities = Vec::new();
        for cap in &raw.capabilities {
            let c = match Capability::ALL.iter().find(|c| c.as_str() == cap) {
                Some(c) => *c,
                None => {
                    return Err(ManifestError::UnknownCapability {
                        plugin: name,
                        capability: cap.clone(),
                    });
                }
            };
            if !capabilities.contains(&c) {
                capabilities.push(c);
            }
        }
        capabilities.sort();
        if let Some(m) = raw.limits.memory_mib {
            check_range(&name, "memory_mib", u64::from(m), u64::from(MAX_MEMORY_MIB))?;
        }
        if let Some(t) = raw.limits.time_ms {
            check_range(&name, "time_ms", t, MAX_TIME_MS)?;
        }
        Ok(Manifest {
            name,
            kind,
            capabilities,
            memory_mib: raw.limits.memory_mib,
            time_ms: raw.limits.time_ms,
        })
    }

    /// Whether the manifest grants `cap`.
    pub fn grants(&self, cap: Capability) -> bool {
        self.capabilities.contains(&cap)
    }
}

fn check_range(
    plugin: &str,
    limit: &'static str,
    value: u64,
    max: u64,
) -> Result<(), ManifestError> {
    if value == 0 || value > max {
        return Err(ManifestError::LimitOutOfRange {
            plugin: plugin.to_string(),
            limit,
            value,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_manifest() {
        let m = Manifest::parse(
            "name = \"flat\"\nkind = \"resolver\"\ncapabilities = [\"passwords\", \"files\"]\n\
             [limits]\nmemory_mib = 16\ntime_ms = 50\n",
        )
        .unwrap();
        assert_eq!(m.name, "flat");
        assert_eq!(m.kind, PluginKind::Resolver);
        assert_eq!(
            m.capabilities,
            vec![Capability::Files, Capability::Passwords]
        );
        assert_eq!((m.memory_mib, m.time_ms), (Some(16), Some(50)));
    }

    #[test]
    fn minimal_manifest() {
        let m = Manifest::parse("name = \"hotp\"\nkind = \"token\"\n").unwrap();
        assert_eq!(m.kind, PluginKind::Token);
        assert!(m.capabilities.is_empty());
        assert_eq!((m.memory_mib, m.time_ms), (None, None));
    }

    #[test]
    fn errors_name_the_offending_value() {
        let check = |text: &str, needle: &str| {
            let err = Manifest::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{err:?} should contain {needle:?}");
        };
        check("name = \"x\"\nkind = \"tokne\"\n", "unknown kind `tokne`");
        check(
            "name = \"x\"\nkind = \"resolver\"\ncapabilities = [\"network\"]\n",
            "capability `network`",
        );
        check(
            "name = \"x\"\nkind = \"token\"\n[limits]\ntime_ms = 0\n",
            "time_ms",
        );
        check(
            "name = \"x\"\nkind = \"token\"\n[limits]\nmemory_mb = 3\n",
            "memory_mb",
        );
        check("name = \" \"\nkind = \"token\"\n", "name");
        check("kind = \"token\"\n", "name");
    }
}
