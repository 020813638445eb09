//! The publish and sync stages of `liaison bench`: each measures through the
//! real gRPC API and adds its figures, with their ratios to the reference rates
//! of the same run, to the report. Nothing here writes to a store directly.

use anyhow::Result;

use super::measure::{publish_rate, wait_received};
use super::report::Report;
use super::{rate, rates, Sizes};
use crate::lab::LabNode;

pub(super) async fn publishes(
    a: &LabNode,
    sizes: &Sizes,
    sig: &rates::SignatureRates,
    report: &mut Report,
) -> Result<u64> {
    // Values stay contiguous (0, 1, 2, …): a run of `n` calls from `c` clients
    // publishes n / c * c values, and search later picks among all of them.
    let single = publish_rate(a, 0, sizes.publishes, 1).await?;
    let eight = publish_rate(a, sizes.publishes, sizes.publishes, 8).await?;
    let already = sizes.publishes + sizes.publishes / 8 * 8;
    out!("\nPublish over gRPC (mTLS, signed, durable before the answer)");
    out!(
        "  1 client              {single:>10.0} /s   = {:.3} of the sign rate, {:.3} of the durable-commit rate",
        single / sig.sign,
        single / sig.commit
    );
    out!(
        "  8 clients             {eight:>10.0} /s   = {:.3} of the sign rate",
        eight / sig.sign
    );
    report.add(
        "publish.one_client_per_second",
        single,
        "records/s",
        "one gRPC client, durable before the answer",
    );
    report.add(
        "publish.one_client.ratio_to_sign",
        single / sig.sign,
        "ratio",
        "",
    );
    report.add(
        "publish.one_client.ratio_to_durable_commit",
        single / sig.commit,
        "ratio",
        "",
    );
    report.add(
        "publish.eight_clients_per_second",
        eight,
        "records/s",
        "eight concurrent clients",
    );
    report.add(
        "publish.eight_clients.ratio_to_sign",
        eight / sig.sign,
        "ratio",
        "",
    );
    let load = publish_rate(a, already, sizes.records.saturating_sub(already), 32).await?;
    let stored = a
        .client
        .admin()
        .show_identity(liaison_core::proto::ShowIdentityRequest {})
        .await?
        .into_inner()
        .records;
    out!("  32 clients (bulk load to {stored}) {load:>8.0} /s");
    report.add(
        "publish.thirty_two_clients_per_second",
        load,
        "records/s",
        "bulk load",
    );
    report.add(
        "publish.thirty_two_clients.ratio_to_sign",
        load / sig.sign,
        "ratio",
        "",
    );
    report.add(
        "records.stored",
        stored as f64,
        "records",
        "held by A for search and sync",
    );
    Ok(stored)
}

pub(super) async fn sync(
    a: &LabNode,
    b: &LabNode,
    c: &LabNode,
    stored: u64,
    sig: &rates::SignatureRates,
    report: &mut Report,
) -> Result<()> {
    let before = tokio::task::spawn_blocking(rates::batch_verify_rate).await?;
    a.enroll(b, "green", true).await?;
    b.enroll(a, "green", true).await?;
    let took = wait_received(b, a, stored).await?;
    let after = tokio::task::spawn_blocking(rates::batch_verify_rate).await?;
    // The bound right around the sync (see rates::batch_verify_rate).
    let bound = (before + after) / 2.0;
    let sync = rate(stored, took);
    out!("\nInitial sync A -> B of {stored} records");
    out!(
        "  {sync:.0} records/s   = {:.3} of the batch-verify rate measured around it ({bound:.0} /s), {:.3} of the one at the start, {:.3} of the single-verify rate",
        sync / bound,
        sync / sig.batch_verify,
        sync / sig.verify
    );
    b.enroll(c, "green", true).await?;
    c.enroll(b, "green", true).await?;
    let relay = rate(stored, wait_received(c, b, stored).await?);
    out!("  relayed sync B -> C: {relay:.0} records/s (third-party origin, bundle carried)");
    add_sync(report, sig, SyncFigures { sync, bound, relay });
    Ok(())
}

/// The sync stage's measurements.
pub(super) struct SyncFigures {
    /// Initial sync A -> B, records/s.
    pub sync: f64,
    /// One-core batch verify measured around it.
    pub bound: f64,
    /// Relayed sync B -> C, records/s.
    pub relay: f64,
}

/// The sync figures under their stable keys (issue 26).
pub(super) fn add_sync(report: &mut Report, sig: &rates::SignatureRates, figures: SyncFigures) {
    let SyncFigures { sync, bound, relay } = figures;
    report.add(
        "sync.records_per_second",
        sync,
        "records/s",
        "initial sync A -> B, both nodes in one process",
    );
    report.add(
        "sync.batch_verify_around_per_second",
        bound,
        "signatures/s",
        "one core, mean of just before and just after the sync",
    );
    report.add(
        "sync.ratio_to_batch_verify",
        sync / bound,
        "ratio",
        "against the bound measured around the sync; goal >= 0.5",
    );
    report.add(
        "sync.ratio_to_batch_verify_at_start",
        sync / sig.batch_verify,
        "ratio",
        "against the reference at the start of the run",
    );
    report.add("sync.ratio_to_verify", sync / sig.verify, "ratio", "");
    report.add(
        "sync.relayed_records_per_second",
        relay,
        "records/s",
        "B -> C, third-party origin",
    );
    report.add(
        "sync.relayed.ratio_to_batch_verify",
        relay / sig.batch_verify,
        "ratio",
        "",
    );
}
