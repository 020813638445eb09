//! One page of a collection, walked forwards over the node's change log: the
//! HTTP side's only way through what the node holds. A page costs O(page): it
//! starts at a change-log position (the `next` token, or where `added_after`
//! falls, found by binary search: receipt order is change-log order) and stops
//! after `limit` matches or [`MAX_SCAN`] entries. Never serves past the durable
//! position, an expired record, or anything but indicators and bulletins.

use crate::node::Node;
use crate::record::{NodeId, Tlp};
use crate::store::{StoreError, StoredRecord};

pub use crate::listing::MAX_SCAN;

/// Change-log entries read per store call.
const CHUNK: usize = 512;
/// Entries a binary-search probe looks past purged records for a live one.
const PROBE: usize = 64;

/// Which indicators a collection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Tlp(Tlp),
}

/// One record served, with what the exports need beyond it.
pub struct Item {
    pub stored: StoredRecord,
    pub revoked: bool,
}

/// A page, and the position to go on after (`None`: the end for now).
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<u64>,
}

/// Up to `limit` indicators and bulletins in `scope` after change-log position `after`,
/// received after `added_after` when given.
pub fn walk(
    node: &Node,
    scope: Scope,
    after: u64,
    added_after: Option<i64>,
    limit: usize,
) -> Result<Page, StoreError> {
    let durable = node.commits.durable();
    let mut cursor = match added_after {
        Some(ms) => after.max(first_received_after(node, ms, durable)?.saturating_sub(1)),
        None => after,
    };
    let now = crate::now_ms();
    let mut items = Vec::new();
    let mut scanned = 0;
    'scan: while cursor < durable && scanned < MAX_SCAN && items.len() < limit {
        let changes = node.store.changes_after(cursor, CHUNK)?;
        if changes.is_empty() {
            break;
        }
        for (seq, id) in changes {
            if seq > durable || scanned == MAX_SCAN || items.len() == limit {
                break 'scan;
            }
            cursor = seq;
            scanned += 1;
            let Some(stored) = node.store.get(&id)? else {
                continue;
            };
            if added_after.is_some_and(|ms| stored.received_ms <= ms) {
                continue;
            }
            // Bulletins are served as STIX reports (issue 15).
            let item = match stored.record.payload.bulletin() {
                Some(_) => super::taxii_reports::bulletin_item(node, scope, stored, now)?,
                None => served(node, scope, stored, now, true)?,
            };
            if let Some(item) = item {
                items.push(item);
            }
        }
    }
    let next = (cursor < durable).then_some(cursor);
    Ok(Page { items, next })
}

/// The record as served in `scope`, or `None` when it is not: not an
/// indicator (one STIX can express, with `stix`), expired, or of another TLP.
pub fn served(
    node: &Node,
    scope: Scope,
    stored: StoredRecord,
    now: i64,
    stix: bool,
) -> Result<Option<Item>, StoreError> {
    let Some(indicator) = stored.record.payload.indicator() else {
        return Ok(None);
    };
    let in_scope = match scope {
        Scope::All => true,
        Scope::Tlp(tlp) => indicator.tlp == tlp,
    };
    let expressible =
        !stix || crate::formats::stix::object_property(indicator.kind, &indicator.value).is_some();
    let live = node.store.expires_ms(&stored).is_some_and(|t| t > now);
    if !(in_scope && expressible && live) {
        return Ok(None);
    }
    let revoked = node
        .store
        .is_tombstoned_by(&stored.record.id, &stored.record.origin())?;
    Ok(Some(Item { stored, revoked }))
}

/// The first change-log position whose record was received after `ms`
/// (`durable + 1` if none), by binary search over positions. A probe looks up
/// to [`PROBE`] entries on for a record still stored; a run of purged ones
/// longer than that counts as older (retention purges the oldest first).
fn first_received_after(node: &Node, ms: i64, durable: u64) -> Result<u64, StoreError> {
    let (mut low, mut high) = (1u64, durable.saturating_add(1));
    while low < high {
        let mid = low + (high - low) / 2;
        match probe(node, mid, high)? {
            Some((seq, received)) if received <= ms => low = seq + 1,
            Some(_) => high = mid,
            None => low = mid.saturating_add(PROBE as u64).min(high),
        }
    }
    Ok(low)
}

/// The first stored record at or after `position` (and before `end`), with its
/// receipt time.
fn probe(node: &Node, position: u64, end: u64) -> Result<Option<(u64, i64)>, StoreError> {
    for (seq, id) in node.store.changes_after(position - 1, PROBE)? {
        if seq >= end {
            break;
        }
        if let Some(stored) = node.store.get(&id)? {
            return Ok(Some((seq, stored.received_ms)));
        }
    }
    Ok(None)
}

/// The origin's name for exports, looked up once per origin per page.
pub fn origin_names(node: &Node, items: &[Item]) -> std::collections::HashMap<NodeId, String> {
    let mut names = std::collections::HashMap::new();
    for item in items {
        let origin = item.stored.record.origin();
        names
            .entry(origin)
            .or_insert_with(|| crate::service::origin_name(node, &origin));
    }
    names
}
