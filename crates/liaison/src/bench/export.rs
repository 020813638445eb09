//! `liaison bench --export-records N`: the time and peak memory of
//! `liaison export --format stix` over N records.
//!
//! The node is filled with [`super::preload`] (real records signed with its own
//! key), served on loopback, and exported by a separate `liaison export` process
//! (this executable), so the peak RSS measured is the exporter's alone, read from
//! /proc (Linux) while it runs. Never asserts a figure; it prints them.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{preload::preloaded_lab, rate};
use crate::lab::{peak_rss_kb, LabNode};

/// How often the exporter's peak RSS is sampled (it only grows, so the last
/// sample before exit is within one interval of the true peak).
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

pub async fn run(records: u64) -> Result<()> {
    if records == 0 {
        bail!("--export-records: must be at least 1");
    }
    out!("liaison bench: export of {records} records to STIX");
    let (root, dir) = preloaded_lab("liaison-bench-export-", records).await?;
    let node = LabNode::serve(dir).await?;
    let out = root.path().join("export.stix.json");
    let dir_path = node.dir.root.clone();
    let measured = tokio::task::spawn_blocking({
        let out = out.clone();
        move || export_process(&dir_path, &out)
    })
    .await??;
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    out!("  exported              {:>10} records", measured.exported);
    out!(
        "  time                  {:>10.1} s   ({:.0} records/s)",
        measured.took.as_secs_f64(),
        rate(measured.exported, measured.took)
    );
    match measured.peak_rss_kb {
        Some(kb) => out!("  peak RSS (exporter)   {:>10.1} MB", kb as f64 / 1024.0),
        None => out!("  peak RSS (exporter)   unavailable (no /proc)"),
    }
    out!("  file                  {:>10.1} MB", bytes as f64 / 1e6);
    node.stop().await?;
    Ok(())
}

struct Measured {
    exported: u64,
    took: Duration,
    peak_rss_kb: Option<u64>,
}

/// Runs `liaison --dir DIR export --format stix --out OUT --json`, sampling its RSS.
fn export_process(dir: &Path, out: &Path) -> Result<Measured> {
    let exe = std::env::current_exe().context("bench: the liaison executable")?;
    let stdout = out.with_extension("summary");
    let started = Instant::now();
    let mut child = Command::new(exe)
        .arg("--dir")
        .arg(dir)
        .args(["export", "--format", "stix", "--json", "--out"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout)?)
        .stderr(Stdio::inherit())
        .spawn()
        .context("bench: starting liaison export")?;
    let mut peak = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak = peak_rss_kb(child.id()).or(peak);
        std::thread::sleep(SAMPLE_EVERY);
    };
    let took = started.elapsed();
    if !status.success() {
        bail!("bench: liaison export failed ({status})");
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&stdout)?)
        .context("bench: liaison export --json output")?;
    Ok(Measured {
        // The proto3 JSON mapping prints a uint64 as a string ("300").
        exported: summary["exported"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .or_else(|| summary["exported"].as_u64())
            .context("bench: liaison export --json gave no exported count")?,
        took,
        peak_rss_kb: peak,
    })
}
