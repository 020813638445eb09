//! `liaison export` against a real node: fictional records of several kinds (one
//! revoked) exported as STIX, MISP and CSV; each file read back with the crate's
//! own readers, counts checked, the revoked record marked; the STIX bundle checked
//! by the OASIS validator and the MISP event loaded by PyMISP.
//!
//! The Python checks need `tests/python/requirements.txt`: `common::python`
//! provides it (`LIAISON_PYTHON`, or a venv it makes) or fails the test saying
//! how to provide one; they never skip.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::python::{python, Run};
use common::TestNode;
use liaison::formats::{self, Entry};

/// How long one Python check may take before it is killed.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(120);

/// Kind, value: every kind the three formats carry, fictional values only.
const RECORDS: [(&str, &str); 10] = [
    ("phone", "+44 7700 900123"),
    ("email", "fraud@example.org"),
    ("domain", "pay-now.example.org"),
    ("url", "https://pay-now.example.org/login"),
    ("ip", "192.0.2.10"),
    ("iban", "GB82WEST12345698765432"),
    ("wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    // Issue 24: a range, a file hash, a Monero wallet (a published test address).
    ("network", "198.51.100.0/24"),
    (
        "file-hash",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    (
        "wallet",
        "42z3MVZMRgE72dPA89MtCD6tYeWke8cV2B3YPYg1pe5x9X7VVqee6MWhjPrjCMiUFwejWkh8KL6MpN8cwX7B5WuZAxw2YbQ",
    ),
];
/// The record that gets revoked (by its position in `RECORDS`).
const REVOKED: usize = 4;

/// A node holding `RECORDS` (GREEN), the revoked one withdrawn, and one AMBER
/// record for the `--max-tlp` filter. Returns the node and the revoked record's id.
fn node_with_records() -> (TestNode, String) {
    let mut node = TestNode::init("Agency A (example)");
    node.start();
    let mut ids = Vec::new();
    for (kind, value) in RECORDS {
        let extra = ["--label", "scam-centre", "--case", "OP-EXAMPLE-1"];
        ids.push(node.publish(kind, value, "green", &extra));
    }
    node.publish("phone", "+44 7700 900456", "amber", &[]);
    node.cli_ok(&["revoke", &ids[REVOKED], "--reason", "attributed in error"]);
    (node, ids.swap_remove(REVOKED))
}

/// `liaison export --format F --out DIR/export.F EXTRA… --json`: the summary and the path.
fn export(node: &TestNode, format: &str, extra: &[&str]) -> (serde_json::Value, PathBuf) {
    let out = node.tmp.path().join(format!("export.{format}"));
    let mut args = vec!["export", "--format", format, "--out"];
    args.push(out.to_str().expect("utf-8 path"));
    args.extend_from_slice(extra);
    (node.cli_json(&args), out)
}

/// Items, skipped entries and errors a reader yields.
fn tally(entries: impl Iterator<Item = Entry>) -> (usize, usize, Vec<String>) {
    let (mut items, mut skipped, mut errors) = (0, 0, Vec::new());
    for entry in entries {
        match entry {
            Entry::Item(_) => items += 1,
            Entry::Skipped(_) => skipped += 1,
            Entry::Error(e) | Entry::Fatal(e) => errors.push(e.to_string()),
        }
    }
    (items, skipped, errors)
}

fn open(path: &Path) -> std::io::BufReader<std::fs::File> {
    std::io::BufReader::new(std::fs::File::open(path).expect("export file"))
}

#[test]
fn exports_read_back_with_the_counts_and_the_revocation() {
    let (node, revoked_id) = node_with_records();
    let all = RECORDS.len() as u64 + 1;

    // STIX and MISP carry the revoked record (to withdraw it); CSV cannot.
    let (summary, stix) = export(&node, "stix", &[]);
    assert_eq!(common::int(&summary["exported"]), all, "{summary}");
    assert_eq!(common::int(&summary["failed"]), 0, "{summary}");
    let (items, skipped, errors) = tally(formats::stix::read(open(&stix)));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        (items as u64, skipped),
        (all - 1, 1),
        "the revoked one is skipped on reading"
    );
    let bundle: serde_json::Value =
        serde_json::from_reader(open(&stix)).expect("the STIX export is JSON");
    let indicators: Vec<_> = bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["type"] == "indicator")
        .collect();
    assert_eq!(indicators.len() as u64, all);
    let revoked: Vec<_> = indicators.iter().filter(|o| o["revoked"] == true).collect();
    assert_eq!(revoked.len(), 1, "exactly one indicator is revoked");
    assert!(
        revoked[0].to_string().contains(&revoked_id),
        "the revoked indicator is record {revoked_id}: {}",
        revoked[0]
    );

    let (summary, misp) = export(&node, "misp", &[]);
    assert_eq!(common::int(&summary["exported"]), all, "{summary}");
    let (items, skipped, errors) = tally(formats::misp::read(open(&misp), Default::default()));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        (items as u64, skipped),
        (all - 1, 1),
        "the revoked one is deleted"
    );

    let (summary, csv) = export(&node, "csv", &[]);
    assert_eq!(common::int(&summary["exported"]), all - 1, "{summary}");
    assert_eq!(common::int(&summary["skipped"]), 1, "{summary}");
    let (items, skipped, errors) = tally(formats::csv::read(open(&csv)));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!((items as u64, skipped), (all - 1, 0));

    // Filters: --max-tlp client side, --kind on the server.
    let (summary, _) = export(&node, "csv", &["--force", "--max-tlp", "green"]);
    assert_eq!(common::int(&summary["filtered"]), 1, "{summary}");
    assert_eq!(common::int(&summary["exported"]), all - 2, "{summary}");
    let (summary, _) = export(&node, "csv", &["--force", "--kind", "phone"]);
    assert_eq!(common::int(&summary["exported"]), 2, "{summary}");
}

#[test]
fn export_never_replaces_a_file_without_force_nor_leaves_a_partial_one() {
    let (node, _) = node_with_records();
    let (_, stix) = export(&node, "stix", &[]);
    let before = std::fs::read(&stix).expect("export");

    // Same node, same filters: the same bytes (deterministic ids and times).
    std::fs::write(&stix, b"precious").expect("overwrite");
    let refused = node.cli(&[
        "export",
        "--format",
        "stix",
        "--out",
        stix.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--out") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&stix).unwrap(), b"precious");
    export(&node, "stix", &["--force"]);
    assert_eq!(
        std::fs::read(&stix).unwrap(),
        before,
        "re-export is byte-identical"
    );

    // A bad flag fails before anything is written, and no temporary file stays.
    let target = node.tmp.path().join("x.json");
    let target_arg = target.to_str().unwrap();
    let bad = node.cli(&[
        "export", "--format", "stix", "--out", target_arg, "--kind", "nope",
    ]);
    assert!(!bad.status.success());
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(node.tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".liaison-export-")
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn stix_export_passes_the_oasis_validator_and_pymisp_loads_the_misp_export() {
    let python = python();
    let (node, _) = node_with_records();
    let (_, stix) = export(&node, "stix", &[]);
    let (_, misp) = export(&node, "misp", &[]);

    let run = run_python(python, &["-c", VALIDATE_STIX, stix.to_str().unwrap()]);
    assert!(
        run.success && run.stdout.trim_end().ends_with("VALID"),
        "the OASIS validator rejects the STIX export:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    println!("stix2-validator: {}", run.stdout.lines().count() - 1);

    let run = run_python(python, &["-c", LOAD_MISP, misp.to_str().unwrap()]);
    assert!(
        run.success,
        "PyMISP cannot load the MISP export:\n{}",
        run.stderr
    );
    assert_eq!(
        run.stdout.trim(),
        (RECORDS.len() + 1).to_string(),
        "{}",
        run.stderr
    );
}

/// The OASIS validator, with any schema fetch over the network made an error
/// (the checks must run offline). Prints the results, then VALID or INVALID.
const VALIDATE_STIX: &str = r#"
import sys, requests
def no_network(*args, **kwargs):
    raise RuntimeError("stix2-validator tried to fetch %r" % (args,))
requests.get = no_network
from stix2validator import validate_file, print_results, ValidationOptions
results = validate_file(sys.argv[1], ValidationOptions(strict=False))
print_results(results)
print("VALID" if results.is_valid else "INVALID")
"#;

const LOAD_MISP: &str = r#"
import sys
from pymisp import MISPEvent
e = MISPEvent()
e.load_file(sys.argv[1])
print(len(e.attributes))
"#;

fn run_python(python: &str, args: &[&str]) -> Run {
    try_python(python, args).unwrap_or_else(|e| panic!("{e}"))
}

fn try_python(python: &str, args: &[&str]) -> Result<Run, String> {
    common::python::run_python(python, args, PYTHON_TIMEOUT)
}
