//! Loading: plugin directories, the compiled-artifact cache (including a corrupt cache file),
//! duplicate type names, and manifest errors reported at load.

use tessera_runtime::{LoadError, Runtime, RuntimeConfig};

fn copy_fixture(dir: &std::path::Path, name: &str) {
    std::fs::copy(
        tessera_bundled::fixture_path(name),
        dir.join(format!("{name}.wasm")),
    )
    .unwrap();
    std::fs::copy(
        tessera_bundled::fixture_manifest_path(name),
        dir.join(format!("{name}.toml")),
    )
    .unwrap();
}

#[test]
fn load_dir_loads_every_wasm_with_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path(), "hotp");
    copy_fixture(dir.path(), "resolver-flatfile");
    // A wasm without a manifest is skipped.
    std::fs::copy(
        tessera_bundled::fixture_path("totp"),
        dir.path().join("stray.wasm"),
    )
    .unwrap();
    let mut rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut names = rt.load_dir(dir.path()).unwrap();
    names.sort();
    assert_eq!(names, ["hotp", "passwdresolver"]);
    assert_eq!(
        rt.token_types()
            .iter()
            .map(|t| t.type_name.as_str())
            .collect::<Vec<_>>(),
        ["hotp"]
    );
    assert_eq!(rt.token_type("hotp").unwrap().serial_prefix, "OATH");
    assert!(rt.token_type("totp").is_none());
    assert_eq!(rt.resolver_types().len(), 1);

    // A broken manifest names its file.
    std::fs::write(
        dir.path().join("totp.toml"),
        "name = \"totp\"\nkind = \"tokn\"\n",
    )
    .unwrap();
    std::fs::copy(
        tessera_bundled::fixture_path("totp"),
        dir.path().join("totp.wasm"),
    )
    .unwrap();
    let err = Runtime::new(RuntimeConfig::default())
        .unwrap()
        .load_dir(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("totp.wasm") && err.contains("unknown kind `tokn`"),
        "{err}"
    );
}

#[test]
fn the_compile_cache_is_used_and_survives_corruption() {
    let cache = tempfile::tempdir().unwrap();
    let hotp = tessera_bundled::bundled()
        .iter()
        .find(|p| p.name == "hotp")
        .unwrap();
    let cfg = RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    };

    let mut rt = Runtime::new(cfg.clone()).unwrap();
    rt.load(hotp.manifest, hotp.wasm).unwrap();
    let files: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "cwasm"));

    // A second runtime loads from the cache.
    let mut rt = Runtime::new(cfg.clone()).unwrap();
    assert_eq!(rt.load(hotp.manifest, hotp.wasm).unwrap(), "hotp");

    // A corrupt cache file is recompiled and replaced, not fatal.
    std::fs::write(&files[0], b"not a compiled component").unwrap();
    let mut rt = Runtime::new(cfg).unwrap();
    assert_eq!(rt.load(hotp.manifest, hotp.wasm).unwrap(), "hotp");
    let req = tessera_runtime::CheckRequest {
        key: b"12345678901234567890",
        state: crate::state(0, 6, &[]),
        otp: "755224".into(),
        now: 0,
        window: 1,
    };
    assert!(matches!(
        rt.check("hotp", "OATH1", req),
        Ok(tessera_runtime::CheckOutcome::Matched(_))
    ));
    assert!(
        std::fs::read(&files[0]).unwrap().len() > 1000,
        "the cache file was rewritten"
    );
}

#[test]
fn a_type_name_is_registered_once() {
    let hotp = tessera_bundled::bundled()
        .iter()
        .find(|p| p.name == "hotp")
        .unwrap();
    let mut rt = Runtime::new(RuntimeConfig::default()).unwrap();
    rt.load(hotp.manifest, hotp.wasm).unwrap();
    let err = rt
        .load("name = \"hotp-again\"\nkind = \"token\"\n", hotp.wasm)
        .unwrap_err();
    assert!(matches!(err, LoadError::DuplicateType { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("hotp-again") && msg.contains("`hotp`"),
        "{msg}"
    );
}

#[test]
fn invalid_wasm_and_manifests_are_load_errors() {
    let mut rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let err = rt
        .load("name = \"junk\"\nkind = \"token\"\n", b"\0asm junk")
        .unwrap_err();
    assert!(
        matches!(err, LoadError::Compile { ref plugin, .. } if plugin == "junk"),
        "{err}"
    );
    let hotp = tessera_bundled::bundled()
        .iter()
        .find(|p| p.name == "hotp")
        .unwrap();
    let err = rt
        .load(
            "name = \"h\"\nkind = \"token\"\ncapabilities = [\"network\"]\n",
            hotp.wasm,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown capability `network`"),
        "{err}"
    );
}
