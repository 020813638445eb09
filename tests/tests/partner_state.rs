//! A partner's connection state says why (issue 23 item 1): before the partner
//! has enrolled us, after it revoked us, in `partner list` and in a federated
//! search, with the words OPERATIONS.md §4 and §7 promise, not a raw transport
//! text ("Unknown: transport error", "operation was canceled").

use crate::common::{eventually, TestNode, WAIT};

/// B's `partner list` connection text for the partner named `name`.
fn connection(node: &TestNode, name: &str) -> String {
    let list = node.cli_json(&["partner", "list"]);
    list["partners"]
        .as_array()
        .and_then(|partners| partners.iter().find(|p| p["name"] == name))
        .and_then(|p| p["connection"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Waits until `node`'s state for `name` contains `wanted`; fails with the last one seen.
fn wait_for_state(node: &TestNode, name: &str, wanted: &str) {
    let mut seen = String::new();
    let reached = eventually(WAIT, || {
        seen = connection(node, name);
        seen.contains(wanted)
    });
    assert!(
        reached,
        "{}'s state for {name} never said {wanted:?}; last: {seen:?}; log:\n{}",
        node.name,
        node.log()
    );
}

#[test]
fn a_partner_that_has_not_enrolled_us_then_revokes_us_is_named_so() {
    const A: &str = "Agency Refuser (example)";
    let mut a = TestNode::init(A);
    let mut b = TestNode::init("Agency Refused (example)");
    a.start();
    b.start();

    // B enrolled A; A has not enrolled B yet.
    b.enroll(&a, "green", false);
    wait_for_state(&b, A, "not yet enrolled by the partner");

    a.enroll(&b, "green", false);
    // "disconnected: …" contains "connected" too: wait for the exact state.
    let connected = eventually(WAIT, || connection(&b, A) == "connected");
    assert!(connected, "never connected; last: {:?}", connection(&b, A));

    a.cli_ok(&["partner", "revoke", &b.node_id()]);
    wait_for_state(&b, A, "revoked by the partner");

    let found = b.cli_json(&[
        "search",
        "+44 7700 900123",
        "--federated",
        "--justification",
        "victim statement 23 (fictional)",
    ]);
    let statuses = found["partners"].as_array().expect("partner statuses");
    let row = statuses
        .iter()
        .find(|s| s["name"] == A)
        .unwrap_or_else(|| panic!("no status for {A}: {found}"));
    assert_eq!(row["status"], "refused", "{found}");
    let detail = row["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("revoked by the partner"), "{found}");

    // The log warns once for the revocation, not once per raw text.
    let log = b.log();
    let warnings = log
        .lines()
        .filter(|l| l.contains("cannot sync from partner;") && l.contains("revoked by the partner"))
        .count();
    assert!(warnings <= 1, "warned {warnings} times:\n{log}");
}
