//! `liaison bench --lookup-values N`: private lookups (docs/PRIVATE_LOOKUP.md).
//! Filter build time and size at N values, OPRF evaluation rate, the measured
//! false-positive rate against the filter's theory, and lookup latency p50/p99
//! across three partners on loopback (real nodes, the real API).

use std::time::Instant;

use anyhow::{bail, Result};
use sha2::{Digest, Sha256};
use xorf::{BinaryFuse16, Filter as _};

use super::measure::wait_received;
use super::{ms, percentiles, phone, preload};
use crate::lab::LabNode;
use liaison_core::indicator::{Kind, Normalized};
use liaison_node::lookup::filter::LookupFilter;
use liaison_node::lookup::oprf;

/// Keys shaped like filter keys (uniform 64-bit), for the filter measurements:
/// F's outputs are pseudo-random, and evaluating F a million times would
/// measure the OPRF, which is measured on its own below.
fn keys(n: u64, salt: u8) -> Vec<u64> {
    (0..n)
        .map(|i| {
            let mut h = Sha256::new();
            h.update([salt]);
            h.update(i.to_le_bytes());
            oprf::filter_key(&h.finalize())
        })
        .collect()
}

/// Filter build, size, F rate and false positives; no network.
fn filter_figures(n: u64, probes: u64) -> Result<()> {
    let set = keys(n, 1);
    let started = Instant::now();
    let filter = LookupFilter::build(set.clone())?;
    let build = started.elapsed();
    let bytes = filter.to_bytes();
    out!("\nPrivate lookup filter (BinaryFuse32) at {n} values");
    out!("  build                 {:>10.1} ms", ms(build));
    out!(
        "  size                  {:>10.2} MB ({:.1} bits/value)",
        bytes.len() as f64 / 1e6,
        bytes.len() as f64 * 8.0 / n as f64
    );
    let started = Instant::now();
    let decoded = LookupFilter::from_bytes(&bytes)?;
    out!("  decode + check        {:>10.1} ms", ms(started.elapsed()));
    if !set.iter().all(|k| decoded.contains(*k)) {
        bail!("false negative in the lookup filter");
    }
    let outside = keys(probes, 2);
    let false_hits = outside.iter().filter(|k| decoded.contains(**k)).count();
    out!(
        "  false positives       {false_hits} in {probes} probes (theory 2^-32: {:.4} expected)",
        probes as f64 / 2f64.powi(32)
    );
    // The rejected alternative, to check the theory on a rate one can observe.
    let small = BinaryFuse16::try_from(&set).map_err(|e| anyhow::anyhow!(e))?;
    let false_hits16 = outside.iter().filter(|k| small.contains(k)).count();
    out!(
        "  BinaryFuse16 (not used): {:.2} MB, {:.3e} measured vs {:.3e} theory (2^-16)",
        (small.len() * 2) as f64 / 1e6,
        false_hits16 as f64 / probes as f64,
        1.0 / 65536.0
    );
    let server = voprf::VoprfServer::<voprf::Ristretto255>::new_from_seed(&[5; 32], b"bench")
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    const F: u64 = 5_000;
    let started = Instant::now();
    for i in 0..F {
        let value = Normalized {
            kind: Kind::Phone,
            value: phone(i),
            outside_known_ranges: false,
        };
        oprf::evaluate_own(&server, &oprf::input(&value))?;
    }
    let per = started.elapsed() / F as u32;
    out!(
        "  F per value (one core) {:>9.1} µs → first build at {n} values ≈ {:.1} s",
        per.as_secs_f64() * 1e6,
        per.as_secs_f64() * n as f64
    );
    Ok(())
}

/// Serves a preloaded node; sled may release the preload's file lock a moment
/// after the store is dropped, so opening is retried for a few seconds.
async fn serve(dir: liaison_identity::identity::NodeDir) -> Result<LabNode> {
    let mut tries = 0;
    loop {
        match LabNode::serve(dir.clone()).await {
            Ok(node) => return Ok(node),
            Err(e) if tries < 40 && format!("{e:#}").contains("lock") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits until `node`'s doctor says its lookup filter for this epoch is ready.
async fn wait_filter_ready(node: &LabNode) -> Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let report = node
            .client
            .admin()
            .doctor(liaison_core::proto::DoctorRequest {})
            .await?
            .into_inner();
        let ready = report
            .checks
            .iter()
            .any(|c| c.check == "lookup filter" && c.verdict == "ok");
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{}: lookup filter not ready after 600 s", node.name);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// What the lookup latency measurement found.
pub(super) struct LookupFigures {
    pub partner_values: u64,
    /// Seconds from the hub holding every record to every partner's filter ready.
    pub filters_ready_s: f64,
    pub first_of_epoch_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The lookup figures under their stable keys (issue 26).
pub(super) fn add(report: &mut super::report::Report, figures: &LookupFigures) {
    report.add(
        "lookup.partner_values",
        figures.partner_values as f64,
        "values",
        "held by each of three partners",
    );
    report.add(
        "lookup.filters_ready_s",
        figures.filters_ready_s,
        "s",
        "partners' filters built in the background after the sync",
    );
    report.add(
        "lookup.first_of_epoch_ms",
        figures.first_of_epoch_ms,
        "ms",
        "first private lookup of the epoch across three partners",
    );
    report.add("lookup.p50_ms", figures.p50_ms, "ms", "three partners");
    report.add("lookup.p99_ms", figures.p99_ms, "ms", "three partners");
}

/// The private-lookup stage of the full bench: latency only (the filter
/// figures are `--lookup-values`'s).
pub(super) async fn stage(
    root: &std::path::Path,
    records: u64,
    samples: usize,
    report: &mut super::report::Report,
) -> Result<()> {
    let here = root.join("lookup");
    std::fs::create_dir_all(&here)?;
    let figures = latency(&here, records.max(1_000), samples.max(10)).await?;
    add(report, &figures);
    let _ = std::fs::remove_dir_all(&here);
    Ok(())
}

/// A hub looks values up at three partners holding `records` each.
async fn latency(root: &std::path::Path, records: u64, samples: usize) -> Result<LookupFigures> {
    let hub = LabNode::start(root, "Hub (example)").await?;
    let mut partners = Vec::new();
    for name in ["P1 (example)", "P2 (example)", "P3 (example)"] {
        let dir = LabNode::create(root, name)?;
        tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || preload::preload(&dir, records, phone)
        })
        .await??;
        let partner = serve(dir).await?;
        hub.enroll(&partner, "green", false).await?;
        partner.enroll(&hub, "green", false).await?;
        partners.push(partner);
    }
    for partner in &partners {
        wait_received(&hub, partner, records).await?;
    }
    // The partners' filters for this epoch, built in the background (issue 26):
    // the first lookup of an epoch finds them ready, as when the node ran
    // through the turn.
    let building = Instant::now();
    for partner in &partners {
        wait_filter_ready(partner).await?;
    }
    let filters_ready_s = building.elapsed().as_secs_f64();
    out!("\n  partners' filters ready {filters_ready_s:.1} s after the hub received every record");
    let mut analyst = hub.client.analyst();
    let ask = |i: u64| liaison_core::proto::LookupRequest {
        value: phone(i),
        kind: i32::from(Kind::Phone.code()),
        default_country: String::new(),
    };
    let started = Instant::now();
    let first_answer = analyst.lookup(ask(0)).await?.into_inner();
    let first = started.elapsed();
    let first_answered = first_answer
        .partners
        .iter()
        .filter(|p| p.status == "answered")
        .count();
    let mut times = Vec::with_capacity(samples);
    let mut hits = 0;
    for i in 0..samples as u64 {
        // Half held by every partner, half by none.
        let value = if i % 2 == 0 {
            (i * 7919) % records
        } else {
            records + i
        };
        let started = Instant::now();
        let answer = analyst.lookup(ask(value)).await?.into_inner();
        times.push(started.elapsed());
        hits += answer.partners.iter().filter(|p| p.hit).count();
        if answer.partners.iter().any(|p| p.status != "answered") {
            bail!("a partner did not answer: {:?}", answer.partners);
        }
    }
    let expected = samples.div_ceil(2) * 3;
    let p = percentiles(times);
    out!("\nPrivate lookup across 3 partners ({records} values each, {samples} lookups)");
    out!(
        "  first of the epoch    {:>10.1} ms ({first_answered} of 3 partners answered)",
        ms(first)
    );
    out!("  p50                   {:>10.2} ms", ms(p.p50));
    out!("  p99                   {:>10.2} ms", ms(p.p99));
    out!("  hits                  {hits} (expected {expected})");
    hub.stop().await?;
    for partner in partners {
        partner.stop().await?;
    }
    Ok(LookupFigures {
        partner_values: records,
        filters_ready_s,
        first_of_epoch_ms: ms(first),
        p50_ms: ms(p.p50),
        p99_ms: ms(p.p99),
    })
}

pub(super) async fn run(values: u64, partner_records: u64, samples: usize) -> Result<()> {
    if values < 1_000 {
        bail!("use --lookup-values >= 1000");
    }
    let probes = 10_000_000;
    tokio::task::spawn_blocking(move || filter_figures(values, probes)).await??;
    let root = tempfile::tempdir()?;
    latency(root.path(), partner_records.max(1_000), samples.max(10)).await?;
    Ok(())
}
