//! Bulletins as this node sees them, for analysts: the members it holds an
//! opening for (resolved to kind and value where it holds the record) and how
//! many were withheld from it.

use crate::node::Node;
use crate::Error;
use liaison_core::proto;
use liaison_core::record::{handling_to_wire, tlp_to_wire, RecordId};
use liaison_store::store::StoredRecord;

/// The view of a stored bulletin; None if the record is not a bulletin.
pub fn view_of(node: &Node, stored: &StoredRecord) -> Result<Option<proto::BulletinView>, Error> {
    let record = &stored.record;
    let Some(bulletin) = record.payload.bulletin() else {
        return Ok(None);
    };
    let mut members = Vec::new();
    for opening in node.store.openings(&record.id)? {
        let held = node.store.get(&opening.record_id)?;
        let indicator = held.as_ref().and_then(|h| h.record.payload.indicator());
        members.push(proto::BulletinMember {
            record_id: opening.record_id.to_hex(),
            held: indicator.is_some(),
            kind: indicator
                .map(|i| i32::from(i.kind.code()))
                .unwrap_or_default(),
            value: indicator.map(|i| i.value.clone()).unwrap_or_default(),
            tlp: indicator
                .map(|i| tlp_to_wire(i.tlp) as i32)
                .unwrap_or_default(),
        });
    }
    let total = bulletin.members.len() as u32;
    Ok(Some(proto::BulletinView {
        record_id: record.id.to_hex(),
        envelope: Some(record.envelope.to_wire()),
        origin: record.origin().to_hex(),
        origin_name: crate::names::origin_name(node, &record.origin()),
        created_unix_ms: record.payload.created_ms,
        title: bulletin.title.clone(),
        summary: bulletin.summary.clone(),
        modus_operandi: bulletin.modus_operandi.clone(),
        labels: bulletin
            .labels
            .iter()
            .map(|l| l.as_str().to_string())
            .collect(),
        countries: bulletin.countries.clone(),
        tlp: tlp_to_wire(bulletin.tlp) as i32,
        handling: bulletin
            .handling
            .iter()
            .map(|&h| handling_to_wire(h) as i32)
            .collect(),
        handling_note: bulletin.handling_note.clone(),
        valid_until_unix_ms: bulletin.valid_until_ms,
        received_from: stored.received_from.map(|n| n.to_hex()).unwrap_or_default(),
        members_total: total,
        withheld: total.saturating_sub(members.len() as u32),
        members,
        revoked: node.store.is_tombstoned_by(&record.id, &record.origin())?,
    }))
}

/// The bulletins this node knows to group `member` (for search results).
pub fn bulletin_refs(node: &Node, member: &RecordId) -> Vec<proto::BulletinRef> {
    let Ok(ids) = node.store.bulletins_of(member) else {
        return Vec::new();
    };
    ids.into_iter()
        .filter_map(|id| {
            let stored = node.store.get(&id).ok().flatten()?;
            let title = stored.record.payload.bulletin()?.title.clone();
            Some(proto::BulletinRef {
                record_id: id.to_hex(),
                title,
            })
        })
        .collect()
}
