//! The Prometheus endpoint: a real node with `[metrics] listen` on port 0 is
//! scraped over plain HTTP, and its counters move after a publish (RPC counts,
//! flushes, audit writes) and after a sync (partner received, cursor, lag,
//! connection state).

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{eventually, TestNode, WAIT};

/// Turns the metrics endpoint on (port 0) before the node starts.
pub(crate) fn with_metrics(node: &TestNode) {
    let config = node.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).expect("config.toml");
    text.push_str("\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
    std::fs::write(&config, text).expect("write config.toml");
}

/// One plain HTTP/1.1 GET; returns (status line, body).
pub(crate) fn get(node: &TestNode, path: &str) -> (String, String) {
    // The endpoint starts beside the gRPC listener, not before it: wait for
    // its address file (written whole, by rename).
    let file = node.dir().join("metrics.addr");
    assert!(
        eventually(WAIT, || file.exists()),
        "no metrics.addr; log:\n{}",
        node.log()
    );
    let address = std::fs::read_to_string(&file).expect("metrics.addr");
    let mut stream = TcpStream::connect(address.trim()).expect("connect to metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

pub(crate) fn scrape(node: &TestNode) -> String {
    let (status, body) = get(node, "/metrics");
    assert!(status.contains("200"), "{status}");
    body
}

/// The value of the sample whose name and labels start with `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub(crate) fn sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn the_endpoint_answers_and_its_counters_move_after_a_publish_and_a_sync() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    with_metrics(&a);
    with_metrics(&b);
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let a_id = a.node_id();

    let before = scrape(&a);
    assert!(
        before.contains("# TYPE liaison_rpc_requests counter"),
        "{before}"
    );
    assert!(before.contains("# TYPE liaison_records_held gauge"));
    let (status, _) = get(&a, "/elsewhere");
    assert!(status.contains("404"), "{status}");

    let publish = r#"liaison_rpc_requests_total{method="/liaison.v1.Analyst/Publish",status="Ok"}"#;
    let flushes = "liaison_store_flush_duration_seconds_count";
    a.publish("phone", "+44 7700 900777", "green", &[]);
    // An audited admin call (the audit entry is written before the reply).
    a.export_bundle();
    let after = scrape(&a);
    assert_eq!(
        value(&after, publish),
        Some(value(&before, publish).unwrap_or(0.0) + 1.0),
        "{after}"
    );
    assert!(value(&after, flushes) > value(&before, flushes), "{after}");
    assert!(
        value(&after, "liaison_audit_writes_total") > value(&before, "liaison_audit_writes_total")
    );
    assert_eq!(value(&after, "liaison_records_held"), Some(1.0));
    let own = format!("liaison_origin_sequence{{origin=\"{a_id}\"}}");
    assert_eq!(value(&after, &own), Some(1.0), "{after}");
    assert!(
        after.contains(r#"liaison_rpc_duration_seconds_bucket{le="#)
            || after.contains("liaison_rpc_duration_seconds_bucket{method="),
        "latency histogram missing:\n{after}"
    );

    // B pulls the record from A: its partner figures for A move.
    let received = format!("liaison_partner_records_received_total{{partner=\"{a_id}\"}}");
    let synced = eventually(WAIT, || value(&scrape(&b), &received) == Some(1.0));
    let at_b = scrape(&b);
    assert!(synced, "B never counted the record from A:\n{at_b}");
    let connected = format!("liaison_partner_connection{{partner=\"{a_id}\",state=\"connected\"}}");
    assert_eq!(value(&at_b, &connected), Some(1.0), "{at_b}");
    let cursor = format!("liaison_partner_cursor{{partner=\"{a_id}\"}}");
    assert!(value(&at_b, &cursor).unwrap_or(0.0) >= 1.0, "{at_b}");
    let lag = format!("liaison_partner_sync_lag{{partner=\"{a_id}\"}}");
    assert!(
        eventually(WAIT, || value(&scrape(&b), &lag) == Some(0.0)),
        "lag never reached 0:\n{}",
        scrape(&b)
    );
    let pulls = sum(
        &scrape(&a),
        r#"liaison_rpc_requests_total{method="/liaison.v1.Federation/Pull""#,
    );
    assert!(pulls >= 1.0, "A counted no Pull call");
    println!(
        "scrape size at B: {} bytes, {} series",
        at_b.len(),
        at_b.lines().filter(|l| !l.starts_with('#')).count()
    );
}

#[test]
fn a_bad_metrics_address_fails_run_at_once() {
    let node = TestNode::init("Agency A (example)");
    let out = node.cli(&["run", "--metrics-listen", "192.0.2.1:notaport"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("metrics listen:"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_refused_from_a_partner_are_counted_by_reason() {
    let mut victim = TestNode::init("Agency Victim (example)");
    let rogue = TestNode::init("Agency Rogue (example)");
    with_metrics(&victim);
    victim.start();
    let bundle = common::rogue::start(&rogue.node_dir(), &victim.node_dir()).await;
    let bundle_path = victim.tmp.path().join("rogue.pem");
    std::fs::write(&bundle_path, bundle).expect("write bundle");
    let path = bundle_path.to_str().expect("path");
    victim.cli_ok(&["partner", "add", path, "--max-tlp", "red", "--yes"]);
    let rogue_id = victim.cli_json(&["partner", "list"])["partners"][0]["nodeId"]
        .as_str()
        .expect("node_id")
        .to_string();
    let rejected = format!("liaison_partner_records_rejected_total{{partner=\"{rogue_id}\"}}");
    // The hostile batch: one good record and six bad ones (forged, tampered,
    // malformed, relayed without rights, RED for someone else, oversized).
    let counted = eventually(WAIT, || value(&scrape(&victim), &rejected) == Some(6.0));
    let text = scrape(&victim);
    assert!(counted, "rejections never reached 6:\n{text}");
    let received = format!("liaison_partner_records_received_total{{partner=\"{rogue_id}\"}}");
    assert_eq!(value(&text, &received), Some(1.0), "{text}");
    let by_reason = format!("liaison_sync_rejected_by_reason_total{{partner=\"{rogue_id}\"");
    assert_eq!(sum(&text, &by_reason), 6.0, "{text}");
    let classes: Vec<&str> = text.lines().filter(|l| l.starts_with(&by_reason)).collect();
    assert!(
        classes.len() >= 4,
        "one class per kind of refusal: {classes:?}"
    );
    assert!(
        !classes.iter().any(|l| l.contains("reason=\"other\"")),
        "every refusal of the hostile batch has a class: {classes:?}"
    );
    println!("rejection classes:\n{}", classes.join("\n"));
    // `partner list --json` reads the same counters back (issue 25).
    let listed = victim.cli_json(&["partner", "list"])["partners"][0]["rejectedByReason"].clone();
    let listed = listed.as_object().cloned().unwrap_or_default();
    assert_eq!(listed.len(), classes.len(), "{listed:?} vs {classes:?}");
    for (reason, count) in &listed {
        let line = format!("{by_reason},reason=\"{reason}\"}}");
        let count: f64 = count.as_str().and_then(|c| c.parse().ok()).unwrap_or(-1.0);
        assert_eq!(
            value(&text, &line),
            Some(count),
            "{reason}: {listed:?}\n{text}"
        );
    }
}

#[test]
fn records_held_by_origin_equals_the_records_held_after_a_sync() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    with_metrics(&b);
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let (a_id, b_id) = (a.node_id(), b.node_id());
    let first = a.publish("phone", "+44 7700 900781", "green", &[]);
    let second = a.publish("phone", "+44 7700 900782", "green", &[]);
    b.publish("phone", "+44 7700 900783", "green", &[]);
    assert!(eventually(WAIT, || common::holds(
        &b,
        "+447700900781",
        &first
    ) && common::holds(
        &b,
        "+447700900782",
        &second
    )));

    let text = scrape(&b);
    let held_from = |origin: &str| {
        value(
            &text,
            &format!("liaison_records_held_by_origin{{origin=\"{origin}\"}}"),
        )
    };
    assert_eq!(held_from(&a_id), Some(2.0), "{text}");
    assert_eq!(held_from(&b_id), Some(1.0), "{text}");
    assert_eq!(
        sum(&text, "liaison_records_held_by_origin{"),
        value(&text, "liaison_records_held ").unwrap_or(-1.0),
        "{text}"
    );
}
