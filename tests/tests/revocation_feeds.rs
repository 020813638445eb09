//! Issue 24 item 11: a withdrawal reaches the consumers that follow the node.
//! A revoked and a superseded indicator get a new STIX version (`revoked`, a
//! new `modified`, listed by the versions endpoint) that a stock taxii2-client
//! resuming with `added_after` receives, and a MISP server fetching the feed
//! again (PyMISP here) sees the event's timestamp move and the attribute
//! deleted, `to_ids` off and tagged `liaison:revoked`, with a newer timestamp.
//! A thousand filler records put the withdrawals in a later change-log block
//! (a later feed event) than the records they withdraw.

use crate::common;
use crate::taxii::check;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::python::python;
use common::TestNode;
use serde_json::Value;

/// Records that fill the rest of the feed's first block (1000 positions).
const FILLER: usize = 1000;

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn by_pattern<'a>(changes: &'a Value, needle: &str) -> Vec<&'a Value> {
    changes["indicators"]
        .as_array()
        .expect("indicators")
        .iter()
        .filter(|i| i["pattern"].as_str().unwrap_or_default().contains(needle))
        .collect()
}

fn attribute<'a>(feed: &'a Value, value: &str) -> &'a Value {
    let found: Vec<&Value> = feed["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter(|a| a["value"] == value)
        .collect();
    assert_eq!(found.len(), 1, "{value} once in the feed: {feed}");
    found[0]
}

/// MISP timestamps are whole seconds: waits (on the clock, with a deadline)
/// until the second after `seconds`, so a change made now is newer to MISP.
fn wait_past_second(seconds: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs() as i64;
        if now > seconds {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the clock did not pass {seconds}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_revocation_reaches_a_resuming_taxii_client_and_a_misp_feed_fetch() {
    let python = python();
    let mut node = TestNode::init("Agency A (example)");
    node.start();
    node.publish("domain", "kept.example.org", "green", &[]);
    let revoked = node.publish("ip", "192.0.2.20", "green", &[]);
    let old = node.publish("url", "https://old.example.org/pay", "green", &[]);
    // One feed event holds 1000 change-log positions: fill the first block.
    let filler = node.tmp.path().join("filler.csv");
    let rows: String = (0..FILLER)
        .map(|i| format!("domain,filler-{i}.example.org\n"))
        .collect();
    std::fs::write(&filler, format!("kind,value\n{rows}")).expect("filler");
    node.cli_ok(&["import", path(&filler)]);
    let analyst = node.issue("Analyst Example", "analyst");
    let address = node.address();

    let before = check(python, &["changes", &address, path(&analyst), "-", "500"]);
    assert_eq!(before["distinct"], FILLER + 3, "{}", before["distinct"]);
    assert_eq!(before["indicators"].as_array().map(Vec::len), Some(3));
    for indicator in before["indicators"].as_array().expect("indicators") {
        assert_eq!(indicator["revoked"], false, "{indicator}");
        assert_eq!(indicator["modified"], indicator["created"], "{indicator}");
        assert_eq!(
            indicator["versions"],
            serde_json::json!([indicator["modified"]])
        );
    }
    let last = before["last_added"]
        .as_str()
        .expect("last_added")
        .to_string();
    let feed_before = check(python, &["feed_state", &address, path(&analyst)]);
    let ip_before = attribute(&feed_before, "192.0.2.20").clone();
    assert_eq!(ip_before["deleted"], false, "{ip_before}");
    assert_eq!(ip_before["to_ids"], true, "{ip_before}");
    let event = ip_before["event"].as_str().expect("event").to_string();
    let event_before = feed_before["events"][&event]["manifest"]
        .as_i64()
        .expect("manifest timestamp");
    wait_past_second(event_before);

    node.cli_ok(&["revoke", &revoked, "--reason", "attributed in error"]);
    node.publish(
        "url",
        "https://new.example.org/pay",
        "green",
        &["--supersedes", &old],
    );

    // The resuming client gets the two new versions and the new indicator only.
    let after = check(python, &["changes", &address, path(&analyst), &last, "2"]);
    assert_eq!(after["invalid"], serde_json::json!([]), "{after}");
    assert_eq!(
        after["indicators"].as_array().map(Vec::len),
        Some(3),
        "{after}"
    );
    assert!(by_pattern(&after, "kept.example.org").is_empty(), "{after}");
    for withdrawn in ["192.0.2.20", "old.example.org"] {
        let found = by_pattern(&after, withdrawn);
        assert_eq!(found.len(), 1, "{withdrawn}: {after}");
        let version = found[0];
        assert_eq!(version["revoked"], true, "{version}");
        assert!(
            version["modified"].as_str() > version["created"].as_str(),
            "a new modified: {version}"
        );
        assert_eq!(
            version["versions"],
            serde_json::json!([version["modified"]])
        );
    }
    let new = by_pattern(&after, "new.example.org");
    assert_eq!(new.len(), 1, "{after}");
    assert_eq!(new[0]["revoked"], false);

    // A full pull lists each indicator once, at its latest version.
    let all = check(python, &["changes", &address, path(&analyst), "-", "500"]);
    assert_eq!(all["distinct"], FILLER + 4, "{}", all["distinct"]);
    assert_eq!(all["indicators"].as_array().map(Vec::len), Some(4), "{all}");

    // The MISP feed fetched again: the event moved, the attribute is withdrawn.
    let feed_after = check(python, &["feed_state", &address, path(&analyst)]);
    let ip_after = attribute(&feed_after, "192.0.2.20");
    assert_eq!(ip_after["event"], ip_before["event"], "stays in its event");
    let new_event = attribute(&feed_after, "https://new.example.org/pay")["event"].clone();
    assert_ne!(
        new_event, ip_after["event"],
        "the withdrawals are in a later block"
    );
    assert_eq!(ip_after["deleted"], true, "{ip_after}");
    assert_eq!(ip_after["to_ids"], false, "{ip_after}");
    assert!(
        ip_after["tags"].to_string().contains("liaison:revoked"),
        "{ip_after}"
    );
    assert!(
        ip_after["timestamp"].as_i64() > ip_before["timestamp"].as_i64(),
        "the attribute's timestamp moved: {ip_before} {ip_after}"
    );
    let event_after = feed_after["events"][&event]["manifest"]
        .as_i64()
        .expect("manifest timestamp");
    assert!(
        event_after > event_before,
        "the event's timestamp moved: {event_before} -> {event_after}"
    );
    let old_after = attribute(&feed_after, "https://old.example.org/pay");
    assert_eq!(old_after["deleted"], true, "{old_after}");
    let kept = attribute(&feed_after, "kept.example.org");
    assert_eq!(kept["deleted"], false, "{kept}");
    assert_eq!(
        kept,
        attribute(&feed_before, "kept.example.org"),
        "untouched"
    );
}
