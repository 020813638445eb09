//! Bulletins in TAXII collections (issue 15), as STIX `report` objects
//! ([`liaison_core::formats::stix::report_object`]): a collection holds the live
//! bulletins of its scope (the TLP collections those of their TLP), and a
//! report's `object_refs` name only members this node holds an opening for and
//! serves as indicators, and in a TLP collection only members at or below that
//! TLP (a report shared onwards at GREEN never names an AMBER indicator).
//!
//! Must never name a member withheld from this node, nor serve an expired bulletin.

use super::page::{self, Item, Scope};
use liaison_core::formats::record_uuid;
use liaison_core::record::RecordId;
use liaison_node::node::Node;
use liaison_store::store::{Current, StoreError};

/// The bulletin as an item of a collection in `scope`, or `None`.
pub(super) fn bulletin_item(
    node: &Node,
    scope: Scope,
    current: Current,
    now: i64,
) -> Result<Option<Item>, StoreError> {
    let Some(bulletin) = current.stored.record.payload.bulletin() else {
        return Ok(None);
    };
    let in_scope = match scope {
        Scope::All => true,
        Scope::Tlp(tlp) => bulletin.tlp == tlp,
    };
    if !in_scope || bulletin.valid_until_ms <= now {
        return Ok(None);
    }
    page::with_revoked(node, current).map(Some)
}

/// The members a report in `scope` may name: opened here, served here as
/// STIX indicators, and within the collection's TLP.
pub(super) fn visible_members(
    node: &Node,
    scope: Scope,
    bulletin: &RecordId,
) -> Result<Vec<RecordId>, StoreError> {
    let now = liaison_core::now_ms();
    let mut members = Vec::new();
    for opening in node.store.openings(bulletin)? {
        let Some(item) = page::served_by_id(node, Scope::All, &opening.record_id, now, true)?
        else {
            continue;
        };
        let tlp = item.stored.record.payload.indicator().map(|i| i.tlp);
        let within = match scope {
            Scope::All => true,
            Scope::Tlp(max) => tlp.is_some_and(|t| t <= max),
        };
        if within {
            members.push(opening.record_id);
        }
    }
    Ok(members)
}

/// The bulletin whose report id is `report--{uuid}`, as an item in `scope`.
/// Bulletins are few: a scan of their ids costs one hash each.
pub(super) fn by_report_id(
    node: &Node,
    scope: Scope,
    uuid: &uuid::Uuid,
) -> Result<Option<Item>, StoreError> {
    let Some(id) = node
        .store
        .bulletin_ids()?
        .into_iter()
        .find(|id| record_uuid(id) == *uuid)
    else {
        return Ok(None);
    };
    match node.store.current(&id)? {
        Some(current) => bulletin_item(node, scope, current, liaison_core::now_ms()),
        None => Ok(None),
    }
}
