//! `liaison bench federation`: many nodes as separate `liaison run` processes on
//! loopback, linked as a tree of relay partners with some meshed direct links
//! (see [`topology`]). Measures propagation latency by hop count, the time for
//! every node to hold a burst of records published at the root, and the same
//! with nodes killed (SIGKILL) and restarted mid-stream; counts records lost.
//!
//! Nodes listen on fixed loopback ports so a restarted node is found again at
//! the endpoint its partners enrolled. Nothing here is asserted: figures are
//! printed and written with `--out`.

mod topology;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::measure::publish_rate;
use super::{ms, percentiles, phone, plot};
use crate::lab::{peak_rss_kb, request, LabNode};
use liaison_core::proto::{IndicatorKind as K, Tlp};
use topology::Topology;

#[derive(clap::Args, Debug, Clone)]
pub struct FederationArgs {
    /// Nodes, each a separate process.
    #[arg(long, default_value_t = 50)]
    pub nodes: usize,
    /// Hops from the publishing node to the farthest one along the relay tree.
    #[arg(long, default_value_t = 5)]
    pub depth: usize,
    /// Records published at the root for each convergence measurement.
    #[arg(long, default_value_t = 10_000)]
    pub records: u64,
    /// Extra direct links meshed across the tree [default: nodes / 8].
    #[arg(long)]
    pub mesh: Option<usize>,
    /// Nodes killed and restarted during the churn measurement [default: nodes / 5].
    #[arg(long)]
    pub churn: Option<usize>,
    /// Publishes timed for the propagation-by-hops measurement.
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// sled cache per node, MiB (kept small: many nodes share one machine).
    #[arg(long, default_value_t = 8)]
    pub cache_mb: u64,
    /// Tokio worker threads per node process [default: 1 when there are more
    /// nodes than cores, else one per core as `liaison run` starts].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Longest to wait for convergence, seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Write federation.json and federation-*.svg into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn run(args: FederationArgs) -> Result<()> {
    if args.nodes < 2 {
        bail!("--nodes: at least 2");
    }
    let mesh = args.mesh.unwrap_or(args.nodes / 8);
    let churn = args.churn.unwrap_or(args.nodes / 5).min(args.nodes - 1);
    let topology = Topology::tree(args.nodes, args.depth, mesh);
    let hops = topology.hops_from(0);
    let root = tempfile::Builder::new()
        .prefix("liaison-bench-fed-")
        .tempdir()?;
    let mut progress = super::Progress::new(5);
    progress.stage("starting nodes");
    out!(
        "liaison bench federation: {} nodes, {} links (depth {}, {} meshed), {} records",
        args.nodes,
        topology.links.len(),
        hops.iter().max().unwrap_or(&0),
        mesh,
        args.records
    );
    let nodes = start_all(root.path(), &args).await?;
    progress.stage("enrolling partners");
    for &(a, b) in &topology.links {
        nodes[a].enroll(&nodes[b], "green", true).await?;
        nodes[b].enroll(&nodes[a], "green", true).await?;
    }
    progress.stage("propagation by hop count");
    let by_hops = propagation_by_hops(&nodes, &hops, args.samples).await?;
    let mut expected = args.samples as u64;
    progress.stage("convergence");
    let first = 1_000_000;
    let (nodes, steady, steady_curve) = converge(nodes, &args, first, &mut expected, 0).await?;
    progress.stage("convergence under churn");
    let next = first + args.records;
    let (nodes, churned, churn_curve) = converge(nodes, &args, next, &mut expected, churn).await?;
    let rss: Vec<f64> = nodes
        .iter()
        .filter_map(|n| n.pid().and_then(peak_rss_kb))
        .map(|kb| kb as f64 / 1024.0)
        .collect();
    for node in nodes {
        node.stop().await?;
    }
    let result = json!({
        "nodes": args.nodes,
        "links": topology.links.len(),
        "meshed_links": mesh,
        "max_hops": hops.iter().max(),
        "records": args.records,
        "workers_per_node": workers(&args),
        "propagation_by_hops": by_hops.iter().map(|(h, p50, p99, n)| json!({
            "hops": h, "p50_ms": p50, "p99_ms": p99, "samples": n })).collect::<Vec<_>>(),
        "convergence_seconds": steady.seconds,
        "publishing_seconds": steady.publishing_seconds,
        "after_publishing_seconds": steady.after_publishing_seconds,
        "records_lost": steady.lost + churned.lost,
        "churn": {
            "nodes_killed": churn,
            "convergence_seconds": churned.seconds,
            "publishing_seconds": churned.publishing_seconds,
            "after_publishing_seconds": churned.after_publishing_seconds,
            "records_lost": churned.lost,
        },
        "node_peak_rss_mb": { "max": rss.iter().cloned().fold(0.0, f64::max),
            "mean": rss.iter().sum::<f64>() / rss.len().max(1) as f64 },
    });
    out!("\nPropagation from the root, publish to visible in search");
    for (h, p50, p99, n) in &by_hops {
        out!("  {h} hop(s)   p50 {p50:.2} ms   p99 {p99:.2} ms   ({n} samples)");
    }
    out!(
        "Convergence of {} records at all {} nodes: {:.1} s from the first publish, {:.1} s after the last (publishing at the root: {:.1} s; lost {})",
        args.records,
        args.nodes,
        steady.seconds,
        steady.after_publishing_seconds,
        steady.publishing_seconds,
        steady.lost
    );
    out!(
        "  with {churn} nodes killed and restarted mid-stream: {:.1} s, {:.1} s after the last publish (publishing: {:.1} s; lost {})",
        churned.seconds,
        churned.after_publishing_seconds,
        churned.publishing_seconds,
        churned.lost
    );
    out!(
        "  node peak RSS: max {:.0} MB",
        result["node_peak_rss_mb"]["max"].as_f64().unwrap_or(0.0)
    );
    if let Some(dir) = &args.out {
        write(dir, &result, &by_hops, [steady_curve, churn_curve])?;
        out!("wrote {}/federation.json and plots", dir.display());
    }
    Ok(())
}

/// Worker threads per node: 50 processes with one worker per core each on a
/// 2-core machine spent a quarter of the CPU switching between threads
/// (docs/BENCHMARKS.md, "50 nodes").
fn workers(args: &FederationArgs) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    args.workers.or((args.nodes > cores).then_some(1))
}

/// Creates and starts every node on its own fixed loopback port.
async fn start_all(root: &Path, args: &FederationArgs) -> Result<Vec<LabNode>> {
    let mut nodes = Vec::with_capacity(args.nodes);
    for i in 0..args.nodes {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = LabNode::create_with(root, &format!("Fed{i:02} (example)"), |config| {
            config.node.listen = format!("127.0.0.1:{port}");
            config.node.cache_mb = args.cache_mb;
        })?;
        nodes.push(LabNode::spawn_with_workers(dir, workers(args)).await?);
    }
    Ok(nodes)
}

/// Publishes at node 0 one record at a time and times its arrival at one node
/// per hop count: (hops, p50 ms, p99 ms, samples).
async fn propagation_by_hops(
    nodes: &[LabNode],
    hops: &[usize],
    samples: usize,
) -> Result<Vec<(usize, f64, f64, usize)>> {
    let deepest = hops.iter().copied().max().unwrap_or(0);
    // The node of each hop count that is listed first.
    let watched: Vec<(usize, usize)> = (1..=deepest)
        .filter_map(|h| hops.iter().position(|&x| x == h).map(|i| (h, i)))
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); watched.len()];
    for s in 0..samples as u64 {
        let value = phone(s);
        let started = Instant::now();
        let id = nodes[0]
            .publish(request(K::Phone, &value, Tlp::Green))
            .await?
            .record_id;
        let mut waiting: Vec<usize> = (0..watched.len()).collect();
        while !waiting.is_empty() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("a record did not propagate within 30 s");
            }
            let mut still = Vec::new();
            for w in waiting {
                match nodes[watched[w].1].holds(&value, &id).await? {
                    true => times[w].push(started.elapsed()),
                    false => still.push(w),
                }
            }
            waiting = still;
        }
    }
    Ok(watched
        .iter()
        .zip(times)
        .map(|(&(h, _), t)| {
            let n = t.len();
            let p = percentiles(t);
            (h, ms(p.p50), ms(p.p99), n)
        })
        .collect())
}

struct Converged {
    seconds: f64,
    /// Of which the root took this long to publish the records (8 clients).
    publishing_seconds: f64,
    /// From the root's last publish answered to every node holding everything.
    after_publishing_seconds: f64,
    lost: u64,
}

/// Publishes `args.records` at node 0 (8 clients) and waits until every node
/// holds all `expected` records; with `churn` > 0, that many other nodes are
/// killed (SIGKILL) a third of the way through and restarted at two thirds.
/// Returns the time and the curve (seconds, nodes holding everything).
async fn converge(
    nodes: Vec<LabNode>,
    args: &FederationArgs,
    first: u64,
    expected: &mut u64,
    churn: usize,
) -> Result<(Vec<LabNode>, Converged, Vec<(f64, f64)>)> {
    let started = Instant::now();
    let third = (args.records / 3).max(8);
    let step = (nodes.len() / churn.max(1)).max(1);
    let victims: Vec<usize> = (1..nodes.len()).step_by(step).take(churn).collect();
    let mut slots: Vec<Option<LabNode>> = nodes.into_iter().map(Some).collect();
    let mut dead = Vec::new();
    let mut published = 0;
    let mut publishing = Duration::ZERO;
    for part in 0..3u64 {
        let count = match part {
            2 => args.records.saturating_sub(2 * third),
            _ => third.min(args.records),
        };
        let publisher = slots[0].as_ref().context("the root node")?;
        let publish_started = Instant::now();
        publish_rate(publisher, first + published, count, 8).await?;
        publishing += publish_started.elapsed();
        published += count / 8 * 8;
        if churn > 0 && part == 0 {
            for &v in &victims {
                if let Some(node) = slots[v].take() {
                    dead.push((v, node.kill()?));
                }
            }
        }
        if part == 1 {
            for (v, dir) in dead.drain(..) {
                slots[v] = Some(LabNode::spawn_with_workers(dir, workers(args)).await?);
            }
        }
    }
    *expected += published;
    let nodes: Vec<LabNode> = slots
        .into_iter()
        .map(|s| s.context("a node was not restarted"))
        .collect::<Result<_>>()?;
    let mut curve = Vec::new();
    let published_at = started.elapsed().as_secs_f64();
    let deadline = Duration::from_secs(args.timeout);
    loop {
        let mut complete = 0;
        let mut least = u64::MAX;
        for node in &nodes {
            let held = node.records().await.unwrap_or(0);
            least = least.min(held);
            if held >= *expected {
                complete += 1;
            }
        }
        let t = started.elapsed().as_secs_f64();
        curve.push((t, complete as f64));
        if complete == nodes.len() || started.elapsed() > deadline {
            let lost = expected.saturating_sub(least);
            let converged = Converged {
                seconds: t,
                publishing_seconds: publishing.as_secs_f64(),
                after_publishing_seconds: t - published_at,
                lost,
            };
            return Ok((nodes, converged, curve));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn write(
    dir: &Path,
    result: &serde_json::Value,
    by_hops: &[(usize, f64, f64, usize)],
    curves: [Vec<(f64, f64)>; 2],
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("federation.json"),
        serde_json::to_string_pretty(result)?,
    )?;
    let p50 = by_hops.iter().map(|&(h, p, ..)| (h as f64, p)).collect();
    let p99 = by_hops.iter().map(|&(h, _, p, _)| (h as f64, p)).collect();
    plot::lines(
        &dir.join("federation-propagation-by-hops.svg"),
        "Propagation from the root by hop count",
        ("hops", "ms"),
        &[("p50".into(), p50), ("p99".into(), p99)],
        false,
    )?;
    let [steady, churn] = curves;
    plot::lines(
        &dir.join("federation-convergence.svg"),
        "Nodes holding every record after a burst at the root",
        ("seconds", "nodes"),
        &[("steady".into(), steady), ("churn".into(), churn)],
        false,
    )
}
