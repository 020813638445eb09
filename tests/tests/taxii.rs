//! TAXII 2.1 and the MISP feed against real nodes, with stock Python clients:
//! taxii2-client with an analyst's certificate (discovery, collections, a
//! paginated pull of everything, an `added_after` resume), every object through
//! the OASIS stix2-validator, feed events through PyMISP; and the refusals: no
//! certificate and a stranger's at the handshake, a partner node's with 403,
//! bad parameters 400 and an unknown collection 404 (TAXII error JSON).
//!
//! Needs `tests/python/requirements.txt` (taxii2-client, stix2-validator,
//! pymisp): `common::python` provides it or fails the test saying how; it never
//! skips. The same access rules are also checked without Python in
//! `http_access.rs`.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::python::{python, run_python};
use common::TestNode;
use serde_json::Value;

const PYTHON_TIMEOUT: Duration = Duration::from_secs(180);

/// Fictional indicators of every kind STIX carries, at two TLP levels.
const RECORDS: [(&str, &str, &str); 9] = [
    ("phone", "+44 7700 900123", "green"),
    ("email", "fraud@example.org", "green"),
    ("domain", "pay-now.example.org", "green"),
    ("url", "https://pay-now.example.org/login", "amber"),
    ("ip", "192.0.2.10", "amber"),
    ("ip", "192.0.2.11", "clear"),
    ("iban", "GB82WEST12345698765432", "green"),
    ("wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "amber"),
    ("phone", "+44 7700 900456", "amber+strict"),
];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/taxii_check.py")
}

/// Runs a mode of taxii_check.py; its one JSON line.
pub(crate) fn check(python: &str, args: &[&str]) -> Value {
    let script = script();
    let mut all = vec![script.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    let run = run_python(python, &all, PYTHON_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        run.success,
        "taxii_check.py {args:?} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    let line = run.stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn a_stock_taxii_client_and_pymisp_read_the_node_and_others_are_refused() {
    let python = python();
    let mut node = TestNode::init("Agency A (example)");
    node.start();
    let mut ids = Vec::new();
    for (kind, value, tlp) in RECORDS {
        ids.push(node.publish(kind, value, tlp, &["--label", "scam-centre"]));
    }
    node.cli_ok(&["revoke", &ids[4], "--reason", "attributed in error"]);
    let analyst = node.issue("Analyst Example", "analyst");
    let address = node.address();

    // Discovery, collections, a paginated pull (3 objects a page), all valid.
    let pull = check(python, &["pull", &address, path(&analyst), "3"]);
    assert_eq!(
        pull["api_roots"].as_array().map(Vec::len),
        Some(1),
        "{pull}"
    );
    let titles = pull["collections"].to_string();
    for title in [
        "All indicators",
        "TLP:CLEAR",
        "TLP:GREEN",
        "TLP:AMBER",
        "TLP:RED",
    ] {
        assert!(titles.contains(title), "{title} missing: {titles}");
    }
    assert_eq!(pull["indicators"], RECORDS.len(), "{pull}");
    assert_eq!(pull["distinct_indicators"], RECORDS.len(), "{pull}");
    assert_eq!(pull["manifest_indicators"], RECORDS.len(), "{pull}");
    assert_eq!(pull["revoked"], 1, "{pull}");
    assert!(pull["pages"].as_u64().unwrap_or(0) > 3, "paginated: {pull}");
    assert_eq!(
        pull["invalid"],
        serde_json::json!([]),
        "stix2-validator: {pull}"
    );
    assert_eq!(pull["by_id"].as_array().map(Vec::len), Some(1), "{pull}");

    // added_after resumes with only what arrived since.
    let last = pull["last_added"].as_str().expect("last_added").to_string();
    std::thread::sleep(Duration::from_millis(5));
    node.publish("domain", "later.example.org", "green", &[]);
    node.publish("ip", "192.0.2.77", "green", &[]);
    let resumed = check(python, &["resume", &address, path(&analyst), &last]);
    assert_eq!(resumed["indicators"], 2, "{resumed}");
    assert!(resumed["patterns"]
        .to_string()
        .contains("later.example.org"));

    // The MISP feed: every event loads in PyMISP, hashes.csv covers them.
    let feed = check(python, &["feed", &address, path(&analyst)]);
    let all = RECORDS.len() + 2;
    assert_eq!(feed["attributes"], all, "{feed}");
    assert_eq!(feed["deleted"], 1, "{feed}");
    assert_eq!(feed["hash_lines"], all, "{feed}");
    assert_eq!(feed["hash_events"], feed["manifest"], "{feed}");

    refusals(python, &node, &analyst);
}

/// GET `path` with a certificate (or none); the JSON the script printed.
fn get(
    python: &str,
    node: &TestNode,
    trust: &Path,
    cert: Option<(&Path, &Path)>,
    at: &str,
) -> Value {
    let (crt, key) = cert.map_or(("-", "-"), |(c, k)| (path(c), path(k)));
    check(python, &["get", &node.address(), path(trust), crt, key, at])
}

fn refusals(python: &str, node: &TestNode, analyst: &Path) {
    let trust = analyst.join("node.crt");
    let analyst_cert = Some((analyst.join("client.crt"), analyst.join("client.key")));
    let analyst_cert = analyst_cert
        .as_ref()
        .map(|(c, k)| (c.as_path(), k.as_path()));

    // No certificate, and a stranger's node certificate: refused at the handshake.
    let none = get(python, node, &trust, None, "/taxii2/");
    assert!(none["refused"].is_string(), "{none}");
    let stranger = TestNode::init("Agency S (example)");
    let s_tls = stranger.dir().join("tls");
    let (s_crt, s_key) = (s_tls.join("node.crt"), s_tls.join("node.key"));
    let refused = get(python, node, &trust, Some((&s_crt, &s_key)), "/taxii2/");
    assert!(refused["refused"].is_string(), "{refused}");

    // An enrolled partner's node certificate: 403, TAXII error JSON.
    let mut partner = TestNode::init("Agency P (example)");
    partner.start();
    node.enroll(&partner, "green", false);
    let p_tls = partner.dir().join("tls");
    let (p_crt, p_key) = (p_tls.join("node.crt"), p_tls.join("node.key"));
    for at in ["/taxii2/", "/misp-feed/manifest.json"] {
        let forbidden = get(python, node, &trust, Some((&p_crt, &p_key)), at);
        assert_eq!(forbidden["status"], 403, "{at}: {forbidden}");
        assert_eq!(forbidden["body"]["http_status"], "403", "{forbidden}");
    }

    // Bad parameters: 400 naming the parameter; unknown collection: 404.
    let collections = get(
        python,
        node,
        &trust,
        analyst_cert,
        "/taxii2/api/collections/",
    );
    let id = collections["body"]["collections"][0]["id"]
        .as_str()
        .expect("a collection id")
        .to_string();
    let objects = format!("/taxii2/api/collections/{id}/objects/");
    for (query, field) in [
        ("limit=abc", "limit"),
        ("added_after=yesterday", "added_after"),
        ("next=zz", "next"),
        ("match[version]=newest", "match[version]"),
    ] {
        let bad = get(
            python,
            node,
            &trust,
            analyst_cert,
            &format!("{objects}?{query}"),
        );
        assert_eq!(bad["status"], 400, "{query}: {bad}");
        assert_eq!(bad["body"]["http_status"], "400", "{bad}");
        let description = bad["body"]["description"].as_str().unwrap_or_default();
        assert!(description.starts_with(field), "{query}: {bad}");
        assert_eq!(
            bad["content_type"], "application/taxii+json;version=2.1",
            "{bad}"
        );
    }
    let unknown = "/taxii2/api/collections/00000000-0000-4000-8000-000000000000/objects/";
    let missing = get(python, node, &trust, analyst_cert, unknown);
    assert_eq!(missing["status"], 404, "{missing}");
    assert_eq!(missing["body"]["http_status"], "404", "{missing}");

    // An oversized limit is clamped, not refused.
    let huge = get(
        python,
        node,
        &trust,
        analyst_cert,
        &format!("{objects}?limit=99999999999"),
    );
    assert_eq!(huge["status"], 200, "{huge}");
    let count = huge["body"]["objects"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(count > RECORDS.len(), "{count} objects");
    assert_eq!(huge["body"]["more"], false, "{huge}");

    // The audit log has a page entry per page served.
    let audit = std::fs::read_to_string(node.dir().join("audit.log")).expect("audit log");
    assert!(audit.contains("\"taxii.page\""), "no taxii.page entries");
    assert!(
        audit.contains("\"misp_feed.page\""),
        "no misp_feed.page entries"
    );
}
