//! `liaison bench --audit-overhead`: the cost of the audit log on the hot paths,
//! measured in one run with `[audit] enabled` on and off (alternating rounds on
//! fresh loopback nodes): publish throughput, local search rate (each search is
//! a logged consultation) and initial sync A → B (each batch served is a logged
//! disclosure, each batch stored is a receipt).
//!
//! Bench-only; it never touches a real node directory.

use std::time::Instant;

use anyhow::Result;

use super::measure::{publish_rate, wait_received};
use super::{phone, preload::preload, rate};
use crate::lab::LabNode;
use liaison_core::proto;
use liaison_server::config::NodeDirSetup;

/// What one round measured.
#[derive(Default, Clone, Copy)]
struct Round {
    publish: f64,
    search: f64,
    sync: f64,
}

/// Runs `rounds` rounds of each setting, alternating, and prints the medians.
pub async fn run(records: u64, publishes: u64, rounds: usize) -> Result<()> {
    out!("liaison bench --audit-overhead: {records} records synced, {publishes} publishes, {rounds} rounds each, alternating");
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 0..rounds * 2 {
        let enabled = round % 2 == 0;
        let measured = one_round(enabled, records, publishes).await?;
        out!(
            "  round {:>2} audit {:<3}: publish {:>7.0}/s  search {:>7.0}/s  sync {:>7.0} records/s",
            round / 2 + 1,
            if enabled { "on" } else { "off" },
            measured.publish,
            measured.search,
            measured.sync
        );
        match enabled {
            true => on.push(measured),
            false => off.push(measured),
        }
    }
    let (on, off) = (median(&on), median(&off));
    out!("\nMedians          audit on    audit off   on/off");
    for (name, a, b) in [
        ("publish /s", on.publish, off.publish),
        ("search /s", on.search, off.search),
        ("sync records/s", on.sync, off.sync),
    ] {
        out!("  {name:<15}{a:>10.0}  {b:>10.0}   {:.3}", a / b.max(1e-9));
    }
    Ok(())
}

fn median(rounds: &[Round]) -> Round {
    let pick = |f: fn(&Round) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    Round {
        publish: pick(|r| r.publish),
        search: pick(|r| r.search),
        sync: pick(|r| r.sync),
    }
}

fn node_dir(
    root: &std::path::Path,
    name: &str,
    enabled: bool,
) -> Result<liaison_identity::identity::NodeDir> {
    let dir = LabNode::create(root, name)?;
    let mut config = dir.load_config()?;
    config.node.audit.enabled = enabled;
    std::fs::write(dir.config(), config.to_toml())?;
    Ok(dir)
}

async fn one_round(enabled: bool, records: u64, publishes: u64) -> Result<Round> {
    let root = tempfile::tempdir()?;
    let a_dir = node_dir(root.path(), "Audit-A (example)", enabled)?;
    preload(&a_dir, records, phone)?;
    let a = LabNode::serve(a_dir).await?;
    let publish = publish_rate(&a, records, publishes, 8).await?;
    let started = Instant::now();
    let mut analyst = a.client.analyst();
    let searches = 500u64;
    for i in 0..searches {
        analyst
            .search(proto::SearchRequest {
                value: phone((i * 7919) % records),
                ..Default::default()
            })
            .await?;
    }
    let search = rate(searches, started.elapsed());
    let b = LabNode::serve(node_dir(root.path(), "Audit-B (example)", enabled)?).await?;
    a.enroll(&b, "green", false).await?;
    let started = Instant::now();
    b.enroll(&a, "green", false).await?;
    let total = records + publishes / 8 * 8;
    wait_received(&b, &a, total).await?;
    let sync = rate(total, started.elapsed());
    b.stop().await?;
    a.stop().await?;
    Ok(Round {
        publish,
        search,
        sync,
    })
}
