//! The larger measurements: revocation propagation, federated search across
//! three partners, and correlation at a million records.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::measure::wait_received;
use super::report::Report;
use super::{ms, percentiles, phone, preload, rate, Percentiles, Sizes};
use crate::lab::{request, LabNode};
use liaison_core::proto::{IndicatorKind as K, Tlp};

pub(super) async fn revocation_latency(
    a: &LabNode,
    c: &LabNode,
    first: u64,
    samples: usize,
) -> Result<Percentiles> {
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples as u64 {
        let value = phone(first + i);
        let id = a
            .publish(request(K::Phone, &value, Tlp::Green))
            .await?
            .record_id;
        let published = Instant::now();
        while !c.holds(&value, &id).await? {
            if published.elapsed() > Duration::from_secs(10) {
                bail!("record did not reach C");
            }
        }
        let started = Instant::now();
        a.client
            .analyst()
            .revoke(liaison_core::proto::RevokeRequest {
                record_id: id.clone(),
                reason: "benchmark".into(),
            })
            .await?;
        while c.holds(&value, &id).await? {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("revocation did not reach C");
            }
        }
        times.push(started.elapsed());
    }
    Ok(percentiles(times))
}

/// A hub asks three partners, each holding `partner_records`, in parallel.
pub(super) async fn federated_search(
    root: &std::path::Path,
    args: &Sizes,
    report: &mut Report,
) -> Result<()> {
    let n = args.partner_records;
    let hub = LabNode::start(root, "Hub (example)").await?;
    let mut partners = Vec::new();
    for name in ["P1 (example)", "P2 (example)", "P3 (example)"] {
        let dir = LabNode::create(root, name)?;
        tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || preload::preload(&dir, n, phone)
        })
        .await??;
        let partner = LabNode::serve(dir).await?;
        hub.enroll(&partner, "green", false).await?;
        partner.enroll(&hub, "green", false).await?;
        partners.push(partner);
    }
    for partner in &partners {
        wait_received(&hub, partner, n).await?;
    }
    let mut analyst = hub.client.analyst();
    let mut times = Vec::with_capacity(args.samples);
    for i in 0..args.samples as u64 {
        let query = liaison_core::proto::SearchRequest {
            value: phone((i * 7919) % n),
            federated: true,
            justification: "benchmark (fictional)".into(),
            ..Default::default()
        };
        let started = Instant::now();
        let answer = analyst.search(query).await?.into_inner();
        times.push(started.elapsed());
        if answer
            .partners
            .iter()
            .filter(|p| p.status == "answered")
            .count()
            != 3
        {
            bail!("not every partner answered: {:?}", answer.partners);
        }
    }
    let latency = percentiles(times);
    out!(
        "
Federated search, hub + 3 partners holding {n} records each (one client)"
    );
    out!(
        "  p50 {:.3} ms   p99 {:.3} ms",
        ms(latency.p50),
        ms(latency.p99)
    );
    report.add(
        "federated_search.p50_ms",
        ms(latency.p50),
        "ms",
        "hub + 3 partners",
    );
    report.add(
        "federated_search.p99_ms",
        ms(latency.p99),
        "ms",
        "hub + 3 partners",
    );
    report.add(
        "federated_search.partner_records",
        n as f64,
        "records",
        "held by each partner",
    );
    hub.stop().await?;
    for partner in partners {
        partner.stop().await?;
    }
    Ok(())
}

/// Correlation lookups on a node holding `correlation_records` (4 records per value).
pub(super) async fn correlation(
    root: &std::path::Path,
    args: &Sizes,
    report: &mut Report,
) -> Result<()> {
    let n = args.correlation_records;
    let distinct = (n / 4).max(1);
    let dir = LabNode::create(root, "Corr (example)")?;
    let started = Instant::now();
    tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || preload::preload(&dir, n, move |i| phone(i % distinct))
    })
    .await??;
    let load = rate(n, started.elapsed());
    let node = LabNode::serve(dir).await?;
    let mut analyst = node.client.analyst();
    let mut times = Vec::with_capacity(args.samples);
    for i in 0..args.samples as u64 {
        let query = liaison_core::proto::SearchRequest {
            value: phone((i * 7919) % distinct),
            ..Default::default()
        };
        let started = Instant::now();
        let answer = analyst.correlate(query).await?.into_inner();
        times.push(started.elapsed());
        if answer.correlations.first().map(|c| c.agencies) != Some(1) {
            bail!("unexpected correlation answer");
        }
    }
    let latency = percentiles(times);
    out!(
        "
Correlation at {n} stored records ({distinct} values, signed and loaded at {load:.0}/s)"
    );
    out!(
        "  p50 {:.3} ms   p99 {:.3} ms (gRPC round trip)",
        ms(latency.p50),
        ms(latency.p99)
    );
    out!(
        "  database: {:.0} bytes per record on disk",
        node.database_bytes() as f64 / n as f64
    );
    report.add(
        "correlation.p50_ms",
        ms(latency.p50),
        "ms",
        "gRPC round trip",
    );
    report.add(
        "correlation.p99_ms",
        ms(latency.p99),
        "ms",
        "gRPC round trip",
    );
    report.add(
        "correlation.records",
        n as f64,
        "records",
        "4 records per value",
    );
    report.add(
        "correlation.preload_per_second",
        load,
        "records/s",
        "signed and stored in batches of 2000",
    );
    node.stop().await?;
    Ok(())
}
