//! The serving side of sync, as an engine: what one Pull batch or one federated
//! search answer holds for one partner. It reads the change log past a cursor
//! (never past the durable position), keeps each record the one disclosure
//! decision ([`crate::disclosure::Judge`]) lets leave for that partner, adds the
//! bulletin openings it may see and the signed identities of relayed origins,
//! and tallies what it disclosed for the audit log.
//!
//! The gRPC service (`service::federation`) drives it: it streams the batches,
//! audits them before they leave and maps errors to status codes. This module
//! must never take a policy decision of its own, nor know about gRPC.

use crate::disclosure::Judge;
use crate::error::Error;
use crate::node::Node;
use crate::sync::compat::PeerVersion;
use liaison_core::policy::Grant;
use liaison_core::proto;
use liaison_core::record::NodeId;
use liaison_identity::identity::Bundle;

/// Change-log entries examined per batch: the receiver accepts up to 1024
/// records per batch (`sync::MAX_BATCH_RECORDS`); bigger batches mean fewer
/// flushes and audit entries per record on both sides.
const PAGE: usize = 1024;
/// Bytes of records per batch, kept well under the message limit.
const BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Most queries one federated search may carry.
const MAX_QUERIES: usize = 16;

/// The records matching a partner's query that the partner may receive.
pub fn answer_search(
    node: &Node,
    grant: &Grant,
    reader: &PeerVersion,
    query: &proto::FederatedQuery,
) -> Result<
    (
        proto::FederatedAnswer,
        (Vec<String>, liaison_store::audit::report::Tally),
    ),
    Error,
> {
    if query.queries.len() > MAX_QUERIES {
        return Err(Error::InvalidRequest(format!(
            "at most {MAX_QUERIES} queries per search"
        )));
    }
    let mut answer = proto::FederatedAnswer::default();
    let mut disclosed = (Vec::new(), liaison_store::audit::report::Tally::default());
    let mut origins: Vec<NodeId> = Vec::new();
    let mut judge = Judge::new(node);
    for q in &query.queries {
        let kind = u8::try_from(q.kind)
            .ok()
            .and_then(liaison_core::indicator::Kind::from_code)
            .ok_or_else(|| Error::InvalidRequest(format!("unknown indicator kind {}", q.kind)))?;
        let normalized = liaison_core::indicator::check_canonical(kind, &q.value)?;
        for stored in crate::correlation::live_records(node, &normalized)? {
            if !reader.reads(&stored.record.payload) || !judge.may_disclose(&stored, grant)? {
                continue;
            }
            let origin = stored.record.origin();
            if origin != node.node_id() && !origins.contains(&origin) {
                origins.push(origin);
            }
            answer.records.push(stored.record.envelope.to_wire());
            disclosed.0.push(stored.record.id.to_hex());
            disclosed.1.add(&stored.record);
        }
    }
    answer.origins = origins
        .iter()
        .filter_map(|o| origin_bundle(node, o))
        .collect();
    Ok((answer, disclosed))
}

/// The ids served, in batch order, and their counts by TLP, kind and label.
pub type Disclosed = (
    Vec<liaison_core::record::RecordId>,
    liaison_store::audit::report::Tally,
);

/// Reads the change log after `cursor` and keeps what the partner may receive
/// and can read (`compat::PeerVersion::reads`): for a partner that did not
/// state the bulletins feature, bulletin bodies and their openings are
/// skipped; without `kinds.network`, `kinds.file-hash` or `wallets.coins`, the
/// indicators of those kinds and coins.
pub fn build_batch(
    node: &Node,
    grant: &Grant,
    cursor: u64,
    reader: &PeerVersion,
) -> Result<Option<(proto::PullBatch, Disclosed)>, Error> {
    // Only what is durable: entries past the committer's announced position may
    // still be lost in a crash (or after a failed flush).
    if let Some(reason) = node.commits.failed() {
        return Err(liaison_store::store::StoreError::Stopped(reason).into());
    }
    let durable = node.commits.durable();
    let mut changes = node.store.changes_after(cursor, PAGE)?;
    changes.retain(|&(seq, _)| seq <= durable);
    let Some(&(last_seq, _)) = changes.last() else {
        return Ok(None);
    };
    let mut batch = proto::PullBatch {
        head: durable,
        ..Default::default()
    };
    let mut disclosed: Disclosed = Default::default();
    let mut bytes = 0;
    let mut origins: Vec<NodeId> = Vec::new();
    let mut judge = Judge::new(node);
    for (seq, id) in changes {
        batch.cursor = seq;
        let Some(stored) = node.store.get(&id)? else {
            continue;
        };
        let bulletin = stored.record.payload.bulletin().is_some();
        if !reader.reads(&stored.record.payload) || !judge.may_disclose(&stored, grant)? {
            continue;
        }
        let origin = stored.record.origin();
        if origin != node.node_id() && !origins.contains(&origin) {
            origins.push(origin);
        }
        bytes += stored.record.envelope.payload.len() + 96;
        batch.records.push(stored.record.envelope.to_wire());
        if bulletin {
            batch
                .bulletin_openings
                .extend(crate::bulletin::openings_for(&mut judge, node, grant, &id)?);
        }
        disclosed.0.push(id);
        disclosed.1.add(&stored.record);
        if bytes >= BATCH_BYTES {
            break;
        }
    }
    batch.origins = origins
        .iter()
        .filter_map(|o| origin_bundle(node, o))
        .collect();
    debug_assert!(batch.cursor <= last_seq);
    Ok(Some((batch, disclosed)))
}

/// The signed identity of a third-party origin, for a relay's receiver.
fn origin_bundle(node: &Node, origin: &NodeId) -> Option<proto::SignedBundle> {
    let entry = node
        .partner_entry(origin)
        .or_else(|| node.store.known_origin(origin).ok().flatten())?;
    let bytes = hex::decode(entry.bundle).ok()?;
    let bundle = Bundle::from_signed(&bytes).ok()?;
    prost::Message::decode(bundle.signed.as_slice()).ok()
}
