//! The plugins Tessera ships (HOTP, TOTP, flat-file resolver) as embedded wasm32-wasip2
//! components with their manifests, and the paths of the test fixtures (`hostile-*`) and examples
//! built beside them. `build.rs` builds all of them; this crate has no dependencies.

use std::path::PathBuf;

/// A plugin compiled into the server.
#[derive(Clone, Copy)]
pub struct BundledPlugin {
    /// The plugin's name (its manifest's `name`): `hotp`, `totp`, `resolver-flatfile`.
    pub name: &'static str,
    /// The component (wasm32-wasip2, component layer).
    pub wasm: &'static [u8],
    /// The content of its `tessera-plugin.toml`.
    pub manifest: &'static str,
}

impl std::fmt::Debug for BundledPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundledPlugin")
            .field("name", &self.name)
            .field("wasm", &format_args!("{} bytes", self.wasm.len()))
            .finish_non_exhaustive()
    }
}

macro_rules! wasm {
    ($file:literal) => {
        include_bytes!(concat!(env!("TESSERA_PLUGINS_WASM_DIR"), "/", $file))
    };
}

static BUNDLED: [BundledPlugin; 3] = [
    BundledPlugin {
        name: "hotp",
        wasm: wasm!("plugin_hotp.wasm"),
        manifest: include_str!("../../../plugins/hotp/tessera-plugin.toml"),
    },
    BundledPlugin {
        name: "totp",
        wasm: wasm!("plugin_totp.wasm"),
        manifest: include_str!("../../../plugins/totp/tessera-plugin.toml"),
    },
    BundledPlugin {
        name: "resolver-flatfile",
        wasm: wasm!("plugin_resolver_flatfile.wasm"),
        manifest: include_str!("../../../plugins/resolver-flatfile/tessera-plugin.toml"),
    },
];

/// The plugins compiled into the server: `hotp`, `totp`, `resolver-flatfile`.
pub fn bundled() -> &'static [BundledPlugin] {
    &BUNDLED
}

/// Every wasm crate the build script builds: (plugin name, `.wasm` file, crate folder).
const BUILT: &[(&str, &str, &str)] = &[
    ("hotp", "plugin_hotp.wasm", "plugins/hotp"),
    ("totp", "plugin_totp.wasm", "plugins/totp"),
    (
        "resolver-flatfile",
        "plugin_resolver_flatfile.wasm",
        "plugins/resolver-flatfile",
    ),
    (
        "hostile-loop",
        "hostile_loop.wasm",
        "tests/plugins/hostile-loop",
    ),
    (
        "hostile-grow",
        "hostile_grow.wasm",
        "tests/plugins/hostile-grow",
    ),
    (
        "hostile-panic",
        "hostile_panic.wasm",
        "tests/plugins/hostile-panic",
    ),
    (
        "hostile-snoop",
        "hostile_snoop.wasm",
        "tests/plugins/hostile-snoop",
    ),
    (
        "token-minimal",
        "token_minimal.wasm",
        "examples/token-minimal",
    ),
    (
        "resolver-minimal",
        "resolver_minimal.wasm",
        "examples/resolver-minimal",
    ),
];

/// The names [`fixture_path`] knows: the bundled plugins, `hostile-loop`, `hostile-grow`,
/// `hostile-panic`, `hostile-snoop`, `token-minimal`, `resolver-minimal`.
pub fn fixture_names() -> impl Iterator<Item = &'static str> {
    BUILT.iter().map(|(name, _, _)| *name)
}

/// The built `.wasm` of a fixture, example or bundled plugin, by name (see [`fixture_names`]).
/// An unknown name gives a path that does not exist, so loading it fails with "not found".
pub fn fixture_path(name: &str) -> PathBuf {
    let file = match BUILT.iter().find(|(n, _, _)| *n == name) {
        Some((_, file, _)) => (*file).to_owned(),
        None => format!("{}.wasm", name.replace('-', "_")),
    };
    PathBuf::from(env!("TESSERA_PLUGINS_WASM_DIR")).join(file)
}

/// The `tessera-plugin.toml` of a fixture, example or bundled plugin, by name. An unknown name
/// gives a path under `tests/plugins/` that does not exist.
pub fn fixture_manifest_path(name: &str) -> PathBuf {
    let dir = match BUILT.iter().find(|(n, _, _)| *n == name) {
        Some((_, _, dir)) => (*dir).to_owned(),
        None => format!("tests/plugins/{name}"),
    };
    PathBuf::from(env!("TESSERA_WORKSPACE_DIR"))
        .join(dir)
        .join("tessera-plugin.toml")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// The preamble of a component (not a core module): `\0asm`, version 0x0d, layer 1.
    const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    fn manifest_kind_and_name(text: &str) -> (String, String) {
        let doc: toml::Table = text.parse().expect("manifest is TOML");
        let get = |key: &str| doc.get(key).and_then(|v| v.as_str()).expect(key).to_owned();
        (get("kind"), get("name"))
    }

    #[test]
    fn bundled_plugins_are_components_with_matching_manifests() {
        let expected = [
            ("hotp", "token"),
            ("totp", "token"),
            ("resolver-flatfile", "resolver"),
        ];
        assert_eq!(bundled().len(), expected.len());
        for (plugin, (name, kind)) in bundled().iter().zip(expected) {
            assert_eq!(plugin.name, name);
            assert_eq!(
                plugin.wasm[..8],
                COMPONENT_HEADER,
                "{name} is not a component"
            );
            assert_eq!(
                manifest_kind_and_name(plugin.manifest),
                (kind.to_owned(), name.to_owned())
            );
        }
    }

    #[test]
    fn every_fixture_is_built_with_a_manifest() {
        for name in fixture_names() {
            let wasm = std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(wasm[..8], COMPONENT_HEADER, "{name} is not a component");
            let manifest = std::fs::read_to_string(fixture_manifest_path(name)).unwrap();
            let (kind, manifest_name) = manifest_kind_and_name(&manifest);
            assert_eq!(manifest_name, name);
            let want = if name.contains("resolver") {
                "resolver"
            } else {
                "token"
            };
            assert_eq!(kind, want, "{name}");
        }
    }

    #[test]
    fn bundled_manifests_grant_what_the_plugins_use() {
        let flatfile = bundled()
            .iter()
            .find(|p| p.name == "resolver-flatfile")
            .unwrap();
        let doc: toml::Table = flatfile.manifest.parse().unwrap();
        let caps: Vec<&str> = doc["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(caps, ["files", "passwords"]);
    }

    #[test]
    fn unknown_fixture_names_give_missing_paths() {
        assert!(!fixture_path("no-such-fixture").exists());
        assert!(!fixture_manifest_path("no-such-fixture").exists());
    }
}
