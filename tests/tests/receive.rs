//! The hardened receive path, with real node processes and a rogue partner:
//! oversized batches, far-future records, references that arrive before their
//! target, and sightings of RED records sent back to their origin.

use crate::common;

use std::sync::Arc;

use common::rogue::{indicator, signed, signed_body, Script};
use common::{eventually, three_agencies, TestNode, WAIT};
use liaison::record::{Body, Envelope, Sighting, Tlp};
use tokio::sync::watch;

const ROGUE: &str = "Agency Rogue (example)";

fn partner_row(node: &TestNode, name: &str) -> serde_json::Value {
    let list = node.cli_json(&["partner", "list"]);
    list["partners"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no partner {name} in {list}"))
}

/// A running victim with the rogue (serving `script`) enrolled up to RED.
async fn victim_with_rogue(
    script: impl FnOnce(&ed25519_dalek::SigningKey) -> Script,
) -> (TestNode, TestNode) {
    let mut victim = TestNode::init("Agency Victim (example)");
    let rogue = TestNode::init(ROGUE);
    victim.start();
    let bundle = common::rogue::start_with(&rogue.node_dir(), &victim.node_dir(), |key, _| {
        Some(script(key))
    })
    .await;
    let bundle_path = victim.tmp.path().join("rogue.pem");
    std::fs::write(&bundle_path, bundle).unwrap();
    victim.cli_ok(&[
        "partner",
        "add",
        bundle_path.to_str().unwrap(),
        "--max-tlp",
        "red",
        "--yes",
    ]);
    (victim, rogue)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_batch_is_refused_whole_and_the_analyst_still_publishes() {
    let (victim, _rogue) = victim_with_rogue(|key| Script {
        batches: vec![(1..=2_000u64)
            .map(|i| {
                let value = format!("+4477009{:05}", i % 1000);
                signed(key, i, indicator(&value, Tlp::Green, vec![]))
            })
            .collect()],
        gate: None,
        head: None,
        ..Default::default()
    })
    .await;
    let refused = eventually(WAIT, || {
        let row = partner_row(&victim, ROGUE);
        row["lastRejection"]
            .as_str()
            .is_some_and(|r| r.contains("at most 1024 per batch"))
    });
    assert!(refused, "never refused; log:\n{}", victim.log());
    // The analyst is served while the rogue keeps reconnecting with its batch.
    for i in 0..5 {
        let value = format!("+44 7700 900{:03}", 600 + i);
        let id = victim.publish("phone", &value, "clear", &[]);
        assert_eq!(id.len(), 64, "publish {i} failed");
    }
    let row = partner_row(&victim, ROGUE);
    assert_eq!(
        common::int(&row["cursor"]),
        0,
        "the cursor moved past a refused batch: {row}"
    );
    assert_eq!(common::int(&row["recordsReceived"]), 0, "{row}");
    assert!(
        common::int(&row["recordsRejected"]) >= 2_000,
        "the refused batch is counted: {row}"
    );
    assert!(
        row["connection"].as_str().unwrap().contains("at most 1024"),
        "{row}"
    );
    assert!(victim.search_ids("+447700900001").is_empty());
    assert_eq!(
        common::int(&victim.cli_json(&["identity", "show"])["records"]),
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_future_record_is_rejected_with_the_reason_shown() {
    let (victim, _rogue) = victim_with_rogue(|key| {
        let now = liaison::now_ms();
        let future = Body::Indicator(indicator("+447700900701", Tlp::Green, vec![]));
        let fine = Body::Indicator(indicator("+447700900702", Tlp::Green, vec![]));
        // One hour ahead is far beyond the default 300 s skew; 10 s is fine.
        Script {
            batches: vec![vec![
                signed_body(key, 1, future, now + 3_600_000),
                signed_body(key, 2, fine, now + 10_000),
            ]],
            gate: None,
            head: None,
            ..Default::default()
        }
    })
    .await;
    let settled = eventually(WAIT, || {
        common::int(&partner_row(&victim, ROGUE)["cursor"]) == 1
    });
    assert!(settled, "batch never processed; log:\n{}", victim.log());
    let row = partner_row(&victim, ROGUE);
    assert_eq!(common::int(&row["recordsReceived"]), 1, "{row}");
    assert_eq!(common::int(&row["recordsRejected"]), 1, "{row}");
    let reason = row["lastRejection"].as_str().unwrap();
    assert!(
        reason.contains("created:") && reason.contains("ahead of this node's clock"),
        "{reason}"
    );
    assert!(victim.search_ids("+447700900701").is_empty());
    assert_eq!(victim.search_ids("+447700900702").len(), 1);
    let text = String::from_utf8(victim.cli(&["partner", "list"]).stdout).unwrap();
    assert!(text.contains("ahead of this node's clock"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sighting_before_its_target_waits_pending_then_is_applied() {
    let gate = Arc::new(watch::channel(false).0);
    let gate2 = gate.clone();
    let (mut victim, _rogue) = victim_with_rogue(move |key| {
        let target = signed(key, 1, indicator("+447700900801", Tlp::Green, vec![]));
        let target_id = Envelope::from_wire(target.clone()).unwrap().id();
        let now = liaison::now_ms();
        let sighting = Body::Sighting(Sighting {
            record_id: target_id,
            note: "seen again (fictional)".into(),
            kind: Default::default(),
        });
        Script {
            batches: vec![vec![signed_body(key, 2, sighting, now)], vec![target]],
            gate: Some((1, gate2)),
            head: None,
            ..Default::default()
        }
    })
    .await;
    let waiting = eventually(WAIT, || {
        let row = partner_row(&victim, ROGUE);
        common::int(&row["cursor"]) == 1 && common::int(&row["recordsPending"]) == 1
    });
    assert!(
        waiting,
        "{}\nlog:\n{}",
        partner_row(&victim, ROGUE),
        victim.log()
    );
    let text = String::from_utf8(victim.cli(&["partner", "list"]).stdout).unwrap();
    assert!(text.contains("pending 1"), "{text}");
    // The pending set is durable: it survives a restart of the victim.
    victim.stop();
    victim.start();
    assert!(eventually(WAIT, || common::int(
        &partner_row(&victim, ROGUE)["recordsPending"]
    ) == 1));
    gate.send_replace(true);
    let applied = eventually(WAIT, || {
        let row = partner_row(&victim, ROGUE);
        common::int(&row["cursor"]) == 2
            && common::int(&row["recordsPending"]) == 0
            && common::int(&row["recordsReceived"]) == 2
    });
    assert!(
        applied,
        "{}\nlog:\n{}",
        partner_row(&victim, ROGUE),
        victim.log()
    );
    assert_eq!(
        common::int(&partner_row(&victim, ROGUE)["recordsRejected"]),
        0
    );
    let found = victim.cli_json(&["search", "+447700900801"]);
    assert_eq!(found["records"][0]["sightings"], 1, "{found}");
}

#[test]
fn a_red_recipient_sights_the_record_back_to_its_origin_only() {
    let (a, b, c) = three_agencies();
    let b_id = b.node_id();
    let red = a.publish("phone", "+44 7700 900901", "red", &["--recipient", &b_id]);
    assert!(eventually(WAIT, || common::holds(
        &b,
        "+447700900901",
        &red
    )));
    let said = b.cli_ok(&["sight", &red, "--note", "seen in a statement (fictional)"]);
    let sighting = said
        .trim()
        .trim_end_matches('.')
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(sighting.len(), 64, "{said}");
    let sighted_at_a = || {
        let found = a.cli_json(&["search", "+447700900901"]);
        found["records"][0]["sightings"] == 1
    };
    assert!(
        eventually(WAIT, sighted_at_a),
        "A never got B's sighting: {}\nA log:\n{}",
        a.cli_json(&["partner", "list"]),
        a.log()
    );
    let from_b = &a.cli_json(&["partner", "list"])["partners"][0];
    assert_eq!(common::int(&from_b["recordsRejected"]), 0, "{from_b}");
    // C, not a recipient, gets neither the record nor the sighting. A sentinel
    // from B proves C is up to date with B.
    let sentinel = b.publish("phone", "+44 7700 900902", "green", &[]);
    assert!(eventually(WAIT, || common::holds(
        &c,
        "+447700900902",
        &sentinel
    )));
    assert!(c.search_ids("+447700900901").is_empty());
    let out = c.cli(&["get", &sighting]);
    assert!(
        !out.status.success(),
        "C holds the sighting of a RED record"
    );
}
