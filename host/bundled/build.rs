//! Builds every wasm32-wasip2 crate of the workspace (bundled plugins, hostile test fixtures,
//! examples) with a nested `cargo build` into its own target dir, and tells `src/lib.rs` where the
//! `.wasm` files are.
//!
//! The nested cargo must use a target dir other than the outer build's: two cargos on one target
//! dir wait for each other's build lock forever. Token-world and resolver-world crates are built
//! in separate invocations, so cargo never unifies the `token` and `resolver` features of
//! `tessera-sdk` into one build (a component may implement only one world).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Crates of the token world.
const TOKEN_CRATES: &[&str] = &[
    "plugin-hotp",
    "plugin-totp",
    "hostile-loop",
    "hostile-grow",
    "hostile-panic",
    "hostile-snoop",
    "token-minimal",
];

/// Crates of the resolver world.
const RESOLVER_CRATES: &[&str] = &["plugin-resolver-flatfile", "resolver-minimal"];

const TARGET: &str = "wasm32-wasip2";

/// Environment of the outer build that must not reach the nested one: flags for the host target,
/// the outer target dir and target, the jobserver of the outer cargo, clippy's wrapper.
const CLEARED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CLIPPY_ARGS",
    "CARGO_PRIMARY_PACKAGE",
    "TARGET",
    "HOST",
    "OUT_DIR",
];

/// The release profile of the wasm build, set only for the nested cargo (the workspace profile is
/// the host's): no debug info (it would make each plugin ~2.7 MB instead of ~80 KB), stripped,
/// fat LTO and one codegen unit (smallest and fastest code; measured in the crate README).
const PROFILE_ENV: &[(&str, &str)] = &[
    ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
    ("CARGO_PROFILE_RELEASE_STRIP", "true"),
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3"),
    ("CARGO_PROFILE_RELEASE_LTO", "true"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
];

const INSTALL_HINT: &str =
    "the Rust target wasm32-wasip2 is not installed; run: rustup target add wasm32-wasip2";

fn main() {
    if let Err(message) = run() {
        eprintln!("error: tessera-bundled could not build the wasm plugins: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir.join("../..").canonicalize().map_err(|e| {
        format!(
            "cannot find the workspace root above {}: {e}",
            manifest_dir.display()
        )
    })?;
    for watched in [
        "sdk",
        "plugins",
        "tests/plugins",
        "examples",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir).join("plugins-wasm"),
        None => workspace.join("target").join("plugins-wasm"),
    };
    check_target_installed()?;
    for crates in [TOKEN_CRATES, RESOLVER_CRATES] {
        cargo_build(&workspace, &target_dir, crates)?;
    }
    let wasm_dir = target_dir.join(TARGET).join("release");
    for name in TOKEN_CRATES.iter().chain(RESOLVER_CRATES) {
        let file = wasm_dir.join(format!("{}.wasm", name.replace('-', "_")));
        if !file.is_file() {
            return Err(format!(
                "the nested build succeeded but {} is missing",
                file.display()
            ));
        }
    }
    println!(
        "cargo:rustc-env=TESSERA_PLUGINS_WASM_DIR={}",
        wasm_dir.display()
    );
    println!(
        "cargo:rustc-env=TESSERA_WORKSPACE_DIR={}",
        workspace.display()
    );
    Ok(())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

/// Fail early with the fix if the standard library for wasm32-wasip2 is missing.
fn check_target_installed() -> Result<(), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .map_err(|e| format!("cannot run {rustc}: {e}"))?;
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || libdir.is_empty() || !Path::new(&libdir).is_dir() {
        return Err(format!(
            "{INSTALL_HINT}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

fn cargo_build(workspace: &Path, target_dir: &Path, crates: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(target_dir);
    if let Ok(jobs) = std::env::var("NUM_JOBS") {
        cmd.args(["--jobs", &jobs]);
    }
    for name in crates {
        cmd.args(["--package", name]);
    }
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    cmd.envs(PROFILE_ENV.iter().copied());
    cmd.stdout(Stdio::inherit()).stderr(Stdio::piped());
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let hint = if stderr.contains("may not be installed")
        || stderr.contains("can't find crate for `core`")
    {
        format!("{INSTALL_HINT}\n")
    } else {
        String::new()
    };
    Err(format!(
        "{hint}`cargo build --release --target {TARGET} --package {}` failed ({}):\n{stderr}",
        crates.join(" --package "),
        output.status
    ))
}
