//! Issue 20 item 1: a record logged again (a partner's record after our own
//! "seen" sighting of it) is served once. Over exactly the reproduction's
//! history (B publishes five GREEN records to A; A sights the first; A publishes
//! one of its own), with an analyst's certificate over HTTPS: a TAXII walk with
//! `limit=2` ends and serves each indicator exactly once (A's own included),
//! `next` always moves forward, the manifest likewise, `added_after` returns
//! exactly the objects added after it, and the MISP feed (events and
//! hashes.csv) lists each attribute once; and taxii2-client's `as_pages` walk
//! agrees (a separate test: it needs the interop tests' Python).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common;
use common::https::{self, Response};
use common::{eventually, holds, TestNode, WAIT};
use serde_json::Value;

/// More pages than a walk of six indicators at two a page can need.
const MAX_PAGES: usize = 20;

fn value(i: usize) -> String {
    format!("paging-{i}.example.org")
}

struct Reader<'a> {
    runtime: tokio::runtime::Runtime,
    node: &'a TestNode,
    client: &'a Path,
}

impl Reader<'_> {
    fn get(&self, path: &str) -> Response {
        let response = self
            .runtime
            .block_on(https::get(&self.node.address(), self.client, path));
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        response
    }

    /// Every page of `endpoint` (objects or manifest) at `limit=2`: the list
    /// entries and the `next` tokens, asserting that the walk ends.
    fn walk(&self, collection: &str, endpoint: &str, extra: &str) -> (Vec<Value>, Vec<u64>) {
        let base = format!("/taxii2/api/collections/{collection}/{endpoint}/?limit=2{extra}");
        let (mut listed, mut tokens) = (Vec::new(), Vec::new());
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let path = match &next {
                Some(token) => format!("{base}&next={token}"),
                None => base.clone(),
            };
            let page = self.get(&path).json();
            listed.extend(page["objects"].as_array().cloned().unwrap_or_default());
            if page["more"] != true {
                assert!(page.get("next").is_none(), "next without more: {page}");
                return (listed, tokens);
            }
            let token = page["next"].as_str().expect("next with more").to_string();
            tokens.push(u64::from_str_radix(&token, 16).expect("hex token"));
            next = Some(token);
        }
        panic!("{endpoint} walk did not end in {MAX_PAGES} pages; next tokens {tokens:?}");
    }
}

/// The history of the report: five from B, A sights the first, A publishes one.
fn history() -> (TestNode, TestNode, Vec<String>) {
    let (a, b) = crate::common::two_agencies("green");
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(b.publish("domain", &value(i), "green", &[]));
    }
    for (i, id) in ids.iter().enumerate() {
        assert!(
            eventually(WAIT, || holds(&a, &value(i + 1), id)),
            "A never received {}",
            value(i + 1)
        );
    }
    a.cli_ok(&["sight", &ids[0], "--type", "seen"]);
    ids.push(a.publish("domain", &value(6), "green", &[]));
    (a, b, ids)
}

/// The one value of `paging-N.example.org` a STIX pattern or MISP value names.
fn named(text: &str) -> String {
    (1..=6)
        .map(value)
        .find(|v| text.contains(v.as_str()))
        .unwrap_or_else(|| panic!("names no test value: {text}"))
}

fn exactly_once(what: &str, values: &[String]) {
    let expected: Vec<String> = (1..=6).map(value).collect();
    let mut sorted = values.to_vec();
    sorted.sort();
    assert_eq!(sorted, expected, "{what}: each value exactly once");
}

#[test]
fn a_record_logged_again_after_a_sighting_is_served_once_and_paging_ends() {
    let (a, _b, _ids) = history();
    let analyst = a.issue("Analyst Example", "analyst");
    let reader = Reader {
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        node: &a,
        client: &analyst,
    };
    let collections = reader.get("/taxii2/api/collections/").json();
    let all = collections["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .find(|c| c["title"] == "All indicators")
        .and_then(|c| c["id"].as_str())
        .expect("the All collection")
        .to_string();

    // Objects: ends, each indicator once, `next` strictly rising.
    let (objects, tokens) = reader.walk(&all, "objects", "");
    let indicators: Vec<&Value> = objects
        .iter()
        .filter(|o| o["type"] == "indicator")
        .collect();
    let values: Vec<String> = indicators
        .iter()
        .map(|o| named(o["pattern"].as_str().unwrap_or_default()))
        .collect();
    exactly_once("TAXII objects", &values);
    // The sighted record is a new version (issue 24 item 11); the others not.
    for indicator in &indicators {
        let sighted = named(indicator["pattern"].as_str().unwrap_or_default()) == value(1);
        let (created, modified) = (
            indicator["created"].as_str(),
            indicator["modified"].as_str(),
        );
        match sighted {
            true => assert!(modified > created, "a new version: {indicator}"),
            false => assert_eq!(modified, created, "{indicator}"),
        }
    }
    let ids: BTreeSet<&str> = indicators.iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids.len(), 6, "distinct STIX ids");
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "next must move forward: {tokens:?}"
    );

    // Manifest: the same walk, and the date each indicator was added.
    let (manifest, _) = reader.walk(&all, "manifest", "");
    let added: BTreeMap<String, String> = manifest
        .iter()
        .filter(|m| {
            m["id"]
                .as_str()
                .is_some_and(|i| i.starts_with("indicator--"))
        })
        .map(|m| {
            let id = m["id"].as_str().unwrap_or_default().to_string();
            (
                id,
                m["date_added"].as_str().expect("date_added").to_string(),
            )
        })
        .collect();
    assert_eq!(
        added.len(),
        6,
        "manifest lists each indicator once: {added:?}"
    );
    assert_eq!(
        added.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        ids,
        "manifest and objects name the same indicators"
    );

    // added_after T returns exactly the indicators added after T, whatever T.
    let by_id: BTreeMap<&str, String> = indicators
        .iter()
        .map(|o| {
            let id = o["id"].as_str().unwrap_or_default();
            (id, named(o["pattern"].as_str().unwrap_or_default()))
        })
        .collect();
    let sighted_added = added
        .iter()
        .find(|(id, _)| by_id[id.as_str()] == value(1))
        .map(|(_, date)| date.clone())
        .expect("the sighted record");
    let others_max = added
        .iter()
        .filter(|(id, _)| ![value(1), value(6)].contains(&by_id[id.as_str()]))
        .map(|(_, date)| date.clone())
        .max()
        .expect("B's other records");
    assert!(
        sighted_added > others_max,
        "the sighted record is added when it was logged again ({sighted_added} vs {others_max})"
    );
    let mut stamps: Vec<&String> = added.values().collect();
    stamps.sort();
    stamps.dedup();
    for stamp in stamps {
        let (after, _) = reader.walk(&all, "manifest", &format!("&added_after={stamp}"));
        let got: BTreeSet<&str> = after
            .iter()
            .filter_map(|m| m["id"].as_str())
            .filter(|i| i.starts_with("indicator--"))
            .collect();
        let want: BTreeSet<&str> = added
            .iter()
            .filter(|(_, date)| date.as_str() > stamp.as_str())
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(got, want, "added_after={stamp}");
    }

    // The MISP feed: every event, and hashes.csv, name each attribute once.
    let events = reader.get("/misp-feed/manifest.json").json();
    let mut uuids = Vec::new();
    let mut attribute_values = Vec::new();
    for uuid in events.as_object().expect("manifest").keys() {
        let event = reader.get(&format!("/misp-feed/{uuid}.json")).json();
        for attribute in event["Event"]["Attribute"].as_array().expect("attributes") {
            uuids.push(attribute["uuid"].as_str().expect("uuid").to_string());
            attribute_values.push(named(attribute["value"].as_str().unwrap_or_default()));
        }
    }
    exactly_once("MISP feed attributes", &attribute_values);
    assert_eq!(uuids.iter().collect::<BTreeSet<_>>().len(), 6, "{uuids:?}");
    let hashes = reader.get("/misp-feed/hashes.csv").text();
    let lines: Vec<&str> = hashes.lines().collect();
    assert_eq!(lines.len(), 6, "hashes.csv: {hashes}");
    assert_eq!(lines.iter().collect::<BTreeSet<_>>().len(), 6, "{hashes}");
}

/// The same history through a stock client: taxii2-client's `as_pages` walk
/// ends and serves each indicator once (it stops itself after 50 pages).
#[test]
fn a_stock_clients_as_pages_walk_over_that_history_ends_with_each_object_once() {
    let python = crate::common::python::python();
    let (a, _b, _ids) = history();
    let analyst = a.issue("Analyst Example", "analyst");
    let walked = crate::taxii::check(python, &["walk", &a.address(), analyst_str(&analyst), "2"]);
    assert_eq!(walked["indicators"], 6, "{walked}");
    assert_eq!(walked["distinct_indicators"], 6, "{walked}");
    let pages = walked["pages"].as_u64().unwrap_or(0);
    assert!((3..50).contains(&pages), "{walked}");
}

fn analyst_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
