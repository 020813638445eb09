//! The previous release's `liaison` binary (compat/previous-release), for the
//! tests that run it beside this build: `LIAISON_PREVIOUS_BIN` when set (CI
//! exports it), else built once by `scripts/previous-release.sh`. Never skips:
//! a test that asks for it fails with the command to run when it cannot be had.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The previous release's binary; built on first use when the variable is unset.
/// Checked to be that release (its `--version`), so that a mixed-version test
/// never passes by running this build twice.
pub fn previous_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = find_or_build();
        let release = script(&["--tag"]);
        let release = release.trim_start_matches('v');
        let version = Command::new(&bin)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} --version: {e}", bin.display()));
        let version = String::from_utf8_lossy(&version.stdout).into_owned();
        assert!(
            version == format!("liaison {release}\n")
                || version.starts_with(&format!("liaison {release} ")),
            "{} says {version:?}, not release {release} (compat/previous-release)",
            bin.display()
        );
        bin
    })
    .clone()
}

/// scripts/previous-release.sh ARGS: its stdout, trimmed (its progress goes
/// to our stderr, which cargo shows with --nocapture).
fn script(args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace");
    let path = root.join("scripts/previous-release.sh");
    let out = Command::new(&path)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}); run it by hand and set LIAISON_PREVIOUS_BIN to the path it prints",
        path.display(),
        out.status
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
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
    let path = PathBuf::from(script(&[]));
    assert!(
        path.is_file(),
        "scripts/previous-release.sh printed {}, which is not a file",
        path.display()
    );
    path
}
