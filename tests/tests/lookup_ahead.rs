//! Private lookups ready at scale (issue 26): after a bulk import the answering
//! node rebuilds its lookup filters in the background, so a partner's first
//! lookup answers within the asker's normal deadline instead of waiting for F
//! to be evaluated on every imported value. Since registry crates are optimised
//! in the dev profile, building for ROWS values at the first query no longer
//! overruns that deadline here, so the guard is the event: the background
//! builder's log line with every imported value, waited on before any lookup
//! (`ready`, asserted); with the background build disabled it never comes.

use std::time::Duration;

use crate::common;

use common::{eventually, int, TestNode};

/// Enough values for a build that is not instant (it overran the asker's 10 s
/// deadline while registry crates were unoptimised in debug builds).
const ROWS: usize = 2000;
/// Generous: the background build of ROWS values on a loaded 2-core machine.
const BUILD: Duration = Duration::from_secs(120);

/// The most values in a filter `node` logged as built ("lookup filters built
/// … values=V"), so the wait reads a file instead of running `doctor` each time.
fn built_values(node: &TestNode) -> u64 {
    node.log()
        .lines()
        .filter(|l| l.contains("lookup filters built"))
        .filter_map(|l| l.split("values=").nth(1)?.split(' ').next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

fn lookup_at(asker: &TestNode, partner: &str, value: &str) -> serde_json::Value {
    let answer = asker.cli_json(&["lookup", value, "--kind", "domain"]);
    answer["partners"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["nodeId"] == partner).cloned())
        .unwrap_or_else(|| panic!("no answer from {partner}: {answer}"))
}

#[test]
fn the_first_lookup_after_a_bulk_import_answers_within_the_normal_deadline() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    a.start();
    b.start();
    a.enroll(&b, "amber", false);
    b.enroll(&a, "amber", false);
    let b_id = b.node_id();

    let file = b.tmp.path().join("bulk.csv");
    let mut csv = String::from("kind,value,labels,tlp\n");
    for i in 0..ROWS {
        csv.push_str(&format!("domain,ahead-{i:05}.example.org,fraud,green\n"));
    }
    std::fs::write(&file, csv).expect("write csv");
    let summary = b.cli_json(&["import", file.to_str().expect("path")]);
    assert_eq!(int(&summary["imported"]), ROWS as u64, "{summary}");

    // The event: B's background builder logs this epoch's filters built with
    // every imported value. Not asserted here, so that with the background
    // build disabled the lookup below shows what a partner then sees (timed out).
    let ready = eventually(BUILD, || built_values(&b) >= ROWS as u64);

    // A's first lookup at B, with the asker's normal deadline.
    let hit = lookup_at(&a, &b_id, "ahead-01234.example.org");
    assert_eq!(hit["status"], "answered", "ready: {ready}; {hit}");
    assert_eq!(hit["hit"], true, "{hit}");
    let miss = lookup_at(&a, &b_id, "not-imported.example.org");
    assert_eq!(miss["status"], "answered", "{miss}");
    assert_eq!(miss["hit"], false, "{miss}");
    assert!(ready, "B's log:\n{}", b.log());
    // What an operator sees.
    let doctor = b.cli_ok(&["doctor"]);
    assert!(
        doctor.contains(&format!("ready ({ROWS} values)")),
        "{doctor}"
    );
}
