//! `liaison import` through a real node: CSV, MISP and STIX fixtures (fictional
//! data), every row accounted for (imported, already present, rejected, skipped)
//! with each refused row in the rejects file, a re-run stores nothing twice,
//! `--dry-run` stores nothing, and an imported record reaches a partner.

use crate::common;

use std::path::PathBuf;

use common::{eventually, TestNode, WAIT};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/core/src/formats/testdata")
        .join(name)
}

fn import(node: &TestNode, file: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["import", file.to_str().expect("path")];
    args.extend_from_slice(extra);
    node.cli_json(&args)
}

fn count(summary: &serde_json::Value, what: &str) -> u64 {
    common::int_opt(&summary[what]).unwrap_or_else(|| panic!("{what} in {summary}"))
}

#[test]
fn import_accounts_for_every_row_and_never_stores_twice() {
    let mut a = TestNode::init("Agency Import A (example)");
    let mut b = TestNode::init("Agency Import B (example)");
    a.start();
    b.start();
    a.enroll(&b, "amber", false);
    b.enroll(&a, "amber", false);
    let rejects = a.tmp.path().join("rejects.tsv");
    let rejects_arg = rejects.to_str().expect("path");

    // A dry run checks every row and stores nothing.
    let dry = import(&a, &fixture("good.csv"), &["--dry-run"]);
    assert_eq!(count(&dry, "rejected"), 0, "{dry}");
    assert!(count(&dry, "imported") >= 8, "{dry}");
    assert_eq!(
        common::int(&a.cli_json(&["identity", "show"])["records"]),
        0
    );

    let csv = import(&a, &fixture("good.csv"), &["--rejects", rejects_arg]);
    assert_eq!(csv["format"], "csv", "guessed from the content");
    assert_eq!(count(&csv, "rejected"), 0, "{csv}");
    let imported = count(&csv, "imported");
    assert_eq!(imported, count(&dry, "imported"));
    assert_eq!(
        common::int(&a.cli_json(&["identity", "show"])["records"]),
        imported
    );

    // The same file again: everything is found, nothing stored twice.
    let again = import(&a, &fixture("good.csv"), &[]);
    assert_eq!(count(&again, "imported"), 0, "{again}");
    assert_eq!(count(&again, "alreadyPresent"), imported, "{again}");
    assert_eq!(
        common::int(&a.cli_json(&["identity", "show"])["records"]),
        imported
    );

    // Malformed rows: each reported with its location; the good ones imported.
    let bad = import(&a, &fixture("malformed.csv"), &["--rejects", rejects_arg]);
    let rejected = count(&bad, "rejected");
    assert!(rejected >= 5, "{bad}");
    assert!(count(&bad, "imported") >= 2, "{bad}");
    let lines = std::fs::read_to_string(&rejects).expect("rejects file");
    assert_eq!(lines.lines().count() as u64, rejected + 1, "{lines}");
    assert!(
        lines.lines().skip(1).all(|l| l.starts_with("row ")),
        "{lines}"
    );
    assert!(lines.contains("telex") || lines.contains("kind"), "{lines}");

    // MISP and STIX, their unsupported entries reported as skipped.
    let misp = import(&a, &fixture("good.misp.json"), &["--label", "scam-centre"]);
    assert_eq!(misp["format"], "misp");
    assert!(
        count(&misp, "imported") + count(&misp, "alreadyPresent") > 0,
        "{misp}"
    );
    let stix = import(&a, &fixture("good.stix.json"), &[]);
    assert_eq!(stix["format"], "stix");
    assert!(
        count(&stix, "imported") + count(&stix, "alreadyPresent") > 0,
        "{stix}"
    );
    let feed = import(&a, &fixture("feed"), &[]);
    assert_eq!(feed["format"], "misp");

    // Not a format we read: a clear error, nothing stored.
    let text = a.tmp.path().join("notes.txt");
    std::fs::write(&text, "just some notes\n").expect("write");
    let refused = a.cli(&["import", text.to_str().expect("path")]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--format"));

    // Imported records travel like published ones (the CSV's AMBER phone number).
    assert!(eventually(WAIT, || !b
        .search_ids("+447700900123")
        .is_empty()));
}
