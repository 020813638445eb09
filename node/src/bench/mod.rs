//! `liaison bench`: measures, on this machine and in one run, raw Ed25519 sign and
//! verify rates, publish throughput over gRPC, search latency at N stored records,
//! database bytes per record, initial sync rate, and propagation latency
//! A→B and A→B→C — and reports the ratios between them.
//!
//! Every node here is a real node on loopback (see [`crate::lab`]); nothing is
//! measured by bypassing the API it measures.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use ed25519_dalek::{Signer, SigningKey};

mod export;
mod lookup;
mod preload;
mod scale;

use scale::{correlation, federated_search, revocation_latency};

use crate::lab::{request, LabNode};
use crate::proto::{IndicatorKind as K, Tlp};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Records stored before measuring search and sync.
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Publish calls per throughput measurement.
    #[arg(long, default_value_t = 4_000)]
    pub publishes: u64,
    /// Samples for the latency percentiles.
    #[arg(long, default_value_t = 1_000)]
    pub samples: usize,
    /// Records held by each of the three partners in the federated-search measurement.
    #[arg(long, default_value_t = 100_000)]
    pub partner_records: u64,
    /// Records stored for the correlation measurement.
    #[arg(long, default_value_t = 1_000_000)]
    pub correlation_records: u64,
    /// Only measure Ed25519 sign and verify rates (seconds; used by
    /// scripts/bench-import.sh to relate import speed to the signing bound).
    #[arg(long)]
    pub signatures_only: bool,
    /// Measure only `liaison export --format stix` of this many preloaded records
    /// (time and the exporter's peak RSS), instead of the full benchmark.
    #[arg(long)]
    pub export_records: Option<u64>,
    /// Measure only private lookups: filter build and size at this many values,
    /// the false-positive rate, and lookup latency across three partners each
    /// holding --partner-records (docs/PRIVATE_LOOKUP.md).
    #[arg(long)]
    pub lookup_values: Option<u64>,
}

struct Percentiles {
    p50: Duration,
    p99: Duration,
}

fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// A distinct, fictional UK drama-range-shaped number for each index.
fn phone(i: u64) -> String {
    format!("+447700{:06}", i % 1_000_000)
}

struct SignatureRates {
    sign: f64,
    verify: f64,
    batch_verify: f64,
}

fn signature_rates() -> SignatureRates {
    const N: usize = 20_000;
    let key = SigningKey::from_bytes(&[11; 32]);
    let messages: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("liaison/v1/record\0bench payload {i:>200}").into_bytes())
        .collect();
    let started = Instant::now();
    let signatures: Vec<_> = messages.iter().map(|m| key.sign(m)).collect();
    let sign = rate(N as u64, started.elapsed());
    // The node's verifier (ZIP-215, record/signature.rs), single and batched.
    let public_bytes = key.verifying_key().to_bytes();
    let public = ed25519_zebra::VerificationKey::try_from(public_bytes).expect("valid key");
    let signatures: Vec<_> = signatures
        .iter()
        .map(|s| ed25519_zebra::Signature::from_bytes(&s.to_bytes()))
        .collect();
    let started = Instant::now();
    let verified = messages
        .iter()
        .zip(&signatures)
        .filter(|(m, s)| public.verify(s, m).is_ok())
        .count();
    let verify = rate(verified as u64, started.elapsed());
    let started = Instant::now();
    for (messages, signatures) in messages.chunks(512).zip(signatures.chunks(512)) {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        for (message, signature) in messages.iter().zip(signatures) {
            batch.queue((public_bytes.into(), *signature, message));
        }
        let _ = batch.verify(rand_core::OsRng);
    }
    let batch_verify = rate(N as u64, started.elapsed());
    SignatureRates {
        sign,
        verify,
        batch_verify,
    }
}

/// Phone numbers per second: normalised from national format (publish), and
/// checked as canonical E.164 (receipt from a partner).
fn phone_rates() -> (f64, f64) {
    const N: u64 = 5_000;
    let context = crate::indicator::Context {
        default_country: Some("GB".into()),
    };
    let national: Vec<String> = (0..N)
        .map(|i| format!("07700 {:06}", i % 1_000_000))
        .collect();
    let started = Instant::now();
    for value in &national {
        let _ = crate::indicator::normalize(crate::indicator::Kind::Phone, value, &context);
    }
    let normalize = rate(N, started.elapsed());
    let started = Instant::now();
    for i in 0..N {
        let _ = crate::indicator::check_canonical(crate::indicator::Kind::Phone, &phone(i));
    }
    (normalize, rate(N, started.elapsed()))
}

/// Durable single-record commits per second (apply + flush, one writer): the
/// bound a single publishing client cannot beat.
fn durable_commit_rate(root: &std::path::Path) -> Result<f64> {
    const N: u64 = 500;
    let store = crate::store::Store::open(&root.join("commit-bench"), 16 * 1024 * 1024)?;
    let key = SigningKey::from_bytes(&[12; 32]);
    let origin = crate::record::NodeId(key.verifying_key().to_bytes());
    let mut records = Vec::with_capacity(N as usize);
    for i in 0..N {
        let payload = crate::record::Payload {
            origin,
            sequence: i + 1,
            created_ms: crate::now_ms(),
            body: crate::record::Body::Indicator(preload::indicator(
                phone(i),
                crate::now_ms() + 86_400_000,
            )),
        };
        records.push(crate::record::sign_payload(&key, &payload)?);
    }
    let started = Instant::now();
    for (i, record) in records.into_iter().enumerate() {
        let batch = crate::store::WriteBatch {
            records: vec![record],
            ..Default::default()
        };
        store.apply(&batch, i as u64 + 1)?;
        store.flush_blocking()?;
    }
    Ok(rate(N, started.elapsed()))
}

/// `count` publishes from `clients` concurrent callers (rounded down to a
/// multiple of `clients`); returns calls per second.
async fn publish_rate(node: &LabNode, first: u64, count: u64, clients: u64) -> Result<f64> {
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

async fn search_latency(node: &LabNode, stored: u64, samples: usize) -> Result<Percentiles> {
    let mut analyst = node.client.analyst();
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples as u64 {
        let value = phone((i * 7919) % stored);
        let started = Instant::now();
        let found = analyst
            .search(crate::proto::SearchRequest {
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

async fn received_from(node: &LabNode, partner: &LabNode) -> Result<u64> {
    let list = node.partners().await?;
    Ok(list
        .partners
        .iter()
        .find(|p| p.node_id == partner.node_id)
        .map(|p| p.records_received)
        .unwrap_or(0))
}

async fn wait_received(node: &LabNode, partner: &LabNode, count: u64) -> Result<Duration> {
    let started = Instant::now();
    while received_from(node, partner).await? < count {
        if started.elapsed() > Duration::from_secs(600) {
            bail!("sync stalled");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

async fn propagation(
    a: &LabNode,
    b: &LabNode,
    c: &LabNode,
    first: u64,
    samples: usize,
) -> Result<(Percentiles, Percentiles)> {
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
    Ok((percentiles(to_b), percentiles(to_c)))
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if args.signatures_only {
        let sig = tokio::task::spawn_blocking(signature_rates).await?;
        out!("sign {:.0} /s", sig.sign);
        out!("verify {:.0} /s", sig.verify);
        out!("batch_verify {:.0} /s", sig.batch_verify);
        return Ok(());
    }
    if let Some(records) = args.export_records {
        return export::run(records).await;
    }
    if let Some(values) = args.lookup_values {
        return lookup::run(values, args.partner_records, args.samples).await;
    }
    if args.records < 1_000 || args.publishes < 8 {
        bail!("use --records >= 1000 and --publishes >= 8");
    }
    out!(
        "liaison bench: {} records, {} publishes, {} latency samples",
        args.records,
        args.publishes,
        args.samples
    );
    let sig = tokio::task::spawn_blocking(signature_rates).await?;
    out!("\nEd25519 on this machine (one core)");
    out!("  sign                  {:>10.0} /s", sig.sign);
    out!("  verify (single)       {:>10.0} /s", sig.verify);
    out!("  verify (batch of 512) {:>10.0} /s", sig.batch_verify);
    let (normalize, canonical) = tokio::task::spawn_blocking(phone_rates).await?;
    out!("Phone numbers (one core)");
    out!("  normalise national    {normalize:>10.0} /s");
    out!("  canonical check       {canonical:>10.0} /s   (done for every received phone record)");

    let root = tempfile::Builder::new()
        .prefix("liaison-bench-")
        .tempdir()?;
    let commit = tokio::task::spawn_blocking({
        let root = root.path().to_path_buf();
        move || durable_commit_rate(&root)
    })
    .await??;
    out!("Storage");
    out!("  durable commit (1 record + flush) {commit:>8.0} /s");
    let a = LabNode::start(root.path(), "Bench-A (example)").await?;
    let single = publish_rate(&a, 0, args.publishes, 1).await?;
    let eight = publish_rate(&a, args.publishes, args.publishes, 8).await?;
    out!("\nPublish over gRPC (mTLS, signed, durable before the answer)");
    out!(
        "  1 client              {single:>10.0} /s   = {:.3} of the sign rate, {:.3} of the durable-commit rate",
        single / sig.sign,
        single / commit
    );
    out!(
        "  8 clients             {eight:>10.0} /s   = {:.3} of the sign rate",
        eight / sig.sign
    );

    let already = 2 * args.publishes;
    let load = publish_rate(&a, already, args.records.saturating_sub(already), 32).await?;
    let stored = a
        .client
        .admin()
        .show_identity(crate::proto::ShowIdentityRequest {})
        .await?
        .into_inner()
        .records;
    out!("  32 clients (bulk load to {stored}) {load:>8.0} /s");
    let search = search_latency(&a, stored, args.samples).await?;
    out!("\nSearch at {stored} records (gRPC round trip, one client)");
    out!(
        "  p50 {:.3} ms   p99 {:.3} ms",
        ms(search.p50),
        ms(search.p99)
    );
    out!(
        "  database: {:.0} bytes per record on disk",
        a.database_bytes() as f64 / stored as f64
    );

    let b = LabNode::start(root.path(), "Bench-B (example)").await?;
    a.enroll(&b, "green", true).await?;
    b.enroll(&a, "green", true).await?;
    let took = wait_received(&b, &a, stored).await?;
    let sync = rate(stored, took);
    out!("\nInitial sync A -> B of {stored} records");
    out!(
        "  {sync:.0} records/s   = {:.3} of the batch-verify rate, {:.3} of the single-verify rate",
        sync / sig.batch_verify,
        sync / sig.verify
    );

    let c = LabNode::start(root.path(), "Bench-C (example)").await?;
    b.enroll(&c, "green", true).await?;
    c.enroll(&b, "green", true).await?;
    let relay_took = wait_received(&c, &b, stored).await?;
    out!(
        "  relayed sync B -> C: {:.0} records/s (third-party origin, bundle carried)",
        rate(stored, relay_took)
    );

    let (to_b, to_c) = propagation(&a, &b, &c, stored + 10_000, args.samples).await?;
    out!(
        "\nPropagation latency over {} publishes (publish call to visible in search)",
        args.samples
    );
    out!(
        "  A -> B       p50 {:.2} ms   p99 {:.2} ms",
        ms(to_b.p50),
        ms(to_b.p99)
    );
    out!(
        "  A -> B -> C  p50 {:.2} ms   p99 {:.2} ms",
        ms(to_c.p50),
        ms(to_c.p99)
    );

    let revocation = revocation_latency(&a, &c, stored + 20_000, args.samples.min(200)).await?;
    out!("  revocation A -> B -> C  p50 {:.2} ms   p99 {:.2} ms (revoke call to gone from C's search)", ms(revocation.p50), ms(revocation.p99));
    for node in [a, b, c] {
        node.stop().await?;
    }

    federated_search(root.path(), &args).await?;
    correlation(root.path(), &args).await?;
    drop(root);
    Ok(())
}
