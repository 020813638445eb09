//! Cost curves against the number of records held: for each N, a node is
//! preloaded with N signed records and a second node syncs them from it, both
//! as separate `liaison run` processes, so each one's peak memory (VmHWM, read
//! from /proc) is its own. Measured at each N: the sync rate, search latency at
//! the receiving node, its bytes on disk per record against the envelope bytes,
//! and its peak RSS.
//!
//! Nothing is asserted here: figures go to the report.

use std::path::Path;

use anyhow::Result;

use super::measure::{search_latency, wait_received};
use super::report::{CurvePoint, Report};
use super::{ms, phone, preload, rate, Sizes};
use crate::lab::{peak_rss_kb, LabNode};
use liaison_identity::identity::NodeDir;

pub(super) async fn run(root: &Path, sizes: &Sizes, report: &mut Report) -> Result<()> {
    if !sizes.curve.is_empty() {
        out!("\nCost against records held (each node a separate process)");
        out!("  records    sync /s   search p50 ms  p99 ms   disk B/rec  envelope B/rec  peak RSS MB (receiver)");
    }
    for &n in &sizes.curve {
        let point = one(root, n.max(1), sizes).await?;
        out!(
            "  {:>9} {:>9.0} {:>12.3} {:>8.3} {:>12.0} {:>15.0} {:>10}",
            point.records,
            point.sync_records_per_second,
            point.search_p50_ms,
            point.search_p99_ms,
            point.disk_bytes_per_record,
            point.envelope_bytes_per_record,
            point
                .node_peak_rss_mb
                .map_or("-".to_string(), |m| format!("{m:.0}"))
        );
        add_point(report, &point);
        report.curve.push(point);
    }
    Ok(())
}

/// One point's figures under their stable keys (`curve.N.…`, issue 26).
pub(super) fn add_point(report: &mut Report, point: &CurvePoint) {
    let key = format!("curve.{}", point.records);
    report.add(
        &format!("{key}.sync_records_per_second"),
        point.sync_records_per_second,
        "records/s",
        "process to process",
    );
    report.add(
        &format!("{key}.sync_ratio_to_batch_verify"),
        point.sync_ratio_to_batch_verify,
        "ratio",
        "against one-core batch verify measured around it",
    );
    report.add(
        &format!("{key}.search_p99_ms"),
        point.search_p99_ms,
        "ms",
        "at the receiving node",
    );
    report.add(
        &format!("{key}.disk_bytes_per_record"),
        point.disk_bytes_per_record,
        "bytes",
        "receiving node",
    );
    report.add(
        &format!("{key}.envelope_bytes_per_record"),
        point.envelope_bytes_per_record,
        "bytes",
        "signed envelope as on the wire",
    );
    report.add(
        &format!("{key}.disk_ratio_to_envelope"),
        point.disk_bytes_per_record / point.envelope_bytes_per_record,
        "ratio",
        "goal <= 2",
    );
    if let Some(p99) = point.settled_search_p99_ms {
        out!(
            "            search {:.0} s later: p50 {:.3} ms, p99 {p99:.3} ms",
            SETTLE.as_secs(),
            point.settled_search_p50_ms.unwrap_or(0.0)
        );
        report.add(
            &format!("{key}.settled_search_p99_ms"),
            p99,
            "ms",
            "at the receiving node, measured again 30 s after the sync",
        );
    }
    if let Some(rss) = point.node_peak_rss_mb {
        report.add(
            &format!("{key}.node_peak_rss_mb"),
            rss,
            "MB",
            "receiving node VmHWM; goal < 300 at 1M",
        );
    }
}

/// A node directory for the curve, with the run's page cache if one was given.
fn create(here: &Path, name: &str, sizes: &Sizes) -> Result<NodeDir> {
    LabNode::create_with(here, name, |config| {
        if let Some(mb) = sizes.curve_cache_mb {
            config.node.cache_mb = mb;
        }
    })
}

/// Points this large are also measured after [`SETTLE`].
const SETTLE_FROM_RECORDS: u64 = 100_000;
const SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

async fn one(root: &Path, n: u64, sizes: &Sizes) -> Result<CurvePoint> {
    let samples = sizes.samples;
    let here = root.join(format!("curve-{n}"));
    std::fs::create_dir_all(&here)?;
    let dir = create(&here, "Source (example)", sizes)?;
    let envelope_bytes = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || preload::preload(&dir, n, phone)
    })
    .await??;
    let a = LabNode::spawn(dir).await?;
    let b = LabNode::spawn(create(&here, "Receiver (example)", sizes)?).await?;
    // Measured before the partners are enrolled: the sync starts with that.
    let before = tokio::task::spawn_blocking(super::rates::batch_verify_rate).await?;
    a.enroll(&b, "green", false).await?;
    b.enroll(&a, "green", false).await?;
    let took = wait_received(&b, &a, n).await?;
    let after = tokio::task::spawn_blocking(super::rates::batch_verify_rate).await?;
    let search = search_latency(&b, n, samples).await?;
    // Right after a large sync the receiver still digests it (sled's segment
    // cleaning); an analyst's search usually meets a node at rest, so large
    // points are measured again once it has had time to settle.
    let settled = if n >= SETTLE_FROM_RECORDS {
        tokio::time::sleep(SETTLE).await;
        Some(search_latency(&b, n, samples).await?)
    } else {
        None
    };
    let disk = b.database_bytes() as f64 / n as f64;
    let rss = b.pid().and_then(peak_rss_kb).map(|kb| kb as f64 / 1024.0);
    a.stop().await?;
    b.stop().await?;
    // A million records take gigabytes: free them before the next size.
    let _ = std::fs::remove_dir_all(&here);
    Ok(CurvePoint {
        records: n,
        sync_records_per_second: rate(n, took),
        sync_ratio_to_batch_verify: rate(n, took) / ((before + after) / 2.0),
        search_p50_ms: ms(search.p50),
        search_p99_ms: ms(search.p99),
        settled_search_p50_ms: settled.as_ref().map(|s| ms(s.p50)),
        settled_search_p99_ms: settled.as_ref().map(|s| ms(s.p99)),
        disk_bytes_per_record: disk,
        envelope_bytes_per_record: envelope_bytes as f64 / n as f64,
        node_peak_rss_mb: rss,
    })
}
