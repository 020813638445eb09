//! The command line for admins and scripts, against real nodes: node ids as
//! the 16-hex prefix `partner list` prints, `partner add --expect-fingerprint`,
//! and log output fit for files and log shippers (no ANSI colour, JSON lines).

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestNode, BIN};

#[test]
fn partner_commands_take_the_short_id_that_partner_list_prints() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    let b_id = b.node_id();
    let listed = a.cli_ok(&["partner", "list"]);
    let short = &b_id[..16];
    assert!(listed.contains(short), "{listed}");

    let origin = a.cli_json(&["list", "--origin", &b_id[..8]]);
    assert_eq!(origin["records"].as_array().map(Vec::len), Some(0));
    let too_short = a.cli(&["partner", "revoke", &b_id[..7]]);
    assert!(!too_short.status.success());
    assert!(String::from_utf8_lossy(&too_short.stderr).contains("node_id:"));
    let unknown = a.cli(&["partner", "revoke", "00000000"]);
    assert!(!unknown.status.success());

    let revoked = a.cli_ok(&["partner", "revoke", short]);
    assert!(revoked.contains(&b_id), "the full id is echoed: {revoked}");
    let after = a.cli_json(&["partner", "list"]);
    assert_eq!(
        after["partners"].as_array().map(Vec::len),
        Some(0),
        "{after}"
    );
}

#[test]
fn expect_fingerprint_enrolls_on_a_match_and_refuses_a_mismatch() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    a.start();
    b.start();
    let bundle = b.export_bundle();
    let path = bundle.to_str().expect("path");
    let wrong = a.cli(&[
        "partner",
        "add",
        path,
        "--max-tlp",
        "green",
        "--expect-fingerprint",
        "12345 67890",
    ]);
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("--expect-fingerprint:"), "{stderr}");
    assert_eq!(
        a.cli_json(&["partner", "list"])["partners"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );

    let identity = b.cli_json(&["identity", "show"]);
    let fingerprint = identity["fingerprint"].as_str().expect("fingerprint");
    let typed = fingerprint.replace(' ', ":");
    a.cli_ok(&[
        "partner",
        "add",
        path,
        "--max-tlp",
        "GREEN",
        "--expect-fingerprint",
        &typed,
    ]);
    assert_eq!(
        a.cli_json(&["partner", "list"])["partners"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

/// Starts `liaison run` with stderr into a file and extra arguments; returns
/// the log once the node served and stopped.
fn run_and_collect_log(node: &TestNode, args: &[&str]) -> String {
    let log_path = node.tmp.path().join("extra.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let address_file = node.node_dir().bound_address();
    let mut child = Command::new(BIN)
        .args(["run", "--dir"])
        .arg(node.dir())
        .args(args)
        .env("LIAISON_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn liaison run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !address_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("wait");
    let text = std::fs::read_to_string(&log_path).expect("read log");
    assert!(status.success(), "run failed:\n{text}");
    text
}

#[test]
fn logs_into_a_file_carry_no_colour_and_json_lines_parse() {
    let node = TestNode::init("Agency A (example)");
    let text = run_and_collect_log(&node, &[]);
    assert!(text.contains("node serving"), "{text}");
    assert!(
        !text.contains("\x1b["),
        "ANSI escape in a log file:\n{text:?}"
    );

    let json = run_and_collect_log(&node, &["--log-format", "json"]);
    let lines: Vec<&str> = json.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            value["level"].is_string() && value["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(json.contains("node serving"));
    assert!(!json.contains("\x1b["));
}
