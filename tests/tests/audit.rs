//! Accountability across real processes: every disclosure and consultation path
//! leaves an audit entry, the per-partner report matches what the partner holds,
//! receipts come back for every batch, and tampering with the file on disk is
//! named by `audit verify`.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{eventually, holds, three_agencies, TestNode, WAIT};
use liaison::config::NodeDirSetup;
use serde_json::Value;

fn entries(node: &TestNode, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "list"];
    all.extend_from_slice(args);
    node.cli_json(&all).as_array().expect("entries").clone()
}

fn has(node: &TestNode, action: &str, actor_part: &str) -> bool {
    entries(node, &["--action", action])
        .iter()
        .any(|e| e["actor"].as_str().unwrap_or_default().contains(actor_part))
}

/// TLP counts of the records `holder` keeps from `origin`, e.g. {"green": 2}.
fn held_by_tlp(holder: &TestNode, origin: &str) -> BTreeMap<String, u64> {
    let list = holder.cli_json(&["list", "--origin", origin, "--limit", "1000"]);
    let mut counts = BTreeMap::new();
    for record in list["records"].as_array().expect("records") {
        // Enum names in the proto3 JSON mapping: TLP_AMBER_STRICT -> amber+strict.
        let tlp = record["indicator"]["tlp"].as_str().unwrap_or_default();
        let tlp = tlp
            .trim_start_matches("TLP_")
            .to_lowercase()
            .replace('_', "+");
        *counts.entry(tlp).or_default() += 1;
    }
    counts
}

fn counts(value: &Value) -> BTreeMap<String, u64> {
    value
        .as_object()
        .expect("counts")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_disclosure_and_consultation_is_logged_and_reported() {
    let (mut a, b, c) = three_agencies();
    let (a_id, b_id, c_id) = (a.node_id(), b.node_id(), c.node_id());
    let green = a.publish(
        "phone",
        "+447700900101",
        "green",
        &["--label", "scam-centre"],
    );
    let amber = a.publish("domain", "amber.example.org", "amber", &[]);
    let red = a.publish(
        "domain",
        "red.example.org",
        "red",
        &["--recipient", &b_id, "--label", "romance-scam"],
    );
    assert!(eventually(WAIT, || holds(&b, "+447700900101", &green)
        && holds(&b, "amber.example.org", &amber)
        && holds(&b, "red.example.org", &red)));
    assert!(eventually(WAIT, || holds(&c, "+447700900101", &green)));

    // Consultations by A's own users.
    a.cli_ok(&["search", "+447700900101"]);
    a.cli_ok(&["get", &green]);
    a.cli_ok(&["list"]);
    let mut analyst = a.admin_client().await.analyst();
    analyst
        .correlate(liaison::proto::SearchRequest {
            value: "amber.example.org".into(),
            ..Default::default()
        })
        .await
        .expect("correlate");
    // A federated search from C, answered by B.
    c.cli_ok(&[
        "search",
        "+447700900101",
        "--federated",
        "--justification",
        "fraud ring, example",
        "--case",
        "CASE-AUDIT-1",
    ]);
    // Client certificates: issued offline while the node runs, revoked through it.
    let laptop = a.issue("alice", "analyst");
    a.cli_ok(&[
        "client",
        "revoke",
        "--cert",
        laptop.join("client.crt").to_str().unwrap(),
    ]);

    let admin = "admin";
    assert!(eventually(WAIT, || has(&a, "search.local", admin)
        && has(&a, "get", admin)
        && has(&a, "list", admin)
        && has(&a, "correlate", admin)));
    assert!(has(&a, "client.issue", "cli"));
    assert!(has(&a, "client.revoke", admin));
    assert!(has(&a, "partner.add", admin));
    assert!(has(&c, "search.federated", admin));
    let answers = entries(&b, &["--action", "search.answer", "--partner", &c_id[..10]]);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["detail"]["case_reference"], "CASE-AUDIT-1");
    assert!(answers[0]["detail"]["records"].to_string().contains(&green));
    // Disclosures by sync, at the origin and at the relay.
    let to_b = entries(&a, &["--action", "disclose", "--partner", &b_id[..12]]);
    let ids: String = to_b
        .iter()
        .map(|e| e["detail"]["records"].to_string())
        .collect();
    for id in [&green, &amber, &red] {
        assert!(
            ids.contains(id.as_str()),
            "{id} not logged as disclosed to B"
        );
    }
    assert!(!entries(&b, &["--action", "disclose", "--partner", &c_id]).is_empty());

    // The report at A for B matches what B holds from A, and every batch is receipted.
    let report_ok = eventually(WAIT, || {
        let report = a.cli_json(&["audit", "report", "--partner", &b_id[..8]]);
        report["receipts"]["batches_unreceipted"] == 0
            && report["receipts"]["batches_receipted"].as_u64() >= Some(1)
    });
    let report = a.cli_json(&["audit", "report", "--partner", &b_id[..8]]);
    assert!(report_ok, "{report:#}");
    assert_eq!(
        counts(&report["sync"]["counts"]["tlp"]),
        held_by_tlp(&b, &a_id),
        "{report:#}"
    );
    assert_eq!(report["sync"]["counts"]["label"]["romance-scam"], 1);
    let receipts = entries(&a, &["--action", "sync.receipt", "--partner", &b_id]);
    assert!(!receipts.is_empty());
    for receipt in &receipts {
        for batch in receipt["detail"]["batches"].as_array().unwrap() {
            assert_eq!(batch["matches_disclosure"], true, "{receipt}");
        }
    }
    // B's report for C shows C's search with its justification.
    let report = b.cli_json(&["audit", "report", "--partner", &c_id[..8]]);
    assert_eq!(
        report["searches"][0]["justification"],
        "fraud ring, example"
    );

    // Export for a data-protection officer.
    let csv = a.cli_ok(&["audit", "export", "--format", "csv", "--action", "disclose"]);
    assert!(csv.starts_with("seq,time,actor,action,partner,detail,hash"));
    assert!(csv.contains(&b_id));
    let json: Value =
        serde_json::from_str(&a.cli_ok(&["audit", "export", "--format", "json"])).unwrap();
    assert!(json.as_array().unwrap().len() > 10);

    // Running: intact, the tail possibly unsealed; after a clean stop, all sealed.
    assert!(a.cli_ok(&["audit", "verify"]).contains("intact"));
    a.stop();
    let verified = a.cli_ok(&["audit", "verify"]);
    assert!(verified.contains("every entry is covered"), "{verified}");
}

/// Rewrites `path` with `lines` and returns what `audit verify` says (it must fail).
fn verify_fails(node: &TestNode, lines: &[String]) -> String {
    let path = node.dir().join("audit.log");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = node.cli(&["audit", "verify"]);
    assert!(!out.status.success(), "tampering not detected");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tampering_on_disk_is_named_and_a_forged_log_is_refused() {
    let mut a = TestNode::init("Agency Audited (example)");
    let mut b = TestNode::init("Agency Other (example)");
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    for i in 0..5 {
        a.issue(&format!("analyst{i}"), "analyst");
    }
    let b_id = b.node_id();
    a.stop();
    b.stop();
    let path = a.dir().join("audit.log");
    let original: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(original.len() >= 8, "{original:?}");
    let issued = original
        .iter()
        .position(|l| l.contains("analyst2"))
        .unwrap();

    let mut edited = original.clone();
    edited[issued] = edited[issued].replace("analyst2", "analyst9");
    let said = verify_fails(&a, &edited);
    assert!(
        said.contains(&format!("entry {}", issued + 1)) && said.contains("edited"),
        "{said}"
    );

    let mut deleted = original.clone();
    deleted.remove(issued);
    let said = verify_fails(&a, &deleted);
    assert!(said.contains("removed"), "{said}");

    let mut reordered = original.clone();
    reordered.swap(issued, issued + 1);
    let said = verify_fails(&a, &reordered);
    assert!(said.contains(&format!("entry {}", issued + 1)), "{said}");

    let said = verify_fails(&a, &original[..original.len() - 2]);
    assert!(said.contains("truncated"), "{said}");

    // The intact log verifies against A's key, not against B's: a log signed by
    // another key (a forged checkpoint) is refused.
    std::fs::write(&path, original.join("\n") + "\n").unwrap();
    assert!(a.cli_ok(&["audit", "verify"]).contains("intact"));
    let out = a.cli(&["audit", "verify", "--node-id", &b_id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("forged"));
    std::thread::sleep(Duration::from_millis(10));
}

/// Enrolls the rogue (serving `script`) at `victim`; returns nothing to keep:
/// the rogue server runs on the test's runtime.
async fn enroll_rogue(victim: &TestNode, rogue: &TestNode, script: common::rogue::Script) {
    let bundle =
        common::rogue::start_with(&rogue.node_dir(), &victim.node_dir(), |_, _| Some(script)).await;
    let path = victim.tmp.path().join("rogue.pem");
    std::fs::write(&path, bundle).unwrap();
    victim.cli_ok(&[
        "partner",
        "add",
        path.to_str().unwrap(),
        "--max-tlp",
        "green",
        "--yes",
    ]);
}

/// The rogue's history as shown to one victim: one record and its signed head.
fn history(key: &ed25519_dalek::SigningKey, value: &str) -> common::rogue::Script {
    use liaison::record::{Envelope, RecordId, Tlp};
    let record = common::rogue::signed(key, 1, common::rogue::indicator(value, Tlp::Green, vec![]));
    let id: RecordId = Envelope::from_wire(record.clone()).unwrap().id();
    let head = liaison::proto::LogHead {
        origin: key.verifying_key().to_bytes().to_vec(),
        size: 1,
        root: liaison::accountability::heads::chain(&[0; 32], &id).to_vec(),
        last_sequence: 1,
        signed_unix_ms: liaison::now_ms(),
    };
    common::rogue::Script {
        batches: vec![vec![record]],
        gate: None,
        head: Some(liaison::accountability::heads::sign(key, &head)),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_showing_two_histories_is_caught_by_head_gossip() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let rogue = TestNode::init("Agency Rogue (example)");
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let key = {
        let dir = rogue.node_dir();
        dir.load_identity(&dir.load_config().unwrap())
            .unwrap()
            .signing_key
    };
    let rogue_id = hex::encode(key.verifying_key().to_bytes());
    // The same origin, two different first records: one history each.
    enroll_rogue(&a, &rogue, history(&key, "+447700900801")).await;
    enroll_rogue(&b, &rogue, history(&key, "+447700900802")).await;

    let conflict_at = |node: &TestNode| {
        let heads = node.cli_json(&["audit", "heads"]);
        heads["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["origin"] == rogue_id.as_str() && c["size"] == 1)
    };
    let caught = eventually(WAIT, || conflict_at(&a) || conflict_at(&b));
    let heads = b.cli_json(&["audit", "heads"]);
    assert!(caught, "no conflict recorded: {heads:#}");
    // Each node also holds the honest heads of the other.
    assert!(heads["latest"][a.node_id()].is_object(), "{heads:#}");
    let logged = entries(&a, &["--action", "heads.conflict"]).len()
        + entries(&b, &["--action", "heads.conflict"]).len();
    assert!(logged >= 1);
    // Either node may be the one that saw both heads first; its text shows it.
    let witness = if conflict_at(&a) { &a } else { &b };
    assert!(witness.cli_ok(&["audit", "heads"]).contains("CONFLICT"));
}
