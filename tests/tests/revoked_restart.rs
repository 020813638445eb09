//! "Revoked by the partner" survives a restart (issue 23): once both nodes have
//! restarted, A no longer answers B with the TLS alert `certificate_revoked` (it
//! keeps no trace of B), so B tells "revoked by the partner" from "not yet
//! enrolled by the partner" only by whether A ever accepted it: a fact kept in
//! B's store, not only in memory. A publishes nothing here, so B's cursor in A's
//! log stays 0 and only the stored fact can tell the two states apart.

use crate::common::{eventually, TestNode, WAIT};

/// `node`'s `partner list` connection text for the partner named `name`.
fn connection(node: &TestNode, name: &str) -> String {
    let list = node.cli_json(&["partner", "list"]);
    list["partners"]
        .as_array()
        .and_then(|partners| partners.iter().find(|p| p["name"] == name))
        .and_then(|p| p["connection"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Waits until `check` holds for `node`'s state of `name`; returns the last state seen.
fn wait_for(node: &TestNode, name: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
    let mut seen = String::new();
    let reached = eventually(WAIT, || {
        seen = connection(node, name);
        check(&seen)
    });
    assert!(
        reached,
        "{}'s state for {name} never became {what}; last: {seen:?}; log:\n{}",
        node.name,
        node.log()
    );
    seen
}

/// Pins the node's listening port in its config, so a restart keeps the
/// endpoint its partners have in its bundle.
fn keep_port(node: &TestNode) {
    let config = node.node_dir().config();
    let toml = std::fs::read_to_string(&config).expect("config.toml");
    let pinned = toml.replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{}\"", node.address()),
    );
    assert_ne!(toml, pinned, "{toml}");
    std::fs::write(&config, pinned).expect("write config.toml");
}

#[test]
fn revoked_by_the_partner_is_still_said_after_both_restart() {
    const A: &str = "Agency Revoker (example)";
    let mut a = TestNode::init(A);
    let mut b = TestNode::init("Agency Restarted (example)");
    a.start();
    keep_port(&a);
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    wait_for(&b, A, "connected", |s| s == "connected");

    a.cli_ok(&["partner", "revoke", &b.node_id()]);
    wait_for(&b, A, "revoked", |s| s.contains("revoked by the partner"));

    b.stop();
    a.stop();
    a.start();
    b.start();
    // After the restart the first attempt must fail before there is a state to read.
    let after = wait_for(&b, A, "disconnected", |s| s.starts_with("disconnected:"));
    assert!(
        after.contains("revoked by the partner"),
        "after a restart B says {after:?} instead of revoked by the partner; log:\n{}",
        b.log()
    );

    let found = b.cli_json(&[
        "search",
        "+44 7700 900124",
        "--federated",
        "--justification",
        "victim statement 23 (fictional)",
    ]);
    let row = found["partners"]
        .as_array()
        .and_then(|rows| rows.iter().find(|s| s["name"] == A).cloned())
        .unwrap_or_else(|| panic!("no status for {A}: {found}"));
    assert_eq!(row["status"], "refused", "{found}");
    let detail = row["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("revoked by the partner"), "{found}");
}
