//! The answering side: builds this node's signed filters (one per TLP ceiling
//! and relay right of the caller), serves them, and evaluates blinded elements
//! within each partner's daily quota.
//!
//! Filters follow the one disclosure decision ([`crate::disclosure::Judge`])
//! exactly: a partner's filter holds F of every indicator the node would send a
//! partner of that shape (not expired, not revoked, not a platform's unendorsed
//! submission, not of a blocked origin, within the TLP and relay rules). RED
//! records fall out of every filter: they go only to named recipients, who
//! receive the record itself by sync; a per-recipient filter would tell nothing
//! new and cost one filter per partner.
//!
//! Builds run on a blocking thread, one at a time, when the epoch turns or the
//! change log moved and `lookup.rebuild_min_seconds` have passed since the last
//! build. F of each value is memoised for the epoch, so a rebuild evaluates only
//! new values. This module must never log or store a blinded element, and it
//! writes the audit entry (partner and count only) before it answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::epoch::{Epoch, EpochKey};
use super::epoch_key;
use super::filter::{self, Header, LookupFilter};
use super::state::{Built, SignedFilter};
use super::{oprf, LookupError};
use crate::disclosure::Judge;
use crate::error::{Error, Result};
use crate::node::Node;
use liaison_core::policy::{self, Grant};
use liaison_core::proto;
use liaison_core::record::{Body, NodeId, Tlp};

/// Change-log entries read per page while building.
const PAGE: usize = 4096;
const MS_PER_DAY: i64 = 86_400_000;

/// The current key and filters, rebuilt first if they are stale.
pub async fn current(node: &Arc<Node>) -> Result<Arc<Built>> {
    let state = &node.lookup.server;
    let _one_build = state.building.lock().await;
    let epoch = Epoch::at(liaison_core::now_ms(), node.config.lookup.epoch_hours);
    let previous = state.built.lock().ok().and_then(|b| b.clone());
    if let Some(built) = &previous {
        let fresh_enough = built.at.elapsed().as_secs() < node.config.lookup.rebuild_min_seconds
            || built.change == node.store.last_change()?;
        if built.key.epoch == epoch && fresh_enough {
            return Ok(built.clone());
        }
    }
    let worker = node.clone();
    let built = tokio::task::spawn_blocking(move || build(&worker, epoch, previous))
        .await
        .map_err(|_| Error::ShuttingDown)??;
    let built = Arc::new(built);
    if let Ok(mut slot) = state.built.lock() {
        *slot = Some(built.clone());
    }
    Ok(built)
}

fn build(node: &Node, epoch: Epoch, previous: Option<Arc<Built>>) -> Result<Built> {
    let key = match previous {
        Some(p) if p.key.epoch == epoch => p.key.clone(),
        _ => Arc::new(epoch_key::load_or_rotate(&node.dir.lookup_key(), epoch)?),
    };
    let change = node.store.last_change()?;
    let sets = collect_keys(node, &key)?;
    let mut filters = HashMap::new();
    for ((ceiling, relay), keys) in sets {
        let values = keys.len();
        let bytes = LookupFilter::build(keys)?.to_bytes();
        let header = Header {
            node_id: *node.node_id().as_bytes(),
            epoch: epoch.number,
            not_before_ms: epoch.not_before_ms,
            not_after_ms: epoch.not_after_ms,
            ceiling: ceiling.as_str().to_string(),
            relay,
            public_key: key.public_key,
            digest: filter::digest(&bytes),
        };
        let signature = header.sign(&node.identity.signing_key);
        let signed = SignedFilter {
            header,
            signature,
            bytes,
            values,
        };
        filters.insert((ceiling, relay), Arc::new(signed));
    }
    Ok(Built {
        key,
        filters,
        change,
        at: Instant::now(),
    })
}

/// Every grant shape a partner can have: a ceiling and a relay right.
fn shapes() -> Vec<(Tlp, bool)> {
    Tlp::ALL
        .iter()
        .flat_map(|t| [(*t, false), (*t, true)])
        .collect()
}

/// The filter keys each grant shape may learn about, from the whole change log.
fn collect_keys(node: &Node, key: &EpochKey) -> Result<HashMap<(Tlp, bool), Vec<u64>>> {
    let memo_state = node.lookup.server.memo.clone();
    let mut memo = memo_state.lock().map_err(|_| Error::ShuttingDown)?;
    if memo.epoch != key.epoch.number {
        memo.keys.clear();
        memo.epoch = key.epoch.number;
    }
    // Nobody: a synthetic partner, so "the partner already holds it" never applies.
    let nobody = NodeId::from_slice(&[0u8; 32])?;
    let mut judge = Judge::new(node);
    let mut sets: HashMap<(Tlp, bool), Vec<u64>> =
        shapes().into_iter().map(|s| (s, Vec::new())).collect();
    let mut cursor = 0;
    loop {
        let page = node.store.changes_after(cursor, PAGE)?;
        let Some((last, _)) = page.last() else { break };
        cursor = *last;
        for (_, id) in page {
            let Some(stored) = node.store.get(&id)? else {
                continue;
            };
            let Body::Indicator(indicator) = &stored.record.payload.body else {
                continue;
            };
            let Some(judged) = judge.judge(&stored)? else {
                continue;
            };
            let mut shapes_allowed = sets
                .iter_mut()
                .filter(|((ceiling, relay), _)| {
                    let grant = Grant {
                        node: nobody,
                        max_tlp: *ceiling,
                        relay: *relay,
                        kind: policy::PartnerKind::Agency,
                    };
                    judge.decide(&judged, &grant)
                })
                .peekable();
            if shapes_allowed.peek().is_none() {
                continue;
            }
            let normalized = liaison_core::indicator::Normalized {
                kind: indicator.kind,
                value: indicator.value.clone(),
                outside_known_ranges: false,
            };
            let input = oprf::input(&normalized);
            let memo_key: [u8; 32] = Sha256::digest(&input).into();
            let f = match memo.keys.get(&memo_key) {
                Some(f) => *f,
                None => {
                    let f = oprf::evaluate_own(&key.server, &input)?;
                    memo.keys.insert(memo_key, f);
                    f
                }
            };
            for (_, keys) in shapes_allowed {
                keys.push(f);
            }
        }
    }
    Ok(sets)
}

/// `GetLookupFilter` for `grant`'s shape; the filter bytes only when the caller's
/// copy is not current.
pub async fn get_filter(
    node: &Arc<Node>,
    grant: &Grant,
    known_digest: &[u8],
) -> Result<proto::LookupFilter> {
    let built = current(node).await?;
    let signed = built
        .filters
        // An NGO's or platform's kind narrows its enrolled ceiling.
        .get(&(grant.max_tlp.min(grant.kind.ceiling()), grant.relay))
        .ok_or_else(|| Error::NotFound("lookup filter for this partner's ceiling".into()))?;
    let bytes = match known_digest == signed.header.digest {
        true => Vec::new(),
        false => signed.bytes.clone(),
    };
    let mut wire = signed.header.to_wire(&signed.signature, bytes);
    wire.quota_left = quota_left(node, &grant.node);
    Ok(wire)
}

/// `Evaluate`: one blinded element, counted and audited before it is answered.
pub async fn evaluate(
    node: &Arc<Node>,
    partner: NodeId,
    request: &proto::EvaluateRequest,
) -> Result<proto::EvaluateResponse> {
    let built = current(node).await?;
    if request.epoch != built.key.epoch.number {
        return Err(LookupError::Invalid(format!(
            "epoch: this node is in epoch {}, not {}; fetch the filter again",
            built.key.epoch.number, request.epoch
        ))
        .into());
    }
    let used = take_quota(node, partner)?;
    node.audit(
        format!("partner {}", partner.to_hex()),
        "lookup.evaluate",
        serde_json::json!({ "count": 1, "used_today": used }),
    )
    .await?;
    let (evaluated, proof) = oprf::evaluate_blinded(&built.key.server, &request.blinded_element)?;
    Ok(proto::EvaluateResponse {
        epoch: built.key.epoch.number,
        evaluated_element: evaluated,
        proof,
        quota_left: node.config.lookup.daily_quota.saturating_sub(used),
    })
}

fn today() -> i64 {
    liaison_core::now_ms() / MS_PER_DAY
}

/// Counts one evaluation for `partner`; refuses once today's quota is spent.
fn take_quota(node: &Node, partner: NodeId) -> Result<u32> {
    let quota = node.config.lookup.daily_quota;
    let mut used = node
        .lookup
        .server
        .used
        .lock()
        .map_err(|_| Error::ShuttingDown)?;
    let entry = used.entry(partner).or_insert((today(), 0));
    if entry.0 != today() {
        *entry = (today(), 0);
    }
    if entry.1 >= quota {
        return Err(LookupError::QuotaExhausted(format!(
            "this partner's {quota} evaluations for today are used up; the quota resets at 00:00 UTC"
        ))
        .into());
    }
    entry.1 += 1;
    Ok(entry.1)
}

fn quota_left(node: &Node, partner: &NodeId) -> u32 {
    let used = node
        .lookup
        .server
        .used
        .lock()
        .ok()
        .and_then(|u| u.get(partner).copied())
        .filter(|(day, _)| *day == today())
        .map_or(0, |(_, n)| n);
    node.config.lookup.daily_quota.saturating_sub(used)
}
