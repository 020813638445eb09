//! One page of a collection, walked forwards over the node's change log: the
//! HTTP side's only way through what the node holds. A page costs O(page): it
//! starts at a change-log position (the `next` token, or where `added_after`
//! falls, found by binary search) and stops after `limit` matches or
//! [`MAX_SCAN`] entries. The log is read through the store's one iterator
//! ([`liaison_store::store::Store::log_after`]), and a record is served only at its
//! latest position ([`liaison_store::store::Store::current_at`]): one logged again
//! (a partner's record after our "seen" sighting) is skipped at its earlier
//! positions, so a walk serves each record once and `next` (the position where
//! the walk stopped) always moves forward. An item's `date_added` is when it was
//! logged at that position, so it rises along the positions served and the
//! binary search holds. A record its origin revoked or superseded is served at
//! the withdrawing record's position instead ([`with_revoked`]), as a new version
//! (`revoked`, a new `modified`), so a client resuming with `added_after` learns
//! of the withdrawal. Never serves past the durable position, an expired
//! record, or anything but indicators and bulletins.

use liaison_core::formats::ExportRecord;
use liaison_core::record::{Body, NodeId, Tlp};
use liaison_node::node::Node;
use liaison_store::store::{Current, StoreError, StoredRecord};

pub use liaison_node::listing::MAX_SCAN;

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
    /// Its latest change-log position: where a walk serves it. That of the
    /// revocation or superseding record when its origin withdrew it since.
    pub position: u64,
    /// When it was logged there: its `date_added`.
    pub added_ms: i64,
    /// When its origin withdrew it (the withdrawing record's signed creation
    /// time), or else when this node logged it again after sighting it: its
    /// new version's `modified`. `None`: unchanged since created.
    pub changed_ms: Option<i64>,
}

impl Item {
    fn new(current: Current, revoked: bool) -> Item {
        // Logged again since it arrived (this node sighted it as seen): a
        // new version too, as of then.
        let relogged = current.position != current.stored.local_seq;
        Item {
            changed_ms: relogged.then_some(current.added_ms),
            stored: current.stored,
            revoked,
            position: current.position,
            added_ms: current.added_ms,
        }
    }

    /// The item as the exports see it.
    pub fn export<'a>(&'a self, origin_name: &'a str) -> ExportRecord<'a> {
        ExportRecord {
            record: &self.stored.record,
            origin_name,
            revoked: self.revoked,
            received_ms: self.stored.received_ms,
            changed_ms: self.changed_ms,
        }
    }
}

/// A page, and the position to go on after (`None`: the end for now).
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<u64>,
}

/// Up to `limit` indicators and bulletins in `scope` after change-log position `after`,
/// logged after `added_after` when given.
pub fn walk(
    node: &Node,
    scope: Scope,
    after: u64,
    added_after: Option<i64>,
    limit: usize,
) -> Result<Page, StoreError> {
    let durable = node.commits.durable();
    let mut cursor = match added_after {
        Some(ms) => after.max(first_added_after(node, ms, durable)?.saturating_sub(1)),
        None => after,
    };
    let now = liaison_core::now_ms();
    let mut items = Vec::new();
    let mut scanned = 0;
    let mut log = node.store.log_after(cursor, durable);
    let ended = loop {
        if scanned == MAX_SCAN || items.len() == limit {
            break false;
        }
        let Some(entry) = log.next() else {
            break true;
        };
        let (seq, id) = entry?;
        cursor = seq;
        scanned += 1;
        // Purged, unreadable, or logged again later: served there, not here.
        let Some(current) = node.store.current_at(seq, &id)? else {
            continue;
        };
        if added_after.is_some_and(|ms| current.added_ms <= ms) {
            continue;
        }
        // A record withdrawn since is served at the withdrawal's position
        // (below), as its new version; here only at its latest.
        let target = withdrawn_by(node, &current.stored.record)?;
        for current in std::iter::once(current).chain(target) {
            let item = match current.stored.record.payload.bulletin() {
                // Bulletins are served as STIX reports (issue 15).
                Some(_) => super::taxii_reports::bulletin_item(node, scope, current, now)?,
                None => served(node, scope, current, now, true)?,
            };
            items.extend(item.filter(|item| item.position == seq));
        }
    };
    let next = (!ended && cursor < durable).then_some(cursor);
    Ok(Page { items, next })
}

/// The record as served in `scope`, or `None` when it is not: not an
/// indicator (one STIX can express, with `stix`), expired, or of another TLP.
pub fn served(
    node: &Node,
    scope: Scope,
    current: Current,
    now: i64,
    stix: bool,
) -> Result<Option<Item>, StoreError> {
    let Some(indicator) = current.stored.record.payload.indicator() else {
        return Ok(None);
    };
    let in_scope = match scope {
        Scope::All => true,
        Scope::Tlp(tlp) => indicator.tlp == tlp,
    };
    let expressible = !stix
        || liaison_core::formats::stix::object_property(indicator.kind, &indicator.value).is_some();
    let live = node
        .store
        .expires_ms(&current.stored)
        .is_some_and(|t| t > now);
    if !(in_scope && expressible && live) {
        return Ok(None);
    }
    Ok(Some(with_revoked(node, current)?))
}

/// The item, marked revoked when its origin withdrew it (revoked or
/// superseded it). Once the withdrawal is durable the item stands at the
/// withdrawing record's position and time, with its creation time as
/// `changed_ms`: a new version of the object, which TAXII serves to
/// `added_after` and MISP fetches again.
pub fn with_revoked(node: &Node, current: Current) -> Result<Item, StoreError> {
    let record = &current.stored.record;
    let Some(by) = node.store.tombstoned_by(&record.id, &record.origin())? else {
        return Ok(Item::new(current, false));
    };
    let change = node
        .store
        .current(&by)?
        .filter(|c| c.position <= node.commits.durable() && c.position > current.position);
    let mut item = Item::new(current, true);
    if let Some(change) = change {
        item.position = change.position;
        item.added_ms = change.added_ms;
        item.changed_ms = Some(change.stored.record.payload.created_ms);
    }
    Ok(item)
}

/// The record `record` withdraws (revokes, or supersedes), when it is the
/// one its origin withdrew it by: its new version stands at `record`'s position.
pub fn withdrawn_by(
    node: &Node,
    record: &liaison_core::record::VerifiedRecord,
) -> Result<Option<Current>, StoreError> {
    let target = match &record.payload.body {
        Body::Revocation(revocation) => revocation.record_id,
        Body::Indicator(indicator) => match indicator.supersedes {
            Some(earlier) => earlier,
            None => return Ok(None),
        },
        Body::Sighting(_) | Body::Bulletin(_) => return Ok(None),
    };
    let Some(current) = node.store.current(&target)? else {
        return Ok(None);
    };
    let origin = current.stored.record.origin();
    let by = node.store.tombstoned_by(&target, &origin)?;
    Ok((origin == record.origin() && by == Some(record.id)).then_some(current))
}

/// A stored record as served (see [`served`]), found by id.
pub fn served_by_id(
    node: &Node,
    scope: Scope,
    id: &liaison_core::record::RecordId,
    now: i64,
    stix: bool,
) -> Result<Option<Item>, StoreError> {
    match node.store.current(id)? {
        Some(current) => served(node, scope, current, now, stix),
        None => Ok(None),
    }
}

/// The first change-log position whose record was logged there after `ms`
/// (`durable + 1` if none), by binary search over positions: the times of the
/// positions a walk serves rise along the log. A probe looks up to [`PROBE`]
/// entries on for one that is a record's latest; a longer run of purged or
/// stale ones counts as older (retention purges the oldest first, and a stale
/// position is older than the one its record stands at now).
fn first_added_after(node: &Node, ms: i64, durable: u64) -> Result<u64, StoreError> {
    let (mut low, mut high) = (1u64, durable.saturating_add(1));
    while low < high {
        let mid = low + (high - low) / 2;
        match probe(node, mid, high)? {
            Some((seq, added)) if added <= ms => low = seq + 1,
            Some(_) => high = mid,
            None => low = mid.saturating_add(PROBE as u64).min(high),
        }
    }
    Ok(low)
}

/// The first position at or after `position` (and before `end`) that is its
/// record's latest, with when it was logged there.
fn probe(node: &Node, position: u64, end: u64) -> Result<Option<(u64, i64)>, StoreError> {
    let log = node.store.log_after(position - 1, end.saturating_sub(1));
    for entry in log.take(PROBE) {
        let (seq, id) = entry?;
        if let Some(current) = node.store.current_at(seq, &id)? {
            return Ok(Some((seq, current.added_ms)));
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
            .or_insert_with(|| liaison_node::names::origin_name(node, &origin));
    }
    names
}
