//! The bulk-import stage of `liaison bench`: a node (its own `liaison run`
//! process) imports a CSV of fictional domains through `liaison import` (this
//! executable, another process), as an operator would; the rate is reported as
//! a ratio to the one-core sign rate of the same run, with both processes'
//! peak memory. The figures' keys are set in [`add`] only.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::report::Report;
use super::{rate, rates};
use crate::lab::{peak_rss_kb, LabNode};

/// What one import measured.
pub(super) struct ImportFigures {
    pub rows: u64,
    pub rows_per_second: f64,
    pub importer_peak_rss_mb: Option<f64>,
    pub node_peak_rss_mb: Option<f64>,
}

pub(super) async fn run(
    root: &Path,
    rows: u64,
    sig: &rates::SignatureRates,
    report: &mut Report,
) -> Result<()> {
    let here = root.join("import");
    std::fs::create_dir_all(&here)?;
    let csv = here.join("rows.csv");
    write_csv(&csv, rows)?;
    let node = LabNode::spawn(LabNode::create(&here, "Bench Import (example)")?).await?;
    let exe = std::env::current_exe().context("bench: the liaison executable")?;
    let started = Instant::now();
    let mut importer = tokio::process::Command::new(exe)
        .arg("--dir")
        .arg(&node.dir.root)
        .args(["import", "--json"])
        .arg(&csv)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("starting liaison import")?;
    // VmHWM only grows: the last reading before the importer exits is its peak.
    let mut importer_kb = None;
    let status = loop {
        if let Some(pid) = importer.id() {
            importer_kb = peak_rss_kb(pid).or(importer_kb);
        }
        tokio::select! {
            status = importer.wait() => break status?,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    };
    let took = started.elapsed();
    if !status.success() {
        bail!("liaison import of {rows} rows failed ({status})");
    }
    let stored = node.records().await?;
    if stored != rows {
        bail!("liaison import stored {stored} of {rows} rows");
    }
    let figures = ImportFigures {
        rows,
        rows_per_second: rate(rows, took),
        importer_peak_rss_mb: importer_kb.map(|kb| kb as f64 / 1024.0),
        node_peak_rss_mb: node
            .pid()
            .and_then(peak_rss_kb)
            .map(|kb| kb as f64 / 1024.0),
    };
    node.stop().await?;
    let _ = std::fs::remove_dir_all(&here);
    out!("\nBulk import of {rows} CSV rows (liaison import -> node, separate processes)");
    out!(
        "  {:.0} rows/s   = {:.3} of the sign rate",
        figures.rows_per_second,
        figures.rows_per_second / sig.sign
    );
    let shown = |mb: Option<f64>| mb.map_or("-".to_string(), |m| format!("{m:.0}"));
    out!(
        "  peak RSS: importer {} MB, node {} MB",
        shown(figures.importer_peak_rss_mb),
        shown(figures.node_peak_rss_mb)
    );
    add(report, &figures, sig.sign);
    Ok(())
}

/// The import's figures under their stable keys (issue 26).
pub(super) fn add(report: &mut Report, figures: &ImportFigures, sign_per_second: f64) {
    report.add(
        "import.rows",
        figures.rows as f64,
        "rows",
        "CSV rows imported",
    );
    report.add(
        "import.rows_per_second",
        figures.rows_per_second,
        "rows/s",
        "liaison import to a node process, durable before each answer",
    );
    report.add(
        "import.ratio_to_sign",
        figures.rows_per_second / sign_per_second,
        "ratio",
        "against one-core Ed25519 sign; goal >= 0.5",
    );
    if let Some(mb) = figures.importer_peak_rss_mb {
        report.add("import.importer_peak_rss_mb", mb, "MB", "goal < 300");
    }
    if let Some(mb) = figures.node_peak_rss_mb {
        report.add("import.node_peak_rss_mb", mb, "MB", "goal < 300");
    }
}

/// A CSV of distinct fictional advert domains (as scripts/bench-import.sh).
fn write_csv(path: &Path, rows: u64) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "kind,value,labels,tlp,evaluation,description")?;
    for i in 0..rows {
        writeln!(
            out,
            "domain,recruit-{i}.example.org,scam-centre,amber,B2,fictional advert domain {i}"
        )?;
    }
    out.flush()?;
    Ok(())
}
