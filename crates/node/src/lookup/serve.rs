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
//! Builds run on a blocking thread, started by the background builder
//! ([`super::ahead`]) ahead of each epoch and after changes, one per epoch at a
//! time; a query builds only when nothing is built for its epoch or a few values
//! changed. F of each value is memoised per epoch, so a rebuild evaluates only
//! new values. This module must never log or store a blinded element, and it
//! writes the audit entry (partner and count only) before it answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::epoch::{Epoch, EpochKey};
use super::epoch_key;
use super::filter::{self, Header, LookupFilter};
use super::keyset::KeySet;
use super::state::{Built, Progress, SignedFilter};
use super::{oprf, LookupError};
use crate::disclosure::Judge;
use crate::error::{Error, Result};
use crate::node::Node;
use liaison_core::policy::{self, Grant};
use liaison_core::proto;
use liaison_core::record::{Body, NodeId};

/// Change-log entries read per page while building.
const PAGE: usize = 4096;
const MS_PER_DAY: i64 = 86_400_000;
/// Change-log entries past the served filters that a query still waits for (a
/// rebuild that evaluates only these few new values, as fast as before builds
/// went to the background); past this, after a bulk import or a large sync,
/// the query is answered from the last complete filter while the background
/// builder catches up.
const QUERY_REBUILD_MAX: u64 = 256;

fn epoch_now(node: &Node) -> Epoch {
    Epoch::at(liaison_core::now_ms(), node.config.lookup.epoch_hours)
}

/// The served filters, if they are for `epoch`.
fn served(node: &Node, epoch: Epoch) -> Option<Arc<Built>> {
    let built = node.lookup.server.built.lock().ok()?.clone()?;
    (built.key.epoch == epoch).then_some(built)
}

/// Covers the change log, or was built too recently to rebuild yet. The
/// minimum interval holds back a query's rebuild only after another query's:
/// a background build (at start, ahead of the turn, after a large change) never
/// makes a query miss a value published just after it.
fn fresh_enough(node: &Node, built: &Built, for_query: bool) -> Result<bool> {
    let too_soon = built.at.elapsed().as_secs() < node.config.lookup.rebuild_min_seconds
        && (built.by_query || !for_query);
    Ok(too_soon || built.change == node.store.last_change()?)
}

/// The current key and filters. Built ahead of time by the background builder
/// ([`super::ahead`]); a query waits for a build only when there is none for
/// this epoch, or when a few values changed since (see `QUERY_REBUILD_MAX`).
pub async fn current(node: &Arc<Node>) -> Result<Arc<Built>> {
    let epoch = epoch_now(node);
    let built = match served(node, epoch) {
        Some(built) => Some(built),
        None => promote(node, epoch).await?,
    };
    if let Some(built) = built {
        if fresh_enough(node, &built, true)? {
            return Ok(built);
        }
        let behind = node.store.last_change()?.saturating_sub(built.change);
        if behind > QUERY_REBUILD_MAX {
            node.lookup.server.wake.notify_one();
            return Ok(built);
        }
    }
    rebuild_current(node, epoch, true).await
}

/// Serves the filters prepared ahead when their epoch has begun, once the key
/// file holds that epoch's seed alone (the ended epoch's seed is dropped).
pub(super) async fn promote(node: &Arc<Node>, epoch: Epoch) -> Result<Option<Arc<Built>>> {
    let state = &node.lookup.server;
    let prepared = state.next.lock().ok().and_then(|n| n.clone());
    let Some(prepared) = prepared.filter(|p| p.key.epoch == epoch) else {
        return Ok(None);
    };
    let path = node.dir.lookup_key();
    let key = tokio::task::spawn_blocking(move || epoch_key::load_or_rotate(&path, epoch))
        .await
        .map_err(|_| Error::ShuttingDown)??;
    if key.public_key != prepared.key.public_key {
        // The key file changed under the prepared filters: build afresh.
        return Ok(None);
    }
    if let Ok(mut slot) = state.built.lock() {
        match slot.as_ref() {
            Some(b) if b.key.epoch == epoch => return Ok(Some(b.clone())),
            _ => *slot = Some(prepared.clone()),
        }
    }
    if let Ok(mut next) = state.next.lock() {
        *next = None;
    }
    Ok(Some(prepared))
}

/// Builds the current epoch's filters unless a build that finished while this
/// one waited made them fresh; one such build at a time.
pub(super) async fn rebuild_current(
    node: &Arc<Node>,
    epoch: Epoch,
    for_query: bool,
) -> Result<Arc<Built>> {
    let state = &node.lookup.server;
    let _one_build = state.building.lock().await;
    let previous = served(node, epoch);
    if let Some(built) = &previous {
        if fresh_enough(node, built, for_query)? {
            return Ok(built.clone());
        }
    }
    let worker = node.clone();
    let key = previous.map(|p| p.key.clone());
    let mut built = tokio::task::spawn_blocking(move || build(&worker, epoch, key, false))
        .await
        .map_err(|_| Error::ShuttingDown)??;
    built.by_query = for_query;
    let built = Arc::new(built);
    if let Ok(mut slot) = state.built.lock() {
        *slot = Some(built.clone());
    }
    Ok(built)
}

/// Builds (or refreshes) the filters of `next`, the epoch after this one.
pub(super) async fn build_ahead(node: &Arc<Node>, next: Epoch) -> Result<()> {
    let state = &node.lookup.server;
    let _one_build = state.building_ahead.lock().await;
    let key = state
        .next
        .lock()
        .ok()
        .and_then(|n| n.clone())
        .filter(|n| n.key.epoch == next)
        .map(|n| n.key.clone());
    let worker = node.clone();
    let built = tokio::task::spawn_blocking(move || build(&worker, next, key, true))
        .await
        .map_err(|_| Error::ShuttingDown)??;
    if let Ok(mut slot) = state.next.lock() {
        *slot = Some(Arc::new(built));
    }
    Ok(())
}

fn build(node: &Node, epoch: Epoch, key: Option<Arc<EpochKey>>, ahead: bool) -> Result<Built> {
    let started = Instant::now();
    let key = match key {
        Some(k) if k.epoch == epoch => k,
        _ if ahead => Arc::new(epoch_key::load_ahead(&node.dir.lookup_key(), epoch)?),
        _ => Arc::new(epoch_key::load_or_rotate(&node.dir.lookup_key(), epoch)?),
    };
    let change = node.store.last_change()?;
    let sets = {
        let _shown = ShowProgress::start(node, epoch.number);
        collect_keys(node, &key)?
    };
    let mut filters = HashMap::new();
    for group in sets.groups() {
        // Shapes learning the same values share one construction.
        let keys = sets.keys_of(group[0]);
        let values = keys.len();
        let bytes = LookupFilter::build(keys)?.to_bytes();
        let digest = filter::digest(&bytes);
        for (ceiling, relay) in group {
            let header = Header {
                node_id: *node.node_id().as_bytes(),
                epoch: epoch.number,
                not_before_ms: epoch.not_before_ms,
                not_after_ms: epoch.not_after_ms,
                ceiling: ceiling.as_str().to_string(),
                relay,
                public_key: key.public_key,
                digest,
            };
            let signature = header.sign(&node.identity.signing_key);
            let signed = SignedFilter {
                header,
                signature,
                bytes: bytes.clone(),
                values,
            };
            filters.insert((ceiling, relay), Arc::new(signed));
        }
    }
    Ok(Built {
        key,
        filters,
        change,
        at: Instant::now(),
        took: started.elapsed(),
        by_query: false,
    })
}

/// The build's progress as operators see it, cleared when the build ends
/// (whether it finished, failed or was cancelled).
struct ShowProgress<'a> {
    node: &'a Node,
}

impl<'a> ShowProgress<'a> {
    fn start(node: &'a Node, epoch: u64) -> ShowProgress<'a> {
        set_progress(node, Some((epoch, 0)));
        ShowProgress { node }
    }
}

impl Drop for ShowProgress<'_> {
    fn drop(&mut self) {
        set_progress(self.node, None);
    }
}

fn set_progress(node: &Node, at: Option<(u64, u64)>) {
    if let Ok(mut progress) = node.lookup.server.progress.lock() {
        *progress = at.map(|(epoch, done)| Progress {
            epoch,
            done,
            total: node.store.record_count().max(done),
        });
    }
}

/// The filter keys each grant shape may learn about, from the whole change log.
fn collect_keys(node: &Node, key: &EpochKey) -> Result<KeySet> {
    // This epoch's memo is taken out while building, so a build of the other
    // epoch (ahead of the turn) never waits for this one.
    let number = key.epoch.number;
    let mut memo = take_memo(node, number);
    let result = collect_with(node, key, &mut memo);
    put_memo(node, number, memo);
    result
}

fn take_memo(node: &Node, epoch: u64) -> HashMap<[u8; 32], u64> {
    let now = epoch_now(node).number;
    let Ok(mut memo) = node.lookup.server.memo.lock() else {
        return HashMap::new();
    };
    // Ended epochs' F values go with their keys.
    memo.by_epoch.retain(|e, _| *e >= now);
    memo.by_epoch.remove(&epoch).unwrap_or_default()
}

fn put_memo(node: &Node, epoch: u64, keys: HashMap<[u8; 32], u64>) {
    if epoch < epoch_now(node).number {
        return;
    }
    if let Ok(mut memo) = node.lookup.server.memo.lock() {
        // Put back, not copied into a fresh map: at a million values a copy
        // doubled the memo's memory for a moment.
        match memo.by_epoch.entry(epoch) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(keys);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => slot.get_mut().extend(keys),
        }
    }
}

fn collect_with(node: &Node, key: &EpochKey, memo: &mut HashMap<[u8; 32], u64>) -> Result<KeySet> {
    // Nobody: a synthetic partner, so "the partner already holds it" never applies.
    let nobody = NodeId::from_slice(&[0u8; 32])?;
    let mut judge = Judge::new(node);
    let mut sets = KeySet::new();
    let mut cursor = 0;
    let mut done = 0u64;
    loop {
        let page = node.store.changes_after(cursor, PAGE)?;
        let Some((last, _)) = page.last() else { break };
        cursor = *last;
        if node.shutdown.is_triggered() {
            return Err(Error::ShuttingDown);
        }
        // A page of F evaluations holds a core: searches go first.
        node.foreground
            .wait_idle_blocking(crate::foreground::MAX_PAUSE);
        done += page.len() as u64;
        set_progress(node, Some((key.epoch.number, done)));
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
            let shapes_allowed: Vec<usize> = sets
                .shapes()
                .iter()
                .enumerate()
                .filter(|(_, (ceiling, relay))| {
                    let grant = Grant {
                        node: nobody,
                        max_tlp: *ceiling,
                        relay: *relay,
                        kind: policy::PartnerKind::Agency,
                    };
                    judge.decide(&judged, &grant)
                })
                .map(|(i, _)| i)
                .collect();
            if shapes_allowed.is_empty() {
                continue;
            }
            let normalized = liaison_core::indicator::Normalized {
                kind: indicator.kind,
                value: indicator.value.clone(),
                outside_known_ranges: false,
            };
            let input = oprf::input(&normalized);
            let memo_key: [u8; 32] = Sha256::digest(&input).into();
            let f = match memo.get(&memo_key) {
                Some(f) => *f,
                None => {
                    let f = oprf::evaluate_own(&key.server, &input)?;
                    memo.insert(memo_key, f);
                    f
                }
            };
            sets.push(f, shapes_allowed);
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
