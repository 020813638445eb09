//! The operator's walk (issue 23): `scripts/walk.sh` follows README.md and
//! docs/OPERATIONS.md as written on two loopback nodes (enrollment, publish,
//! federated search, an analyst certificate, backup and restore, live TLS
//! rotation, client and partner revocation, audit queries, doctor), with the
//! binary this suite tests. It fails naming the documented step that broke.

use std::path::Path;
use std::process::Command;

use crate::common::{python::python, BIN};

#[test]
fn the_documented_walk_on_two_nodes_works_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let out = Command::new("bash")
        .arg(root.join("scripts/walk.sh"))
        .arg(BIN)
        .env("LIAISON_PYTHON", python())
        .output()
        .expect("run scripts/walk.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("walk: every step passed"),
        "scripts/walk.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
