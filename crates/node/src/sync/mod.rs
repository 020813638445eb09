//! Pulling records from partners: one task per enrolled partner connects over
//! pinned mTLS, asks for everything after its cursor, verifies every record, and
//! stores each batch together with the new cursor in one atomic, durable write.
//! It reconnects with backoff and resumes from the cursor, so a crash neither
//! loses nor duplicates records.
//!
//! Each batch is bounded ([`MAX_BATCH_RECORDS`]; a bigger one is refused whole,
//! counted, and the stream dropped without moving the cursor). Records refused
//! for a temporary reason (their target has not arrived) wait in the partner's
//! pending set, written with the cursor, and are retried after each batch that
//! brought something new and at stream start.
//!
//! The serving side's engine (what a Pull batch or a search answer holds for a
//! partner) is [`serve`]; the handshake's versions and the compatibility
//! decision are [`compat`].
//!
//! This module must never store a record it has not verified, and never let a
//! partner's bad record stop the others in its batch.

mod announce;
pub mod compat;
mod parallel;
pub mod serve;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
use crate::partner_state::{diagnose_error, diagnose_status, Diagnosis, PartnerState};
use liaison_core::proto;
use liaison_core::proto::federation_client::FederationClient;
use liaison_core::proto::MAX_SYNC_MESSAGE_BYTES;
use liaison_core::record::NodeId;
use liaison_store::store::{PendingUpdate, WriteBatch};

pub use announce::announce_now;
pub use verify::{check_created, retry_pending, verify_batch, BatchVerdict, Uncommitted};

/// Most records accepted in one incoming batch (a serving node sends at most 512):
/// the bound on the work one partner message can cause.
pub const MAX_BATCH_RECORDS: usize = 1024;

/// First reconnect delay; it doubles per failure up to [`MAX_BACKOFF`], and
/// jitter adds up to as much again, so partners that lost the same node do not
/// all call back in step.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The reconnect delays after consecutive failures: exponential, capped, with
/// jitter, never giving up (revocation or shutdown stop the puller).
fn reconnect_delays() -> backon::ExponentialBackoff {
    use backon::BackoffBuilder as _;
    backon::ExponentialBuilder::default()
        .with_min_delay(FIRST_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

/// Logs a failing partner once per change of state, not on every retry: the
/// raw reason may flip between texts (a TLS alert, then a cancelled call) while
/// the state ("revoked by the partner") stays the same.
#[derive(Default)]
struct FailureLog {
    last: Option<PartnerState>,
}

impl FailureLog {
    /// Whether `state` is news (warn) or a repeat (debug).
    fn is_news(&mut self, state: PartnerState) -> bool {
        if self.last == Some(state) {
            return false;
        }
        self.last = Some(state);
        true
    }

    /// A stream opened: the next failure is news again.
    fn connected(&mut self) {
        self.last = None;
    }
}

/// Starts the pull task for a partner; it stops on revocation or shutdown.
pub fn start_puller(node: Arc<Node>, partner: NodeId) {
    tokio::spawn(async move {
        let Some(mut revoked) = node.revocation_signal(&partner) else {
            return;
        };
        let Some(kick) = node.puller_kick(&partner) else {
            return;
        };
        let mut shutdown = node.shutdown.clone();
        let mut delays = reconnect_delays();
        let mut failures = FailureLog::default();
        loop {
            let outcome = tokio::select! {
                outcome = pull_once(&node, partner) => outcome,
                _ = crate::node::until_set(&mut revoked) => return,
                _ = shutdown.wait() => return,
            };
            let Ended {
                was_connected,
                reason,
            } = outcome;
            let reason = node.diagnose(&partner, reason);
            let (state, detail) = (reason.state.describe(), reason.detail.as_str());
            if was_connected {
                // An open stream ending is routine (partner restarted, stream
                // replaced); failing to get one back is what deserves a warning.
                delays = reconnect_delays();
                failures.connected();
                tracing::info!(partner = %partner.short(), state, reason = detail, "sync stream ended; reconnecting");
            } else if failures.is_news(reason.state) {
                tracing::warn!(partner = %partner.short(), state, reason = detail, "cannot sync from partner; retrying with backoff (logged again when the state changes)");
            } else {
                tracing::debug!(partner = %partner.short(), state, reason = detail, "cannot sync from partner (same state)");
            }
            node.set_connection_state(&partner, reason);
            let delay = delays.next().unwrap_or(MAX_BACKOFF);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                // The partner just called us: it has enrolled us, so try now.
                _ = kick.notified() => delays = reconnect_delays(),
                _ = crate::node::until_set(&mut revoked) => return,
                _ = shutdown.wait() => return,
            }
        }
    });
}

/// Why a connection ended, and whether it got as far as an open stream.
struct Ended {
    was_connected: bool,
    reason: Diagnosis,
}

/// One connection: pull until the stream ends.
async fn pull_once(node: &Arc<Node>, partner: NodeId) -> Ended {
    let mut was_connected = false;
    let reason = match pull_stream(node, partner, &mut was_connected).await {
        Ok(()) => Diagnosis::new(PartnerState::Unreachable, "stream closed by partner"),
        Err(reason) => reason,
    };
    Ended {
        was_connected,
        reason,
    }
}

async fn pull_stream(
    node: &Arc<Node>,
    partner: NodeId,
    was_connected: &mut bool,
) -> Result<(), Diagnosis> {
    let entry = node
        .partner_entry(&partner)
        .ok_or("partner no longer enrolled")?;
    let address = entry
        .endpoints
        .first()
        .ok_or("partner bundle lists no endpoint")?
        .clone();
    let cert = partner_cert(&entry.bundle).ok_or("partner bundle unreadable")?;
    announce::announce_rotation(node, partner, &address, &cert).await?;
    let config = liaison_identity::tls::client_config_live(&node.live_tls, &cert)
        .map_err(|e| e.to_string())?;
    let channel = crate::channel::connect_now(&address, config)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| diagnose_error(&e))?;
    let mut client = FederationClient::new(channel)
        .max_decoding_message_size(MAX_SYNC_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_SYNC_MESSAGE_BYTES);
    handshake(node, partner, &mut client).await?;
    let mut state = node.store.sync_state(&partner).map_err(|e| e.to_string())?;
    let mut stream = client
        .pull(compat::pull_request(state.cursor))
        .await
        .map_err(|s| diagnose_status(&s))?
        .into_inner();
    node.set_connection_state(
        &partner,
        Diagnosis::new(PartnerState::Connected, "sync stream open"),
    );
    node.remember_accepted_us(&partner).await;
    *was_connected = true;
    tracing::info!(partner = %partner.short(), cursor = state.cursor, pending = state.pending, "sync stream open");
    if state.pending > 0 {
        retry_at_start(node, partner, &mut state).await?;
    }
    // Batch N+1 is verified while batch N commits; N is durable before N+1 is
    // written, and N's records are visible to N+1's checks (revocations, sightings).
    let mut pending: Option<PendingCommit> = None;
    let receipts =
        crate::accountability::receipt_sender::start_sender(node.clone(), partner, client.clone());
    let mut uncommitted: Arc<Uncommitted> = Arc::new(Uncommitted::default());
    loop {
        let batch = match stream.message().await {
            Ok(Some(batch)) => batch,
            Ok(None) => return Ok(finish(pending, &mut state).await?),
            Err(s) => {
                finish(pending, &mut state).await?;
                return Err(diagnose_status(&s));
            }
        };
        let Some(grant) = node.grant_for(&partner) else {
            return Err("partner revoked".into());
        };
        if batch.records.len() > MAX_BATCH_RECORDS {
            finish(pending.take(), &mut state).await?;
            // A protocol violation, not a routine end: back off as after a
            // failure, so a partner re-sending it cannot make us decode 8 MiB
            // several times a second.
            *was_connected = false;
            let reason = refuse_batch(node, partner, &mut state, batch.records.len()).await;
            return Err(Diagnosis::new(PartnerState::ProtocolMismatch, reason));
        }
        let cursor = batch.cursor;
        liaison_core::telemetry::emit().partner_head(&partner, batch.head.max(cursor));
        // Verifying a batch takes every core for a while: let a search that is
        // running finish first (bounded; see crate::foreground).
        node.foreground
            .wait_idle(crate::foreground::MAX_PAUSE)
            .await;
        let (node2, context) = (node.clone(), uncommitted.clone());
        let (verdict, stored) = tokio::task::spawn_blocking(move || {
            node2.heads.receive(&node2, &partner, &batch);
            // What arrived, named before anything is verified (for the receipt).
            let stored = (!batch.records.is_empty()).then(|| {
                let digest = liaison_store::audit::receipts::digest_of_wire(&batch);
                (batch.cursor, digest, batch.records.len() as u32)
            });
            (verify_batch(&node2, &grant, batch, &context), stored)
        })
        .await
        .map_err(|e| e.to_string())?;
        finish(pending.take(), &mut state).await?;
        for (origin, known) in &verdict.new_origins {
            node.store
                .put_known_origin(origin, known)
                .map_err(|e| e.to_string())?;
        }
        // Batch N is durable now: the pending set is stable to read.
        let retry_stored = !verdict.accepted.is_empty() && state.pending > 0;
        let (verdict, resolved) = retry(node, partner, grant, verdict, retry_stored).await?;
        if let Some(reason) = &verdict.last_rejection {
            tracing::warn!(partner = %partner.short(), rejected = verdict.rejected, %reason, "rejected records from partner");
            state.last_rejection = reason.clone();
        }
        if !verdict.deferred.is_empty() {
            tracing::info!(partner = %partner.short(), deferred = verdict.deferred.len(), reason = %verdict.deferred[0].1, "records kept pending");
        }
        state.cursor = cursor;
        state.rejected += verdict.rejected;
        count_rejected(&partner, &verdict.rejected_by_class);
        uncommitted = Arc::new(Uncommitted::of(&verdict.accepted));
        let write = WriteBatch {
            records: verdict.accepted,
            received_from: Some(partner),
            received_ms: liaison_core::now_ms(),
            sync_state: Some((partner, state.clone())),
            pending: PendingUpdate {
                add: verdict.deferred.into_iter().map(|(r, _)| r).collect(),
                resolved,
            },
            openings: verdict.openings,
        };
        let commits = node.commits.clone();
        let receipts = receipts.clone();
        pending = Some(tokio::spawn(async move {
            let outcome = commits.commit(write).await;
            if let (Ok(_), Some(stored)) = (&outcome, stored) {
                // Signed and sent by the receipt task once the batch is durable.
                let _ = receipts.try_send(stored);
            }
            outcome
        }));
    }
}

/// Once per connection, before Pull: asks the partner what it speaks (its Ping
/// answer), keeps it for `partner list`, and refuses a protocol this node does
/// not speak before any record moves.
async fn handshake(
    node: &Arc<Node>,
    partner: NodeId,
    client: &mut FederationClient<tonic::transport::Channel>,
) -> Result<(), Diagnosis> {
    let ping = client
        .ping(proto::PingRequest {})
        .await
        .map_err(|s| diagnose_status(&s))?
        .into_inner();
    let version = compat::PeerVersion::from_ping(&ping);
    let verdict = compat::check(&version);
    node.set_partner_version(&partner, version);
    verdict.map_err(|reason| {
        Diagnosis::new(
            PartnerState::ProtocolMismatch,
            format!("incompatible: {reason}"),
        )
    })
}

/// Retries the fresh deferred records, and the stored pending ones when
/// `stored` is set, on a blocking thread.
async fn retry(
    node: &Arc<Node>,
    partner: NodeId,
    grant: liaison_core::policy::Grant,
    mut verdict: BatchVerdict,
    stored: bool,
) -> Result<(BatchVerdict, Vec<u64>), String> {
    if !stored && verdict.deferred.is_empty() {
        return Ok((verdict, Vec::new()));
    }
    let node = node.clone();
    tokio::task::spawn_blocking(move || {
        let entries = match stored {
            true => node.store.pending(&partner).map_err(|e| e.to_string())?,
            false => Vec::new(),
        };
        let resolved = retry_pending(&node, &grant, entries, &mut verdict);
        Ok((verdict, resolved))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// At stream start: what arrived since (from other partners, or our own
/// records) may have settled some pending records.
async fn retry_at_start(
    node: &Arc<Node>,
    partner: NodeId,
    state: &mut liaison_store::store::SyncState,
) -> Result<(), String> {
    let grant = node.grant_for(&partner).ok_or("partner revoked")?;
    let (verdict, resolved) = retry(node, partner, grant, BatchVerdict::default(), true).await?;
    if resolved.is_empty() {
        return Ok(());
    }
    if let Some(reason) = &verdict.last_rejection {
        state.last_rejection = reason.clone();
    }
    state.rejected += verdict.rejected;
    count_rejected(&partner, &verdict.rejected_by_class);
    let write = WriteBatch {
        records: verdict.accepted,
        received_from: Some(partner),
        received_ms: liaison_core::now_ms(),
        sync_state: Some((partner, state.clone())),
        pending: PendingUpdate {
            add: Vec::new(),
            resolved,
        },
        openings: Vec::new(),
    };
    let outcome = node
        .commits
        .commit(write)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(written) = outcome.sync_state {
        *state = written;
    }
    Ok(())
}

/// Refuses a whole over-sized batch: counted, the reason kept for `partner
/// list`, the cursor unmoved; the caller drops the stream.
async fn refuse_batch(
    node: &Arc<Node>,
    partner: NodeId,
    state: &mut liaison_store::store::SyncState,
    records: usize,
) -> String {
    let reason =
        format!("batch of {records} records refused: at most {MAX_BATCH_RECORDS} per batch");
    tracing::warn!(partner = %partner.short(), %reason, "refused a batch from partner");
    state.rejected += records as u64;
    state.last_rejection = reason.clone();
    let class = std::collections::BTreeMap::from([("batch_size".to_string(), records as u64)]);
    count_rejected(&partner, &class);
    let write = WriteBatch {
        received_from: Some(partner),
        received_ms: liaison_core::now_ms(),
        sync_state: Some((partner, state.clone())),
        ..Default::default()
    };
    match node.commits.commit(write).await {
        Ok(outcome) => {
            if let Some(written) = outcome.sync_state {
                *state = written;
            }
            reason
        }
        Err(e) => format!("{reason} (not recorded: {e})"),
    }
}

type PendingCommit = tokio::task::JoinHandle<
    Result<liaison_store::store::BatchOutcome, liaison_store::store::StoreError>,
>;

/// Waits for the batch in flight to be durable and takes the sync state it wrote.
async fn finish(
    pending: Option<PendingCommit>,
    state: &mut liaison_store::store::SyncState,
) -> Result<(), String> {
    if let Some(pending) = pending {
        let outcome = pending
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if let Some(written) = outcome.sync_state {
            *state = written;
        }
    }
    Ok(())
}

fn partner_cert(bundle_hex: &str) -> Option<Vec<u8>> {
    let bytes = hex::decode(bundle_hex).ok()?;
    liaison_identity::identity::Bundle::from_signed(&bytes)
        .ok()
        .map(|b| b.tls_cert_der)
}

/// Reports records refused from `partner`, by reason class.
fn count_rejected(partner: &NodeId, classes: &std::collections::BTreeMap<String, u64>) {
    for (class, records) in classes {
        liaison_core::telemetry::emit().rejected(partner, class, *records);
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_bounded_jitter_and_never_stop() {
        let delays: Vec<Duration> = reconnect_delays().take(50).collect();
        assert_eq!(delays.len(), 50, "the puller never gives up by itself");
        for (n, delay) in delays.iter().enumerate() {
            let base = FIRST_BACKOFF
                .saturating_mul(1u32 << n.min(20))
                .min(MAX_BACKOFF);
            // Jitter adds between nothing and the base delay again.
            assert!(*delay >= base && *delay <= base * 2, "{n}: {delay:?}");
        }
        assert!(delays[40..].iter().all(|d| *d >= MAX_BACKOFF));
        // Jitter spreads the delays: 10 capped delays are not all equal.
        let capped = &delays[30..40];
        assert!(capped.iter().any(|d| *d != capped[0]));
        // A fresh policy (after a successful connection) starts low again.
        assert!(reconnect_delays().next().unwrap() < FIRST_BACKOFF * 2 + Duration::from_millis(1));
    }

    #[test]
    fn a_failure_is_news_once_per_change_of_state() {
        use PartnerState as S;
        let mut log = FailureLog::default();
        assert!(log.is_news(S::Unreachable));
        assert!(!log.is_news(S::Unreachable));
        assert!(log.is_news(S::Revoked));
        // The raw texts that used to flip ("Cancelled: operation was
        // canceled", "PermissionDenied: partner enrollment revoked") both
        // name the same state: no new warning.
        let cancelled = crate::partner_state::Diagnosis::new(S::Revoked, "Cancelled");
        assert!(!log.is_news(cancelled.state));
        assert!(log.is_news(S::Unreachable));
        log.connected();
        assert!(log.is_news(S::Unreachable));
    }
}
