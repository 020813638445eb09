//! Issue 20 item 8: the MISP feed keeps its built state between requests and
//! brings it up to date from what changed. These check that the kept state is
//! never stale: a feed read while a partner's records arrive lists each as it
//! lands; a record logged again in a later block (A sights a partner's record
//! after a thousand others) leaves its first block's event and `hashes.csv`
//! line even though that block was built before; a record that expires leaves
//! the feed at its expiry without any write.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::common;
use common::https;
use common::{eventually, TestNode, WAIT};
use serde_json::Value;

/// More than one feed block (1000 change-log positions).
const RECORDS: usize = 1_000;

fn value(i: usize) -> String {
    format!("feed-{i:04}.example.org")
}

struct Feed<'a> {
    runtime: tokio::runtime::Runtime,
    node: &'a TestNode,
    client: &'a Path,
}

impl Feed<'_> {
    fn get(&self, path: &str) -> https::Response {
        let response = self
            .runtime
            .block_on(https::get(&self.node.address(), self.client, path));
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        response
    }

    fn hashes(&self) -> Vec<String> {
        let text = self.get("/misp-feed/hashes.csv").text();
        text.lines().map(str::to_string).collect()
    }

    /// Event uuid → the attribute values it lists.
    fn events(&self) -> Vec<(String, Vec<String>)> {
        let manifest = self.get("/misp-feed/manifest.json").json();
        let mut events = Vec::new();
        for uuid in manifest.as_object().expect("manifest").keys() {
            let event = self.get(&format!("/misp-feed/{uuid}.json")).json();
            let values = event["Event"]["Attribute"]
                .as_array()
                .expect("attributes")
                .iter()
                .map(|a| a["value"].as_str().unwrap_or_default().to_string())
                .collect();
            events.push((uuid.clone(), values));
        }
        events
    }
}

fn csv(path: &Path, rows: impl Iterator<Item = String>) {
    let mut text = String::from("kind,value,tlp,valid_until\n");
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    std::fs::write(path, text).expect("write csv");
}

fn distinct(lines: &[String]) -> usize {
    lines.iter().collect::<BTreeSet<_>>().len()
}

#[test]
fn the_kept_feed_follows_arrivals_a_record_logged_again_in_a_later_block_and_expiry() {
    let (a, b) = crate::common::two_agencies("green");
    let analyst = a.issue("Analyst Example", "analyst");
    let feed = Feed {
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        node: &a,
        client: &analyst,
    };
    // Built empty first, so everything after is an update of kept state.
    assert!(feed.hashes().is_empty());

    let file = b.dir().join("many.csv");
    csv(
        &file,
        (1..=RECORDS).map(|i| format!("domain,{},green,", value(i))),
    );
    b.cli_ok(&["import", file.to_str().expect("path")]);
    // Read while the records arrive: each read sees a consistent, growing feed.
    assert!(
        eventually(WAIT * 4, || {
            let lines = feed.hashes();
            assert_eq!(distinct(&lines), lines.len(), "a line listed twice");
            lines.len() == RECORDS
        }),
        "A's feed never listed B's {RECORDS} records"
    );

    // A sights the first: it is logged again at position 1001, block 1.
    let first = a.search_ids(&value(1));
    assert_eq!(first.len(), 1, "{first:?}");
    a.cli_ok(&["sight", &first[0], "--type", "seen"]);
    // And publishes one of its own that expires in a few seconds.
    let soon = rfc3339(liaison::now_ms() / 1000 + 6);
    let own = a.dir().join("own.csv");
    csv(
        &own,
        std::iter::once(format!("domain,{},green,{soon}", value(0))),
    );
    a.cli_ok(&["import", own.to_str().expect("path")]);

    // Both calls answered after their durable write: the feed has them now.
    let lines = feed.hashes();
    assert_eq!(lines.len(), RECORDS + 1, "each attribute once");
    assert_eq!(distinct(&lines), lines.len());
    let events = feed.events();
    let holding = |v: &str| -> Vec<usize> {
        events
            .iter()
            .enumerate()
            .filter(|(_, (_, values))| values.iter().any(|x| x == v))
            .map(|(i, _)| i)
            .collect()
    };
    assert_eq!(
        holding(&value(1)).len(),
        1,
        "the sighted record in one event"
    );
    assert_eq!(
        holding(&value(1)),
        holding(&value(0)),
        "both in the later block"
    );
    assert_eq!(holding(&value(2)).len(), 1);
    assert_ne!(holding(&value(2)), holding(&value(1)), "it left block 0");
    let total: usize = events.iter().map(|(_, values)| values.len()).sum();
    assert_eq!(total, RECORDS + 1);

    // At its expiry the own record leaves, with no write to move the log.
    assert!(
        eventually(Duration::from_secs(30), || feed.hashes().len() == RECORDS),
        "the expired record stayed in hashes.csv"
    );
    let after: Vec<Value> = feed
        .events()
        .into_iter()
        .flat_map(|(_, values)| values.into_iter().map(Value::from))
        .collect();
    assert!(
        !after.contains(&Value::from(value(0))),
        "expired record still listed"
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (civil-from-days, proleptic Gregorian).
fn rfc3339(unix_s: i64) -> String {
    let (days, secs) = (unix_s.div_euclid(86_400), unix_s.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[test]
fn rfc3339_of_known_times() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_796_651_045), "2026-12-07T13:44:05Z");
}
