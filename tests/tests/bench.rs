//! `liaison bench` smoke tests: the quick bench on tiny sizes writes its JSON,
//! Markdown and plots with every key, and a small federation of node processes
//! (killed and restarted mid-stream) loses no record. Figures are not asserted.

use crate::common;

use std::process::Command;

use common::BIN;

fn run_bench(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN)
        .arg("bench")
        .args(args)
        .output()
        .expect("run liaison bench");
    assert!(
        out.status.success(),
        "liaison bench {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn quick_bench_on_tiny_sizes_writes_json_markdown_and_plots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    run_bench(&["--quick", "--tiny", "--out", out.to_str().expect("utf-8")]);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bench.json")).expect("bench.json"))
            .expect("valid JSON");
    for key in [
        "ed25519.batch_verify_per_second",
        "publish.one_client_per_second",
        "publish.one_client.ratio_to_sign",
        "search.p99_ms",
        "sync.records_per_second",
        "sync.ratio_to_batch_verify",
        "propagation.a_b_c.p50_ms",
        "federated_search.p99_ms",
        "correlation.p99_ms",
        "curve.1000.disk_ratio_to_envelope",
        "sync.relayed.ratio_to_batch_verify",
        "import.ratio_to_sign",
        "lookup.first_of_epoch_ms",
    ] {
        let figure = &json["figures"][key];
        assert!(figure["value"].is_number(), "{key}: {figure}");
        assert!(figure["unit"].is_string(), "{key}: {figure}");
    }
    assert_eq!(json["curve"].as_array().map(Vec::len), Some(2));
    let md = std::fs::read_to_string(out.join("bench.md")).expect("bench.md");
    assert!(md.contains("sync.ratio_to_batch_verify"));
    for plot in [
        "throughput-vs-records.svg",
        "latency-vs-records.svg",
        "propagation-cdf.svg",
    ] {
        let svg = std::fs::read_to_string(out.join(plot)).expect(plot);
        assert!(svg.contains("<svg") && svg.contains("polyline"), "{plot}");
    }
}

#[test]
fn a_small_federation_with_churn_loses_no_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("fed");
    run_bench(&[
        "federation",
        "--nodes",
        "6",
        "--depth",
        "3",
        "--records",
        "200",
        "--churn",
        "2",
        "--samples",
        "5",
        "--timeout",
        "120",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("federation.json")).expect("federation.json"),
    )
    .expect("valid JSON");
    assert_eq!(json["records_lost"], 0, "{json}");
    assert_eq!(json["churn"]["records_lost"], 0, "{json}");
    assert!(json["convergence_seconds"].as_f64().is_some(), "{json}");
    assert!(out.join("federation-convergence.svg").exists());
}
