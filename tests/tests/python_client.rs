//! The Python example client (examples/python/liaison_client.py) against a real node:
//! health, publish and search over mTLS with an issued analyst certificate, and a
//! certificate from another node's CA refused.
//!
//! Needs a Python with grpcio and grpcio-tools (examples/python/requirements.txt):
//! `common::python` provides it (`LIAISON_PYTHON`, or a venv it makes) or fails
//! the test saying how to provide one; these tests never skip.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::python::{python, Run};
use common::TestNode;

/// How long one run of the Python client may take before it is killed.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run_python(python: &str, args: &[&str]) -> Result<Run, String> {
    common::python::run_python(python, args, PYTHON_TIMEOUT)
}

/// Runs the example client against `node` with the certificates in `folder`.
/// The script generates its stubs from the repository's proto/ into a temporary
/// directory of its own.
fn client(python: &str, node: &TestNode, folder: &Path, args: &[&str]) -> Run {
    let script = repo_root().join("examples/python/liaison_client.py");
    let proto = repo_root().join("proto");
    let address = node.address();
    let paths = [
        folder.join("client.crt"),
        folder.join("client.key"),
        folder.join("node.crt"),
    ];
    let mut all: Vec<&str> = vec![
        script.to_str().expect("utf-8 path"),
        "--proto-dir",
        proto.to_str().expect("utf-8 path"),
        "--address",
        &address,
        "--cert",
        paths[0].to_str().expect("utf-8 path"),
        "--key",
        paths[1].to_str().expect("utf-8 path"),
        "--node-cert",
        paths[2].to_str().expect("utf-8 path"),
    ];
    all.extend_from_slice(args);
    run_python(python, &all).unwrap_or_else(|e| panic!("{e}"))
}

fn client_json(python: &str, node: &TestNode, folder: &Path, args: &[&str]) -> serde_json::Value {
    let run = client(python, node, folder, args);
    assert!(
        run.success,
        "liaison_client.py {args:?} failed:\n{}\n{}\nnode log:\n{}",
        run.stdout,
        run.stderr,
        node.log()
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "liaison_client.py {args:?}: not JSON ({e}):\n{}",
            run.stdout
        )
    })
}

#[test]
fn python_client_publishes_and_searches_over_mtls() {
    let python = python();
    let mut node = TestNode::init("Agency Python (example)");
    node.start();
    let analyst = node.issue("Analyst Example", "analyst");

    let health = client_json(python, &node, &analyst, &["health"]);
    assert_eq!(health["status"], "SERVING", "{health}");

    // National format: the node's country (GB, from the harness's init) applies.
    let published = client_json(
        python,
        &node,
        &analyst,
        &[
            "publish",
            "--kind",
            "phone",
            "--value",
            "07700 900456",
            "--tlp",
            "green",
            "--label",
            "scam-centre",
            "--evaluation",
            "B2",
        ],
    );
    let id = published["recordId"]
        .as_str()
        .expect("record_id")
        .to_string();
    assert_eq!(id.len(), 64, "hex SHA-256 record id: {published}");
    assert_eq!(published["normalizedValue"], "+447700900456");

    // Searched in another written form, it is the same number.
    let found = client_json(python, &node, &analyst, &["search", "+44 7700 900456"]);
    let records = found["records"].as_array().expect("records");
    let ids: Vec<&str> = records
        .iter()
        .filter_map(|r| r["recordId"].as_str())
        .collect();
    assert!(ids.contains(&id.as_str()), "{id} not in {found}");
    let record = records
        .iter()
        .find(|r| r["recordId"] == id.as_str())
        .expect("record");
    assert_eq!(record["indicator"]["kind"], "INDICATOR_KIND_PHONE");
    assert_eq!(record["indicator"]["tlp"], "TLP_GREEN");
    assert_eq!(record["indicator"]["labels"][0], "scam-centre");
    // The node's own CLI sees the record the Python client published.
    assert_eq!(node.search_ids("+447700900456"), vec![id.clone()]);

    // Bulk: one result per item; the number above is found as already present.
    let lines = node.tmp.path().join("items.jsonl");
    std::fs::write(
        &lines,
        concat!(
            r#"{"kind": "phone", "value": "+44 7700 900456", "tlp": "green", "labels": ["scam-centre"], "evaluation": "B2"}"#,
            "\n",
            r#"{"kind": "domain", "value": "Recruit.Example.org", "tlp": "amber"}"#,
            "\n",
            r#"{"kind": "phone", "value": "not a number", "tlp": "green"}"#,
            "\n",
        ),
    )
    .expect("write items");
    let batch = client_json(
        python,
        &node,
        &analyst,
        &[
            "publish-batch",
            lines.to_str().expect("path"),
            "--chunk",
            "2",
        ],
    );
    assert_eq!(batch["published"], 1, "{batch}");
    assert_eq!(batch["alreadyPresent"], 1, "{batch}");
    assert_eq!(batch["rejected"], 1, "{batch}");
    assert_eq!(batch["results"][0]["recordId"], id.as_str());
    assert_eq!(batch["results"][2]["errorField"], "value");

    // A value the node refuses: the status code and message go to stderr, exit 1.
    let refused = client(
        python,
        &node,
        &analyst,
        &["publish", "--kind", "phone", "--value", "hello world"],
    );
    assert!(!refused.success, "accepted an invalid phone number");
    assert!(
        refused.stderr.contains("INVALID_ARGUMENT"),
        "stderr: {}",
        refused.stderr
    );
    assert!(
        refused.stdout.trim().is_empty(),
        "stdout: {}",
        refused.stdout
    );
    node.stop();
}

#[test]
fn python_client_with_another_nodes_certificate_is_refused() {
    let python = python();
    let mut node = TestNode::init("Agency Python Pinned (example)");
    node.start();
    let own = node.issue("Analyst Example", "analyst");
    // Another agency's CA issues a certificate; it is never started.
    let other = TestNode::init("Agency Elsewhere (example)");
    let foreign = other.issue("Analyst Elsewhere", "analyst");
    // The foreign client certificate and key, with our node's certificate as the root,
    // so that only the client certificate is wrong.
    let mixed = other.tmp.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    for (from, name) in [
        (&foreign, "client.crt"),
        (&foreign, "client.key"),
        (&own, "node.crt"),
    ] {
        std::fs::copy(from.join(name), mixed.join(name)).unwrap();
    }

    let run = client(python, &node, &mixed, &["search", "+44 7700 900456"]);
    assert!(!run.success, "a foreign CA's certificate was accepted");
    assert!(run.stdout.trim().is_empty(), "stdout: {}", run.stdout);
    assert!(run.stderr.contains("error: "), "stderr: {}", run.stderr);

    // As issued by the other node (its node.crt as the root): neither side accepts.
    let run = client(python, &node, &foreign, &["health"]);
    assert!(!run.success, "connected with the other node's certificates");

    // The same client with its own node's certificate still works.
    let health = client_json(python, &node, &own, &["health"]);
    assert_eq!(health["status"], "SERVING");
    node.stop();
}
