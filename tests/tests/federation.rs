//! Federations of real node processes: enrollment with the CLI, propagation,
//! relay, every TLP rule with its negative case, hostile input, resume, revocation.

use crate::common;

use std::time::Duration;

use common::proxy::{FaultProxy, Mode};
use common::reliability::{advertise, phone_request, publish_many, received_from, stored_ids};
use common::{eventually, holds, three_agencies, TestNode, WAIT};
use liaison::proto::Tlp;

fn partner<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list["partners"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no partner {name} in {list}"))
}

#[test]
fn markings_decide_who_receives_what_across_three_agencies() {
    let (a, b, c) = three_agencies();
    let b_id = b.node_id();
    let c_id = c.node_id();
    let clear = a.publish("phone", "+44 7700 900001", "clear", &[]);
    let green = a.publish(
        "phone",
        "+44 7700 900002",
        "green",
        &["--label", "scam-centre"],
    );
    let amber = a.publish("phone", "+44 7700 900003", "amber", &[]);
    let strict = a.publish("phone", "+44 7700 900004", "amber+strict", &[]);
    let red_b = a.publish("phone", "+44 7700 900005", "red", &["--recipient", &b_id]);
    let red_c = a.publish("phone", "+44 7700 900006", "red", &["--recipient", &c_id]);
    let green_h2 = a.publish("phone", "+44 7700 900007", "green", &["--handling", "H2"]);
    let b_amber = b.publish("phone", "+44 7700 900008", "amber", &[]);
    let b_green = b.publish("phone", "+44 7700 900009", "green", &[]);
    // A sentinel published last: once it has arrived everywhere, everything else has been offered.
    let sentinel = a.publish("phone", "+44 7700 900010", "clear", &[]);
    assert!(
        eventually(WAIT, || holds(&c, "+447700900010", &sentinel)),
        "A→B→C relay of CLEAR; C log:\n{}",
        c.log()
    );
    assert!(eventually(WAIT, || holds(&c, "+447700900009", &b_green)));

    // Direct from the origin, up to the ceiling: B gets every marking A allows it.
    for (value, id) in [
        ("+447700900001", &clear),
        ("+447700900002", &green),
        ("+447700900003", &amber),
        ("+447700900004", &strict),
        ("+447700900005", &red_b),
        ("+447700900007", &green_h2),
    ] {
        assert!(holds(&b, value, id), "B must hold {value}");
    }
    // RED only to its named recipient: B is not named on red_c.
    assert!(
        !holds(&b, "+447700900006", &red_c),
        "RED reached a partner not named"
    );
    // Relayed to C: CLEAR and GREEN only, never AMBER, AMBER+STRICT, RED or H2.
    assert!(holds(&c, "+447700900002", &green), "GREEN relayed A→B→C");
    for (value, id, why) in [
        ("+447700900003", &amber, "AMBER relayed"),
        ("+447700900004", &strict, "AMBER+STRICT relayed"),
        ("+447700900005", &red_b, "RED relayed"),
        (
            "+447700900006",
            &red_c,
            "RED to C from a node that is not C's partner",
        ),
        ("+447700900007", &green_h2, "H2 relayed"),
        (
            "+447700900008",
            &b_amber,
            "B's AMBER above C's GREEN ceiling",
        ),
    ] {
        assert!(!holds(&c, value, id), "{why}");
    }
    // The relayed record still proves its origin: A, known to C via B.
    let found = c.cli_json(&["search", "+447700900002"]);
    assert_eq!(found["records"][0]["origin"], a.node_id());
    let partners = c.cli_json(&["partner", "list"]);
    assert_eq!(partners["knownOrigins"][0]["name"], "Agency A (example)");
    assert_eq!(
        common::int(&partner(&partners, "Agency B (example)")["recordsRejected"]),
        0
    );

    // C's admin blocks A (known only via B): A's later records are refused at C
    // and counted against the relay that carried them; B still gets them.
    let a_id = a.node_id();
    c.cli_ok(&["partner", "block", &a_id]);
    let after_block = a.publish("phone", "+44 7700 900011", "green", &[]);
    assert!(eventually(WAIT, || holds(
        &b,
        "+447700900011",
        &after_block
    )));
    let b_fresh = b.publish("phone", "+44 7700 900012", "green", &[]);
    assert!(
        eventually(WAIT, || holds(&c, "+447700900012", &b_fresh)),
        "B's own records still reach C"
    );
    assert!(
        !holds(&c, "+447700900011", &after_block),
        "a blocked origin's record was stored"
    );
    let partners = c.cli_json(&["partner", "list"]);
    assert_eq!(partners["knownOrigins"][0]["blocked"], true);
    let last = partner(&partners, "Agency B (example)")["lastRejection"].to_string();
    assert!(last.contains("blocked"), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_malformed_records_from_a_peer_are_rejected_and_counted() {
    let mut victim = TestNode::init("Agency Victim (example)");
    let rogue = TestNode::init("Agency Rogue (example)");
    victim.start();
    let bundle = common::rogue::start(&rogue.node_dir(), &victim.node_dir()).await;
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
    let settled = eventually(WAIT, || {
        let list = victim.cli_json(&["partner", "list"]);
        common::int(&partner(&list, "Agency Rogue (example)")["cursor"]) == 7
    });
    assert!(
        settled,
        "victim never processed the batch; log:\n{}",
        victim.log()
    );
    let list = victim.cli_json(&["partner", "list"]);
    let rogue_row = partner(&list, "Agency Rogue (example)");
    assert_eq!(common::int(&rogue_row["recordsReceived"]), 1, "{rogue_row}");
    assert_eq!(common::int(&rogue_row["recordsRejected"]), 6, "{rogue_row}");
    assert!(!rogue_row["lastRejection"].as_str().unwrap().is_empty());
    assert_eq!(
        victim.search_ids("+447700900501").len(),
        1,
        "the one good record is kept"
    );
    for value in [
        "+447700900502",
        "+447700900503",
        "+447700900505",
        "+447700900506",
    ] {
        assert!(
            victim.search_ids(value).is_empty(),
            "{value} must not be stored"
        );
    }
    assert!(victim.log().contains("rejected records from partner"));
    // Federated answers are verified too: the forged record never shows, the
    // good one does, and nothing unrelated to the question is let through.
    let answer = victim.cli_json(&[
        "search",
        "+447700900502",
        "--federated",
        "--justification",
        "forgery test (fictional)",
    ]);
    assert_eq!(answer["records"].as_array().unwrap().len(), 0, "{answer}");
    assert_eq!(answer["partners"][0]["status"], "answered");
}

#[test]
fn a_puller_killed_mid_sync_resumes_without_gaps_or_duplicates() {
    // The source is reached through a proxy that slows every 16 KiB chunk, so
    // that the sync takes seconds and the kill lands in its middle.
    let proxy = FaultProxy::start();
    let mut a = TestNode::init("Agency Source (example)");
    advertise(&a, &proxy.address());
    let mut b = TestNode::init("Agency Sink (example)");
    a.start();
    proxy.set_target(&a.address());
    b.start();
    const N: u64 = 3000;
    publish_many(&a, N, 4, |i| phone_request(i, Tlp::Green));
    proxy.set_mode(Mode::Delay(Duration::from_millis(100)));
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let received = |b: &TestNode| received_from(b, "Agency Source (example)");
    assert!(
        eventually(WAIT, || received(&b) > 0),
        "sync never started; log:\n{}",
        b.log()
    );
    b.kill();
    // Killed mid-sync: some records stored, not all (read from the stopped
    // node's database, which also checks none is logged twice).
    let stored = stored_ids(&b).len() as u64;
    assert!(
        stored > 0 && stored < N,
        "{stored} of {N} records stored at the kill: not a kill mid-sync"
    );
    proxy.set_mode(Mode::Pass);
    b.start();
    assert!(
        eventually(Duration::from_secs(60), || received(&b) == N),
        "resume stalled at {} (killed at {stored})",
        received(&b)
    );
    let identity = b.cli_json(&["identity", "show"]);
    assert_eq!(
        common::int(&identity["records"]),
        N,
        "every record exactly once"
    );
    b.stop();
    assert_eq!(stored_ids(&b).len() as u64, N, "every record logged once");
}

#[test]
fn revoking_a_partner_cuts_its_open_stream_and_new_records_stop() {
    let mut a = TestNode::init("Agency Revoker (example)");
    let mut b = TestNode::init("Agency Revoked (example)");
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let before = a.publish("domain", "before.example.org", "green", &[]);
    assert!(eventually(WAIT, || holds(
        &b,
        "before.example.org",
        &before
    )));
    let b_id = b.node_id();
    a.cli_ok(&["partner", "revoke", &b_id]);
    // B's open stream from A is cut (not left to run out): the state says so.
    // The bound is loose; a stream that is not cut stays open far longer.
    let cut = eventually(WAIT, || {
        let list = b.cli_json(&["partner", "list"]);
        partner(&list, "Agency Revoker (example)")["connection"] != "connected"
    });
    assert!(cut, "stream still open after revocation");
    // The proof that B asked again after `after` existed: A refused one of its
    // reconnects at the handshake, counted from after the publish returned.
    let refusals = |a: &TestNode| a.log().matches("TLS handshake refused").count();
    let after = a.publish("domain", "after.example.org", "green", &[]);
    let before_publish = refusals(&a);
    assert!(
        eventually(Duration::from_secs(60), || refusals(&a) > before_publish),
        "B never tried to reconnect after the revocation; A log:\n{}",
        a.log()
    );
    assert!(
        !holds(&b, "after.example.org", &after),
        "revoked partner still receives"
    );
    let list = a.cli_json(&["partner", "list"]);
    assert!(list["partners"].as_array().unwrap().is_empty());
    let audit = a.cli_ok(&["audit", "verify"]);
    assert!(audit.contains("intact"));
}
