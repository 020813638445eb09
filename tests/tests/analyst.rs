//! The analyst's surface across real processes: federated search with
//! per-partner status, correlation, sightings, revocation and supersede carried
//! to the far side of a relay, and the refusals that protect them.

use crate::common;

use std::time::{Duration, Instant};

use common::{eventually, holds, three_agencies, TestNode, WAIT};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn revocation_and_supersede_reach_the_far_side_of_a_relay() {
    let (a, b, c) = three_agencies();
    let wrong = a.publish(
        "phone",
        "+44 7700 900201",
        "green",
        &["--label", "scam-centre"],
    );
    let first = a.publish(
        "domain",
        "jobs-bkk.example.org",
        "green",
        &["--label", "human-trafficking"],
    );
    assert!(eventually(WAIT, || holds(&c, "+447700900201", &wrong)
        && holds(&c, "jobs-bkk.example.org", &first)));

    // Only the origin may revoke: B's attempt is refused and nothing is stored.
    let refused = b.cli(&["revoke", &wrong, "--reason", "not ours"]);
    assert!(!refused.status.success());
    assert!(
        stderr_of(&refused).contains("only the origin"),
        "{}",
        stderr_of(&refused)
    );

    a.cli_ok(&["revoke", &wrong, "--reason", "number attributed in error"]);
    let second = a.publish(
        "domain",
        "jobs-bkk.example.org",
        "green",
        &["--label", "human-trafficking", "--supersedes", &first],
    );
    for node in [&a, &b, &c] {
        assert!(
            eventually(WAIT, || !holds(node, "+447700900201", &wrong)),
            "{} still shows the revoked record",
            node.name
        );
        assert!(
            eventually(WAIT, || node.search_ids("jobs-bkk.example.org")
                == vec![second.clone()]),
            "{} does not show exactly the new version: {:?}",
            node.name,
            node.search_ids("jobs-bkk.example.org")
        );
    }
    // The revoked record is kept as a tombstone: fetchable by id, absent from search.
    assert!(c.cli(&["get", &wrong]).status.success());
    // Revoking it again is refused.
    assert!(!a
        .cli(&["revoke", &wrong, "--reason", "again"])
        .status
        .success());
}

#[test]
fn federated_search_answers_per_partner_within_the_deadline() {
    let mut asker = TestNode::init("Agency Asker (example)");
    let mut holder = TestNode::init("Agency Holder (example)");
    let mut silent = TestNode::init("Agency Silent (example)");
    asker.start();
    holder.start();
    silent.start();
    for (x, y) in [(&asker, &holder), (&asker, &silent)] {
        x.enroll(y, "amber", false);
        y.enroll(x, "amber", false);
    }
    // Holder's records: AMBER (the asker may get it), AMBER+STRICT and RED for someone else (it may not).
    let amber = holder.publish(
        "wallet",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "amber",
        &["--label", "money-laundering"],
    );
    let strict = holder.publish(
        "wallet",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "amber+strict",
        &[],
    );
    let silent_id = silent.node_id();
    let red = holder.publish(
        "wallet",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "red",
        &["--recipient", &silent_id],
    );
    silent.stop();
    let started = Instant::now();
    let found = asker.cli_json(&[
        "search",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "--federated",
        "--deadline-ms",
        "1500",
        "--justification",
        "victim statement 14 (fictional)",
        "--case",
        "CASE-EXAMPLE-7",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the dead partner delayed the answer"
    );
    let ids: Vec<&str> = found["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["recordId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&amber.as_str()), "{found}");
    assert!(
        !ids.contains(&strict.as_str()),
        "AMBER+STRICT above the asker's ceiling was disclosed"
    );
    assert!(
        !ids.contains(&red.as_str()),
        "a RED record addressed to another agency was disclosed"
    );
    let statuses = found["partners"].as_array().unwrap();
    let status_of = |name: &str| {
        statuses
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        status_of("Agency Holder (example)").as_deref(),
        Some("answered"),
        "{found}"
    );
    let silent_status = status_of("Agency Silent (example)").unwrap();
    assert!(
        silent_status == "unreachable" || silent_status == "timed out",
        "{silent_status}"
    );
    // The answering agency logged who asked, why, and what it gave.
    let log = std::fs::read_to_string(holder.dir().join("audit.log")).unwrap();
    assert!(
        log.contains("search.answer") && log.contains("CASE-EXAMPLE-7") && log.contains(&amber)
    );
    assert!(holder.cli_ok(&["audit", "verify"]).contains("intact"));
    // The asking agency recorded that the query left it, and why.
    let own = std::fs::read_to_string(asker.dir().join("audit.log")).unwrap();
    assert!(own.contains("search.federated") && own.contains("CASE-EXAMPLE-7"));
}

#[test]
fn correlation_and_sightings_show_how_many_agencies_know_a_value() {
    let (a, b, c) = three_agencies();
    let from_a = a.publish(
        "phone",
        "+44 7700 900301",
        "green",
        &["--label", "romance-scam"],
    );
    let from_b = b.publish("phone", "07700 900301", "green", &["--label", "sextortion"]);
    assert!(eventually(WAIT, || holds(&c, "+447700900301", &from_a)
        && holds(&c, "+447700900301", &from_b)));
    c.cli_ok(&[
        "sight",
        &from_a,
        "--note",
        "seen in a new victim statement (fictional)",
    ]);
    let check = |node: &TestNode| {
        let found = node.cli_json(&["search", "+447700900301"]);
        let correlation = &found["correlations"][0];
        let sighted = found["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["recordId"] == from_a.as_str() && r["sightings"] == 1);
        correlation["agencies"] == 3 && sighted
    };
    assert!(
        eventually(WAIT, || check(&c)),
        "C: {}",
        c.cli_json(&["search", "+447700900301"])
    );
    // The sighting travels where the sighted record may go: back to B and on to A.
    assert!(
        eventually(WAIT, || check(&a)),
        "A: {}",
        a.cli_json(&["search", "+447700900301"])
    );
    let labels = a.cli_json(&["search", "+447700900301"])["correlations"][0].to_string();
    assert!(labels.contains("romance-scam") && labels.contains("sextortion"));
}

#[test]
fn analyst_bad_input_is_refused_clearly() {
    let mut node = TestNode::init("Agency Input (example)");
    node.start();
    let out = node.cli(&["search", "+44 12", "--kind", "phone"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("invalid phone value"),
        "{}",
        stderr_of(&out)
    );
    let unknown = "00".repeat(32);
    let out = node.cli(&["sight", &unknown]);
    assert!(stderr_of(&out).contains("not found"), "{}", stderr_of(&out));
    let out = node.cli(&["revoke", "not-an-id", "--reason", "x"]);
    assert!(stderr_of(&out).contains("record_id"), "{}", stderr_of(&out));
    let id = node.publish("ip", "192.0.2.10", "clear", &[]);
    let out = node.cli(&["revoke", &id, "--reason", " "]);
    assert!(stderr_of(&out).contains("reason"), "{}", stderr_of(&out));
    assert_eq!(
        common::int(&node.cli_json(&["identity", "show"])["records"]),
        1
    );
}
