//! `liaison bench`: measures, on this machine and in one run, raw Ed25519 sign and
//! verify rates, publish throughput over gRPC, search latency at N stored records,
//! database bytes per record, initial sync rate, and propagation latency
//! A→B and A→B→C — and reports the ratios between them. `--out DIR` writes every
//! figure as JSON and Markdown with SVG plots; `bench federation` runs many
//! nodes as separate processes (see [`federation`]).
//!
//! Every node here is a real node on loopback (see [`crate::lab`]); nothing is
//! measured by bypassing the API it measures.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

mod audit_overhead;
mod console;
mod curve;
mod export;
mod federation;
mod import;
mod lookup;
mod measure;
mod misp_feed;
mod plot;
mod preload;
mod rates;
mod report;
mod scale;
mod stages;

use measure::{propagation, search_latency};
use report::Report;
use scale::{correlation, federated_search, revocation_latency};
use stages::{publishes, sync};

use crate::lab::LabNode;

#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// Records stored before measuring search and sync [default: 100000; --quick: 10000].
    #[arg(long)]
    pub records: Option<u64>,
    /// Publish calls per throughput measurement [default: 4000; --quick: 500].
    #[arg(long)]
    pub publishes: Option<u64>,
    /// Samples for the latency percentiles [default: 1000; --quick: 200].
    #[arg(long)]
    pub samples: Option<usize>,
    /// Records held by each of the three partners in the federated-search
    /// measurement [default: 100000; --quick: 5000].
    #[arg(long)]
    pub partner_records: Option<u64>,
    /// Records stored for the correlation measurement [default: 1000000; --quick: 20000].
    #[arg(long)]
    pub correlation_records: Option<u64>,
    /// Record counts for the cost curves (sync rate, search latency, disk and
    /// node memory against N), comma-separated [default: 10000,100000,1000000;
    /// --quick: 2000,10000].
    #[arg(long, value_delimiter = ',')]
    pub curve: Option<Vec<u64>>,
    /// sled page cache (MB) of the two nodes of each cost-curve point, to see
    /// how memory and search latency follow it [default: the node's default].
    #[arg(long)]
    pub curve_cache_mb: Option<u64>,
    /// CSV rows of the bulk-import measurement [default: 1000000; --quick: 20000].
    #[arg(long)]
    pub import_rows: Option<u64>,
    /// Small sizes that finish in a few minutes on a 2-core machine.
    #[arg(long)]
    pub quick: bool,
    /// Tiny sizes, for the smoke test only (figures are meaningless).
    #[arg(long, hide = true)]
    pub tiny: bool,
    /// Write bench.json, bench.md and SVG plots into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only measure Ed25519 sign and verify rates (seconds; used by
    /// scripts/bench-import.sh to relate import speed to the signing bound).
    #[arg(long)]
    pub signatures_only: bool,
    /// Measure only `liaison export --format stix` of this many preloaded records
    /// (time and the exporter's peak RSS), instead of the full benchmark.
    #[arg(long)]
    pub export_records: Option<u64>,
    /// Measure only the audit log's overhead: publish, search and sync with
    /// `[audit] enabled` on and off, alternating this many rounds each.
    #[arg(long)]
    pub audit_overhead: Option<usize>,
    /// Measure only private lookups: filter build and size at this many values,
    /// the false-positive rate, and lookup latency across three partners each
    /// holding --partner-records (docs/PRIVATE_LOOKUP.md).
    #[arg(long)]
    pub lookup_values: Option<u64>,
    /// Measure only MISP feed requests (manifest.json, hashes.csv, an event;
    /// latency, requests/s, bytes) at this many preloaded records, each
    /// --samples times [samples default here: 50].
    #[arg(long)]
    pub misp_feed_records: Option<u64>,
    /// Measure only the analyst console's local search page: a console on a
    /// node holding --records, --samples page GETs over HTTP (p50/p99;
    /// `console.search_page_p99_ms` in bench.json with --out).
    #[arg(long)]
    pub console: bool,
    /// Measure only the sync stage: the reference rates, a load of --records
    /// over gRPC, then the initial sync A -> B and the relayed sync B -> C
    /// (`sync.ratio_to_batch_verify`, `sync.relayed.ratio_to_batch_verify`);
    /// for comparing builds without the whole run.
    #[arg(long)]
    pub sync_only: bool,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum BenchCommand {
    /// Many nodes as separate processes on loopback: propagation by hop count,
    /// convergence time, and convergence with nodes killed and restarted.
    Federation(federation::FederationArgs),
}

/// The sizes of one run, from the flags and the --quick / --tiny presets.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub records: u64,
    pub publishes: u64,
    pub samples: usize,
    pub partner_records: u64,
    pub correlation_records: u64,
    pub import_rows: u64,
    pub curve: Vec<u64>,
    /// `cache_mb` of the curve's nodes; `None` keeps the node's default.
    pub curve_cache_mb: Option<u64>,
}

impl Sizes {
    fn of(args: &BenchArgs) -> Sizes {
        let preset = match (args.tiny, args.quick) {
            (true, _) => Sizes {
                records: 1_000,
                publishes: 16,
                samples: 20,
                partner_records: 300,
                correlation_records: 1_000,
                import_rows: 1_000,
                curve: vec![300, 1_000],
                curve_cache_mb: None,
            },
            (false, true) => Sizes {
                records: 10_000,
                publishes: 500,
                samples: 200,
                partner_records: 5_000,
                correlation_records: 20_000,
                import_rows: 20_000,
                curve: vec![2_000, 10_000],
                curve_cache_mb: None,
            },
            (false, false) => Sizes {
                records: 100_000,
                publishes: 4_000,
                samples: 1_000,
                partner_records: 100_000,
                correlation_records: 1_000_000,
                import_rows: 1_000_000,
                curve: vec![10_000, 100_000, 1_000_000],
                curve_cache_mb: None,
            },
        };
        Sizes {
            records: args.records.unwrap_or(preset.records),
            publishes: args.publishes.unwrap_or(preset.publishes),
            samples: args.samples.unwrap_or(preset.samples),
            partner_records: args.partner_records.unwrap_or(preset.partner_records),
            correlation_records: args
                .correlation_records
                .unwrap_or(preset.correlation_records),
            import_rows: args.import_rows.unwrap_or(preset.import_rows),
            curve: args.curve.clone().unwrap_or(preset.curve),
            curve_cache_mb: args.curve_cache_mb,
        }
    }
}

pub(crate) struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
}

pub(crate) fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(crate) fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// A distinct, fictional UK drama-range-shaped number for each index.
pub(crate) fn phone(i: u64) -> String {
    format!("+447700{:06}", i % 1_000_000)
}

/// Announces stages on stderr when it is a terminal (progress, not results).
pub(crate) struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    shown: bool,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            total,
            done: 0,
            started: Instant::now(),
            shown: std::io::stderr().is_terminal(),
        }
    }

    pub fn stage(&mut self, name: &str) {
        self.done += 1;
        if self.shown {
            eprintln!(
                "[{}/{}] {name} ({:.0} s so far)",
                self.done,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if let Some(BenchCommand::Federation(fed)) = args.command {
        return federation::run(fed).await;
    }
    if args.signatures_only {
        let sig = tokio::task::spawn_blocking(rates::signature_rates).await?;
        out!("sign {:.0} /s", sig.sign);
        out!("verify {:.0} /s", sig.verify);
        out!("batch_verify {:.0} /s", sig.batch_verify);
        return Ok(());
    }
    if let Some(records) = args.export_records {
        return export::run(records).await;
    }
    if let Some(records) = args.misp_feed_records {
        return misp_feed::run(records, args.samples.unwrap_or(50)).await;
    }
    let sizes = Sizes::of(&args);
    if args.console {
        let mut report = Report::default();
        report.context = context(&sizes);
        console::run(sizes.records, sizes.samples, &mut report).await?;
        if let Some(dir) = &args.out {
            report.write(dir)?;
            out!("\nwrote {}/bench.json and bench.md", dir.display());
        }
        return Ok(());
    }
    if let Some(rounds) = args.audit_overhead {
        return audit_overhead::run(sizes.records, sizes.publishes, rounds.max(1)).await;
    }
    if let Some(values) = args.lookup_values {
        return lookup::run(values, sizes.partner_records, sizes.samples).await;
    }
    if sizes.records < 1_000 || sizes.publishes < 8 {
        bail!("--records: use at least 1000 (and --publishes at least 8)");
    }
    let mut report = Report::default();
    let started = Instant::now();
    measure_all(&sizes, &mut report, args.sync_only).await?;
    report.add(
        "run.seconds",
        started.elapsed().as_secs_f64(),
        "s",
        "whole bench",
    );
    if let Some(dir) = &args.out {
        report.write(dir)?;
        out!("\nwrote {}/bench.json, bench.md and plots", dir.display());
    }
    Ok(())
}

async fn measure_all(sizes: &Sizes, report: &mut Report, sync_only: bool) -> Result<()> {
    let mut progress = Progress::new(10);
    report.context = context(sizes);
    out!(
        "liaison bench: {} records, {} publishes, {} latency samples",
        sizes.records,
        sizes.publishes,
        sizes.samples
    );
    progress.stage("reference rates (sign, verify, commit)");
    let root = tempfile::Builder::new()
        .prefix("liaison-bench-")
        .tempdir()?;
    let sig = rates::reference(root.path(), report).await?;
    progress.stage("publish and bulk load over gRPC");
    let a = LabNode::start(root.path(), "Bench-A (example)").await?;
    let stored = publishes(&a, sizes, &sig, report).await?;
    progress.stage("search latency");
    let search = search_latency(&a, stored, sizes.samples).await?;
    out!("\nSearch at {stored} records (gRPC round trip, one client)");
    out!(
        "  p50 {:.3} ms   p99 {:.3} ms",
        ms(search.p50),
        ms(search.p99)
    );
    report.add(
        "search.p50_ms",
        ms(search.p50),
        "ms",
        "local search, gRPC over mTLS",
    );
    report.add(
        "search.p99_ms",
        ms(search.p99),
        "ms",
        "local search, gRPC over mTLS",
    );
    let per_record = a.database_bytes() as f64 / stored as f64;
    out!("  database: {per_record:.0} bytes per record on disk");
    report.add(
        "disk.bytes_per_record",
        per_record,
        "bytes",
        "publishing node",
    );

    progress.stage("initial sync A -> B, relay B -> C");
    let b = LabNode::start(root.path(), "Bench-B (example)").await?;
    let c = LabNode::start(root.path(), "Bench-C (example)").await?;
    sync(&a, &b, &c, stored, &sig, report).await?;
    if sync_only {
        for node in [a, b, c] {
            node.stop().await?;
        }
        return Ok(());
    }

    progress.stage("propagation and revocation latency");
    let (to_b, to_c) = propagation(&a, &b, &c, stored + 10_000, sizes.samples).await?;
    out!(
        "\nPropagation latency over {} publishes (publish call to visible in search)",
        sizes.samples
    );
    for (path, samples) in [("A -> B", &to_b), ("A -> B -> C", &to_c)] {
        let p = percentiles(samples.clone());
        out!(
            "  {path:<12} p50 {:.2} ms   p99 {:.2} ms",
            ms(p.p50),
            ms(p.p99)
        );
        let key = if path == "A -> B" {
            "propagation.a_b"
        } else {
            "propagation.a_b_c"
        };
        report.add(
            &format!("{key}.p50_ms"),
            ms(p.p50),
            "ms",
            "publish at A to visible in search",
        );
        report.add(
            &format!("{key}.p99_ms"),
            ms(p.p99),
            "ms",
            "publish at A to visible in search",
        );
        report
            .propagation_ms
            .push((path.to_string(), samples.iter().map(|d| ms(*d)).collect()));
    }
    let revocation = revocation_latency(&a, &c, stored + 20_000, sizes.samples.min(200)).await?;
    out!("  revocation A -> B -> C  p50 {:.2} ms   p99 {:.2} ms (revoke call to gone from C's search)", ms(revocation.p50), ms(revocation.p99));
    report.add(
        "revocation.a_b_c.p50_ms",
        ms(revocation.p50),
        "ms",
        "revoke at A to gone from C's search",
    );
    report.add(
        "revocation.a_b_c.p99_ms",
        ms(revocation.p99),
        "ms",
        "revoke at A to gone from C's search",
    );
    for node in [a, b, c] {
        node.stop().await?;
    }
    progress.stage("federated search");
    federated_search(root.path(), sizes, report).await?;
    progress.stage("correlation");
    correlation(root.path(), sizes, report).await?;
    progress.stage("bulk import (liaison import -> node process)");
    import::run(root.path(), sizes.import_rows, &sig, report).await?;
    progress.stage("private lookups across three partners");
    lookup::stage(
        root.path(),
        sizes.partner_records,
        sizes.samples.min(100),
        report,
    )
    .await?;
    progress.stage("cost curves against records held (node processes)");
    curve::run(root.path(), sizes, report).await?;
    drop(root);
    Ok(())
}

fn context(sizes: &Sizes) -> serde_json::Map<String, serde_json::Value> {
    let mut context = serde_json::Map::new();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    context.insert("cpus".into(), cpus.into());
    context.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    context.insert("sizes".into(), format!("{sizes:?}").into());
    context.insert("unix_time".into(), (liaison_core::now_ms() / 1000).into());
    // Figures on a shared machine follow its load: say what it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        context.insert("load_average_at_start".into(), load.trim().into());
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures issue 26 tracks are read by key from bench.json across runs
    /// and releases: renaming one breaks every comparison, so this fails first.
    #[test]
    fn issue_26_figures_keep_their_keys_in_bench_json() {
        let mut report = Report::default();
        let sig = rates::SignatureRates {
            sign: 40_000.0,
            verify: 30_000.0,
            batch_verify: 60_000.0,
            commit: 500.0,
        };
        stages::add_sync(
            &mut report,
            &sig,
            stages::SyncFigures {
                sync: 30_000.0,
                bound: 60_000.0,
                relay: 24_000.0,
            },
        );
        for records in [10_000, 1_000_000] {
            curve::add_point(
                &mut report,
                &report::CurvePoint {
                    records,
                    sync_records_per_second: 1.0,
                    sync_ratio_to_batch_verify: 1.0,
                    search_p50_ms: 1.0,
                    search_p99_ms: 1.0,
                    settled_search_p50_ms: None,
                    settled_search_p99_ms: None,
                    disk_bytes_per_record: 600.0,
                    envelope_bytes_per_record: 200.0,
                    node_peak_rss_mb: None,
                },
            );
        }
        import::add(
            &mut report,
            &import::ImportFigures {
                rows: 1_000,
                rows_per_second: 20_000.0,
                importer_peak_rss_mb: None,
                node_peak_rss_mb: None,
            },
            sig.sign,
        );
        lookup::add(
            &mut report,
            &lookup::LookupFigures {
                partner_values: 1_000,
                filters_ready_s: 1.0,
                first_of_epoch_ms: 12.5,
                p50_ms: 1.0,
                p99_ms: 2.0,
            },
        );
        let dir = tempfile::tempdir().expect("a temp dir");
        report.write(dir.path()).expect("bench.json written");
        let text = std::fs::read_to_string(dir.path().join("bench.json")).expect("bench.json");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let value = |key: &str| {
            json["figures"][key]["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} missing from bench.json"))
        };
        assert_eq!(value("sync.ratio_to_batch_verify"), 0.5);
        assert_eq!(value("sync.relayed.ratio_to_batch_verify"), 0.4);
        assert_eq!(value("curve.10000.disk_ratio_to_envelope"), 3.0);
        assert_eq!(value("curve.1000000.disk_ratio_to_envelope"), 3.0);
        assert_eq!(value("import.ratio_to_sign"), 0.5);
        assert_eq!(value("lookup.first_of_epoch_ms"), 12.5);
    }
}
