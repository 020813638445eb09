//! What an operator reads (issue 23): audit entries that carry the details the
//! operations guide promises (`backup.create`, `node.stop`), a second revocation
//! of a client certificate that says it changed nothing, a revoked partner's
//! records still named, and sentences that read as written.

use crate::common::*;

/// `audit list --action ACTION --json` entries.
fn entries(node: &TestNode, action: &str) -> Vec<serde_json::Value> {
    node.cli_json(&["audit", "list", "--action", action])
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("audit list: not an array"))
}

/// The entries whose action is exactly `action`.
fn exactly(node: &TestNode, action: &str) -> Vec<serde_json::Value> {
    entries(node, action)
        .into_iter()
        .filter(|e| e["action"] == action)
        .collect()
}

#[test]
fn backup_and_shutdown_entries_carry_their_details() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    a.publish("phone", "+44 7700 900301", "green", &[]);
    let file = a.tmp.path().join("a.lbk");
    let printed = a.cli_ok(&["backup", "--out", file.to_str().unwrap()]);
    let address = a.address();

    // The running node logged who took the snapshot; the CLI logged the file.
    let snapshot = exactly(&a, "backup.snapshot");
    assert_eq!(snapshot.len(), 1, "{snapshot:?}");
    assert_eq!(int(&snapshot[0]["detail"]["records"]), 1, "{snapshot:?}");
    let created = exactly(&a, "backup.create");
    assert_eq!(created.len(), 1, "{created:?}");
    let detail = &created[0]["detail"];
    let bytes = std::fs::metadata(&file).unwrap().len();
    assert_eq!(int(&detail["bytes"]), bytes, "{detail}");
    assert_eq!(detail["includes_keys"], false, "{detail}");
    let digest = detail["sha256"].as_str().expect("sha256");
    assert_eq!(digest.len(), 64, "{detail}");
    assert!(
        printed.contains(&format!("SHA-256 of the file: {digest}")),
        "{printed}"
    );
    assert!(
        detail["file"].as_str().unwrap().ends_with("a.lbk"),
        "{detail}"
    );
    // A part of an action finds it (OPERATIONS §11).
    assert_eq!(entries(&a, "backup").len(), 2);

    a.stop();
    let stopped = exactly(&a, "node.stop");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["detail"]["address"], address.as_str());
    // The audit log still verifies whole with the CLI's entries in it.
    a.cli_ok(&["audit", "verify"]);
}

#[tokio::test]
async fn revoking_a_client_twice_says_it_was_already_revoked() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    let folder = a.tmp.path().join("client-analyst");
    let issued = a.cli_ok(&[
        "client",
        "issue",
        "--name",
        "Analyst Example",
        "--role",
        "analyst",
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(
        issued.starts_with("Issued an analyst certificate for \"Analyst Example\""),
        "{issued}"
    );
    let cert = folder.join("client.crt");
    let first = a.cli_ok(&["client", "revoke", "--cert", cert.to_str().unwrap()]);
    assert!(first.starts_with("Revoked client certificate"), "{first}");
    // A no-op is not a failure, but it must say so.
    let again = a.cli_ok(&["client", "revoke", "--cert", cert.to_str().unwrap()]);
    assert!(again.contains("was already revoked"), "{again}");
    assert!(!again.starts_with("Revoked"), "{again}");
    let json = a.cli_json(&["client", "revoke", "--cert", cert.to_str().unwrap()]);
    assert_eq!(json["alreadyRevoked"], true, "{json}");
    // Only the revocation that changed something is logged.
    assert_eq!(exactly(&a, "client.revoke").len(), 1);
}

#[test]
fn a_revoked_partners_records_keep_its_name() {
    let (mut a, b) = crate::common::two_agencies("green");
    let id = b.publish("phone", "+44 7700 900302", "green", &[]);
    assert!(
        eventually(WAIT, || holds(&a, "+44 7700 900302", &id)),
        "A never received B's record; log:\n{}",
        a.log()
    );
    let name = |node: &TestNode| node.cli_json(&["get", &id])["originName"].clone();
    assert_eq!(name(&a), "Agency B (example)");
    a.cli_ok(&["partner", "revoke", &b.node_id()]);
    assert_eq!(name(&a), "Agency B (example) (revoked)");
    // Also across a restart: the name is kept in the database.
    a.stop();
    a.start();
    assert_eq!(name(&a), "Agency B (example) (revoked)");
    // No one here holds a value nobody published: the sentence says so.
    let out = a.cli_ok(&["search", "+44 7700 900399"]);
    assert!(out.contains("no agency here holds or sighted it"), "{out}");
}
