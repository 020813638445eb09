//! Analyst workflows across real processes (issue 15): typed sightings — a
//! false positive travels back to the origin and is counted apart, never as a
//! strengthening sighting.

mod common;

use common::{eventually, holds, three_agencies, TestNode, WAIT};

/// The local (stored) view of `id` in a search at `node`.
fn local_view(node: &TestNode, value: &str, id: &str) -> serde_json::Value {
    let found = node.cli_json(&["search", value]);
    found["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["record_id"] == id && r["source"] == "local")
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_false_positive_sighting_reaches_the_origin_and_changes_correlation() {
    let (a, b, _c) = three_agencies();
    let id = a.publish(
        "phone",
        "+44 7700 900411",
        "green",
        &["--label", "romance-scam"],
    );
    assert!(eventually(WAIT, || holds(&b, "+447700900411", &id)));
    let out = b.cli_json(&[
        "sight",
        &id,
        "--type",
        "false-positive",
        "--note",
        "the number belongs to a victim (fictional)",
    ]);
    assert_eq!(out["type"], "false-positive");

    // The origin is told: its own record now shows who marked it a false positive.
    let told = || {
        let view = local_view(&a, "+447700900411", &id);
        view["false_positives"] == 1 && view["sightings"] == 0
    };
    assert!(
        eventually(WAIT, told),
        "A: {}",
        a.cli_json(&["search", "+447700900411"])
    );
    let view = local_view(&a, "+447700900411", &id);
    assert_eq!(view["false_positive_by"][0], "Agency B (example)");
    let listed = a.cli_ok(&["list"]);
    assert!(
        listed.contains("marked false positive by Agency B (example)"),
        "{listed}"
    );

    // Correlation counts it apart from sightings.
    let found = a.cli_json(&["search", "+447700900411"]);
    let holdings = found["correlations"][0]["holdings"].as_array().unwrap();
    let by_b = holdings
        .iter()
        .find(|h| h["name"] == "Agency B (example)")
        .expect("B in the correlation");
    assert_eq!(by_b["false_positives"], 1);
    assert_eq!(by_b["sightings"], 0);

    // A plain sighting still counts as one, and an unknown type is refused by name.
    b.cli_ok(&["sight", &id, "--type", "seen"]);
    assert!(eventually(WAIT, || local_view(&a, "+447700900411", &id)
        ["sightings"]
        == 1));
    let bad = b.cli(&["sight", &id, "--type", "wrong"]);
    assert!(!bad.status.success());
}
