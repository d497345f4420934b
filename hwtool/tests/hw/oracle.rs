//! The libykpers oracle: ykcfg_oracle.c built once with gcc against Debian's libykpers-1-dev.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hw/ykcfg_oracle.c");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ykcfg_oracle");
        let flags = Command::new("pkg-config")
            .args(["--cflags", "--libs", "ykpers-1"])
            .output()
            .unwrap_or_else(|e| {
                panic!("pkg-config not runnable ({e}): run scripts/setup-hwtool.sh")
            });
        assert!(
            flags.status.success(),
            "pkg-config finds no ykpers-1: install libykpers-1-dev (scripts/setup-hwtool.sh)"
        );
        let flags = String::from_utf8(flags.stdout).unwrap();
        let cc = Command::new("gcc")
            .arg("-o")
            .arg(&out)
            .arg(src)
            .args(flags.split_whitespace())
            .arg("-lyubikey")
            .output()
            .unwrap_or_else(|e| panic!("gcc not runnable ({e}): run scripts/setup-hwtool.sh"));
        assert!(
            cc.status.success(),
            "building the oracle failed:\n{}",
            String::from_utf8_lossy(&cc.stderr)
        );
        out
    })
}

/// libykpers' configuration and HID frame (hex) for `mode slot opts...`.
pub fn oracle(args: &[&str]) -> (String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "oracle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in oracle output {text}"))
            .to_string()
    };
    (field("config="), field("frame="))
}
