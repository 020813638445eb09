//! `liaison import` tells the truth (issue 24): a file that cannot be read at
//! all exits non-zero with the problem on stderr and stores nothing; rejected
//! rows keep exit 0 (or 3 with `--fail-on-reject`); a CRLF CSV's rejects name
//! the file's lines; what the records do not carry is counted; and the
//! producer and first-seen time are signed, shown, exported and relayed
//! unchanged. Fixtures: crates/core/src/formats/testdata/corpus (real format
//! shapes, fictional values).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{eventually, TestNode, WAIT};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/core/src/formats/testdata")
        .join(name)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn run(node: &TestNode, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["import", path(file)];
    args.extend_from_slice(extra);
    node.cli(&args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn records(node: &TestNode) -> u64 {
    common::int(&node.cli_json(&["identity", "show"])["records"])
}

fn summary(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json summary: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

fn count(summary: &serde_json::Value, what: &str) -> u64 {
    common::int_opt(&summary[what]).unwrap_or_else(|| panic!("{what} in {summary}"))
}

/// `notCarried` as field → (count, example).
fn not_carried(summary: &serde_json::Value) -> Vec<(String, u64, String)> {
    summary["notCarried"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|n| {
                    (
                        n["field"].as_str().unwrap_or_default().to_string(),
                        common::int(&n["count"]),
                        n["example"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn exit_codes_tell_a_file_problem_from_rejected_rows() {
    let mut node = TestNode::init("Agency Exit (example)");
    node.start();
    let tmp = node.tmp.path().to_path_buf();

    // File-level problems: exit 1, the problem named on stderr, nothing stored.
    let empty = tmp.join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    let not_event = tmp.join("not-an-event.json");
    std::fs::write(&not_event, r#"{"hello": "world"}"#).expect("write");
    let cases: [(&str, PathBuf, &[&str], &str); 4] = [
        (
            "unknown column",
            fixture("unknown_column.csv"),
            &[],
            "unknown column \"colour\"",
        ),
        (
            "a MISP event read as STIX",
            fixture("corpus/vendor_event.misp.json"),
            &["--format", "stix"],
            "not a STIX bundle",
        ),
        (
            "JSON that is no MISP event",
            not_event,
            &["--format", "misp"],
            "not a MISP event",
        ),
        (
            "an empty file",
            empty,
            &["--format", "csv"],
            "the file is empty",
        ),
    ];
    for (name, file, extra, says) in cases {
        let mut args = extra.to_vec();
        args.push("--json");
        let out = run(&node, &file, &args);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot be read"),
            "{name}: {}",
            stderr(&out)
        );
        let summary = summary(&out);
        assert!(
            summary["fileError"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{name}: {summary}"
        );
        assert_eq!(
            count(&summary, "rejected"),
            0,
            "{name}: a file error is no row"
        );
    }
    assert_eq!(
        records(&node),
        0,
        "nothing stored by a file that cannot be read"
    );

    // Rejected rows: exit 0 with the counts; the rejects name the file's lines
    // although the file ends its lines with CRLF.
    let csv = fixture("corpus/excel.crlf.csv");
    let rejects = tmp.join("rejects.tsv");
    let out = run(&node, &csv, &["--rejects", path(&rejects), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = summary(&out);
    assert_eq!(
        (count(&summary, "imported"), count(&summary, "rejected")),
        (3, 2),
        "{summary}"
    );
    let lines = std::fs::read_to_string(&rejects).expect("rejects");
    let rows: Vec<&str> = lines
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(rows, ["row 3", "row 5"], "{lines}");

    // --fail-on-reject: the same rows, exit 3.
    let out = run(&node, &csv, &["--fail-on-reject"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 row(s) were rejected"),
        "{}",
        stderr(&out)
    );
    let clean = tmp.join("clean.csv");
    std::fs::write(&clean, "kind,value\r\ndomain,clean.example.org\r\n").expect("write");
    let out = run(&node, &clean, &["--fail-on-reject"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn provenance_is_signed_shown_exported_and_relayed_unchanged() {
    let (a, _b, c) = common::three_agencies();
    let bundle = fixture("corpus/oasis_indicators.stix.json");
    let out = run(&a, &bundle, &["--tlp", "green", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stix = summary(&out);
    assert_eq!(count(&stix, "imported"), 3, "{stix}");
    let lost = not_carried(&stix);
    for (field, example) in [
        ("stix-label", "phishing"),
        ("stix-indicator-type", "anonymization"),
        ("producer", "identity--0000aaaa-bbbb-4ccc-8ddd-eeeeffff0001"),
        (
            "stix-statement-marking",
            "Copyright 2026, Example Threat Research (fictional)",
        ),
    ] {
        assert!(
            lost.contains(&(field.to_string(), 1, example.to_string())),
            "{field} in {lost:?}"
        );
    }

    // Signed, and shown by search and get.
    let found = a.cli_json(&["search", "trade-profits.example.org"]);
    let view = &found["records"][0];
    let indicator = &view["indicator"];
    assert_eq!(
        indicator["source"], "Example Threat Research (fictional)",
        "{found}"
    );
    assert_eq!(
        common::int(&indicator["firstSeenUnixMs"]),
        1_775_001_600_000,
        "2026-04-01, the bundle's valid_from"
    );
    let id = view["recordId"].as_str().expect("record id").to_string();
    let shown = a.cli_ok(&["get", &id]);
    assert!(
        shown.contains("source      Example Threat Research (fictional)"),
        "{shown}"
    );
    assert!(
        shown.contains("first seen  2026-04-01T00:00:00Z"),
        "{shown}"
    );

    // A relays it to C through B: the same record id (the signed bytes, not a
    // re-encoding), and C shows the same provenance.
    assert!(
        eventually(WAIT, || common::holds(&c, "trade-profits.example.org", &id)),
        "the record with provenance reaches C unchanged"
    );
    let at_c = c.cli_json(&["search", "trade-profits.example.org"]);
    assert_eq!(
        at_c["records"][0]["indicator"]["source"],
        "Example Threat Research (fictional)"
    );

    // STIX export: the producer, first-seen and indicator type come back out;
    // the importing agency stays the signer.
    let out_path = a.tmp.path().join("export.stix.json");
    a.cli_ok(&["export", "--format", "stix", "--out", path(&out_path)]);
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_path).expect("export")).expect("json");
    let objects = exported["objects"].as_array().expect("objects");
    let domain = objects
        .iter()
        .find(|o| o["pattern"] == "[domain-name:value = 'trade-profits.example.org']")
        .expect("the domain indicator");
    assert_eq!(
        domain["x_liaison_source"],
        "Example Threat Research (fictional)"
    );
    assert_eq!(domain["valid_from"], "2026-04-01T00:00:00.000Z");
    assert_eq!(
        domain["indicator_types"],
        serde_json::json!(["malicious-activity"])
    );
    assert_eq!(
        domain["description"],
        "Domain of a fictional fake trading platform used in investment fraud."
    );
    assert_eq!(domain["labels"], serde_json::json!(["fraud"]));
    let signer = objects
        .iter()
        .find(|o| o["type"] == "identity" && o["id"] == domain["created_by_ref"])
        .expect("the signer's identity");
    assert_eq!(signer["name"], "Agency A (example)");

    // MISP: the event's Orgc is the source, and the export gives it back.
    let misp = run(&a, &fixture("corpus/vendor_event.misp.json"), &["--json"]);
    assert_eq!(misp.status.code(), Some(0), "{}", stderr(&misp));
    let misp = summary(&misp);
    assert_eq!(
        (count(&misp, "imported"), count(&misp, "skipped")),
        (4, 0),
        "{misp}"
    );
    let lost = not_carried(&misp);
    assert!(
        lost.iter()
            .any(|(f, n, _)| f == "misp-galaxy-tag" && *n == 4),
        "{lost:?}"
    );
    let found = a.cli_json(&["search", "fake-exchange.example.org"]);
    assert_eq!(
        found["records"][0]["indicator"]["source"],
        "Example Vendor CERT (fictional)"
    );
    let out_path = a.tmp.path().join("export.misp.json");
    a.cli_ok(&["export", "--format", "misp", "--out", path(&out_path)]);
    let event = std::fs::read_to_string(&out_path).expect("export");
    assert!(
        event.contains(r#"liaison:source=\"Example Vendor CERT (fictional)\""#),
        "{event}"
    );
    assert!(
        event.contains(r#""first_seen":"2026-03-28T09:15:00.000Z""#),
        "{event}"
    );
}
