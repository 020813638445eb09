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

use super::{phone, preload::preload, rate};
use crate::lab::{peak_rss_kb, LabNode};

/// How often the exporter's peak RSS is sampled (it only grows, so the last
/// sample before exit is within one interval of the true peak).
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

pub async fn run(records: u64) -> Result<()> {
    if records == 0 {
        bail!("--export-records: must be at least 1");
    }
    let root = tempfile::Builder::new()
        .prefix("liaison-bench-export-")
        .tempdir()?;
    out!("liaison bench: export of {records} records to STIX");
    let dir = LabNode::create(root.path(), "Bench-A (example)")?;
    let started = Instant::now();
    tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || preload(&dir, records, phone)
    })
    .await??;
    out!(
        "  preload               {:>10.1} s",
        started.elapsed().as_secs_f64()
    );
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
        exported: summary["exported"].as_u64().unwrap_or(0),
        took,
        peak_rss_kb: peak,
    })
}
