//! Packaging (issue 23 item 5): the systemd unit's header and OPERATIONS.md §18
//! give one install recipe, and `systemd-analyze verify` accepts the unit once
//! the recipe's man pages are installed (skipped, saying why, where the tool is
//! missing).

use std::path::Path;
use std::process::Command;

use crate::common::BIN;

/// The workspace root (tests/ is one level below it).
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

/// The recipe in the unit's header: the `#   ` lines after `# Install`, unindented.
fn unit_recipe(unit: &str) -> Vec<String> {
    let mut lines: Vec<String> = unit
        .lines()
        .skip_while(|l| !l.starts_with("# Install"))
        .skip(1)
        .skip_while(|l| !l.starts_with("#   "))
        .take_while(|l| l.starts_with("#   ") || *l == "#")
        .map(|l| l.strip_prefix("#   ").unwrap_or("").to_string())
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// The first `sh` block of OPERATIONS.md §18.
fn doc_recipe(doc: &str) -> Vec<String> {
    let section = doc
        .split("\n## 18.")
        .nth(1)
        .expect("OPERATIONS.md has a section 18");
    section
        .lines()
        .skip_while(|l| *l != "```sh")
        .skip(1)
        .take_while(|l| *l != "```")
        .map(str::to_string)
        .collect()
}

#[test]
fn the_unit_header_and_operations_give_the_same_install_recipe() {
    let unit = unit_recipe(&read("packaging/liaison.service"));
    let doc = doc_recipe(&read("docs/OPERATIONS.md"));
    assert!(
        unit.iter().any(|l| l.starts_with("liaison man --out")),
        "the unit's recipe installs no man page: {unit:#?}"
    );
    assert_eq!(
        unit, doc,
        "packaging/liaison.service's header and OPERATIONS.md §18 differ"
    );
}

#[test]
fn systemd_analyze_verify_accepts_the_unit_with_its_man_pages_installed() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIPPED: systemd-analyze is not installed on this machine (Debian: apt-get install systemd)");
        return;
    };
    assert!(version.status.success(), "systemd-analyze --version failed");
    let tmp = tempfile::tempdir().expect("tempdir");
    let man1 = tmp.path().join("man").join("man1");
    // The recipe's step: `liaison man --out …/man1`, here into a private MANPATH.
    let out = Command::new(BIN)
        .args(["man", "--out"])
        .arg(&man1)
        .output()
        .expect("run liaison man");
    assert!(out.status.success(), "liaison man failed: {out:?}");
    assert!(man1.join("liaison.1").exists(), "no liaison.1 written");

    // The binary is not installed at /usr/local/bin here: only ExecStart's path
    // is changed, to the binary under test; every other line is checked as shipped.
    let unit = read("packaging/liaison.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/liaison run"));
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/liaison run",
        &format!("ExecStart={BIN} run"),
    );
    let unit_path = tmp.path().join("liaison.service");
    std::fs::write(&unit_path, unit).expect("write unit");

    let verify = |manpath: &Path| {
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit_path)
            .env("MANPATH", manpath)
            .output()
            .expect("run systemd-analyze verify")
    };
    let out = verify(&tmp.path().join("man"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("liaison.service"))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify refused the unit ({}):\n{stderr}",
        out.status
    );

    // And the check has teeth: without the man pages it fails on Documentation=.
    let out = verify(&tmp.path().join("no-man-here"));
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("man liaison(1)"),
        "verify passed without the man page: {out:?}"
    );
}
