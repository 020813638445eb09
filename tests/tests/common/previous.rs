//! The previous release's `liaison` binary (compat/previous-release), for the
//! tests that run it beside this build: `LIAISON_PREVIOUS_BIN` when set (CI
//! exports it), else built once by `scripts/previous-release.sh`. Never skips:
//! a test that asks for it fails with the command to run when it cannot be had.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The previous release's binary; built on first use when the variable is unset.
pub fn previous_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(find_or_build).clone()
}

fn find_or_build() -> PathBuf {
    if let Some(set) = std::env::var_os("LIAISON_PREVIOUS_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(set);
        assert!(
            bin.is_file(),
            "LIAISON_PREVIOUS_BIN={} is not a file; build it with scripts/previous-release.sh",
            bin.display()
        );
        return bin;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace");
    let script = root.join("scripts/previous-release.sh");
    // Its progress goes to our stderr (cargo shows it with --nocapture); the
    // path alone comes on stdout.
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && Path::new(&path).is_file(),
        "{} failed ({}); run it by hand and set LIAISON_PREVIOUS_BIN to the path it prints",
        script.display(),
        out.status
    );
    PathBuf::from(path)
}
