//! Measurements through a node's real gRPC API over mTLS: publish throughput,
//! search latency, waiting for a partner's sync, and propagation latency.
//!
//! Each function measures one thing and returns raw figures; reporting is the
//! caller's. Nothing here writes to a store directly.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::{percentiles, phone, rate, Percentiles};
use crate::lab::{request, LabNode};
use liaison_core::proto::{IndicatorKind as K, Tlp};

/// `count` publishes from `clients` concurrent callers (rounded down to a
/// multiple of `clients`); returns calls per second.
pub(super) async fn publish_rate(
    node: &LabNode,
    first: u64,
    count: u64,
    clients: u64,
) -> Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut analyst = node.client.analyst();
        tasks.push(tokio::spawn(async move {
            for i in 0..count / clients {
                let value = phone(first + c * (count / clients) + i);
                analyst
                    .publish(request(K::Phone, &value, Tlp::Green))
                    .await?;
            }
            Ok::<_, tonic::Status>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(rate(count / clients * clients, started.elapsed()))
}

pub(super) async fn search_latency(
    node: &LabNode,
    stored: u64,
    samples: usize,
) -> Result<Percentiles> {
    let mut analyst = node.client.analyst();
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples as u64 {
        let value = phone((i * 7919) % stored);
        let started = Instant::now();
        let found = analyst
            .search(liaison_core::proto::SearchRequest {
                value,
                ..Default::default()
            })
            .await?
            .into_inner();
        times.push(started.elapsed());
        if found.records.is_empty() {
            bail!("search found nothing for a stored value");
        }
    }
    Ok(percentiles(times))
}

pub(super) async fn received_from(node: &LabNode, partner: &LabNode) -> Result<u64> {
    let list = node.partners().await?;
    Ok(list
        .partners
        .iter()
        .find(|p| p.node_id == partner.node_id)
        .map(|p| p.records_received)
        .unwrap_or(0))
}

/// Waits until `node` has received `count` records from `partner`; fails only
/// when the count stops moving for two minutes (a large sync on a busy machine
/// may take much longer than that in total).
pub(super) async fn wait_received(
    node: &LabNode,
    partner: &LabNode,
    count: u64,
) -> Result<Duration> {
    const STALL: Duration = Duration::from_secs(120);
    let started = Instant::now();
    let (mut last, mut moved) = (0, Instant::now());
    loop {
        let received = received_from(node, partner).await?;
        if received >= count {
            return Ok(started.elapsed());
        }
        if received != last {
            (last, moved) = (received, Instant::now());
        } else if moved.elapsed() > STALL {
            bail!("sync stalled at {received} of {count} records");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publish at A, then poll B and C until each returns the record: the raw
/// latencies (publish call to visible in search) A→B and A→B→C.
pub(super) async fn propagation(
    a: &LabNode,
    b: &LabNode,
    c: &LabNode,
    first: u64,
    samples: usize,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let (mut to_b, mut to_c) = (Vec::new(), Vec::new());
    for i in 0..samples as u64 {
        let value = phone(first + i);
        let started = Instant::now();
        let id = a
            .publish(request(K::Phone, &value, Tlp::Green))
            .await?
            .record_id;
        while !b.holds(&value, &id).await? {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("record did not reach B");
            }
        }
        to_b.push(started.elapsed());
        while !c.holds(&value, &id).await? {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("record did not reach C");
            }
        }
        to_c.push(started.elapsed());
    }
    Ok((to_b, to_c))
}
