//! The Analyst RPCs for bulletins: requests into drafts, and listings.

use crate::node::Node;
use crate::Error;
use liaison_core::proto;
use liaison_core::record::{check_count, handling_from_wire, tlp_from_wire, Label, NodeId};
use liaison_core::record::{MAX_HANDLING_CODES, MAX_LABELS, MAX_RECIPIENTS};
use liaison_core::untrusted::quote;

use super::BulletinDraft;

/// A PublishBulletin request as a draft; every field checked, named on error.
pub fn draft_from_request(request: proto::PublishBulletinRequest) -> Result<BulletinDraft, Error> {
    let tlp = match request.tlp {
        0 => {
            return Err(Error::InvalidRequest(
                "tlp: required (clear, green, amber, amber+strict or red)".into(),
            ))
        }
        value => tlp_from_wire(value)?,
    };
    check_count("labels", request.labels.len(), MAX_LABELS)?;
    let labels = request
        .labels
        .iter()
        .map(|l| l.parse::<Label>())
        .collect::<Result<Vec<_>, _>>()?;
    check_count("handling", request.handling.len(), MAX_HANDLING_CODES)?;
    let handling = request
        .handling
        .iter()
        .map(|&h| handling_from_wire(h))
        .collect::<Result<Vec<_>, _>>()?;
    check_count("recipients", request.recipients.len(), MAX_RECIPIENTS)?;
    let recipients = request
        .recipients
        .iter()
        .map(|r| {
            r.parse::<NodeId>().map_err(|_| {
                Error::InvalidRequest(format!(
                    "recipients: {} is not a 64-hex-digit node id",
                    quote(r)
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_count(
        "countries",
        request.countries.len(),
        liaison_core::record::bulletin_bounds::MAX_COUNTRIES,
    )?;
    Ok(BulletinDraft {
        title: request.title,
        summary: request.summary,
        modus_operandi: request.modus_operandi,
        labels,
        countries: request.countries,
        members: request.members,
        tlp: Some(tlp),
        handling,
        handling_note: request.handling_note,
        recipients,
        valid_days: (request.valid_days > 0).then_some(request.valid_days),
    })
}

/// Every stored bulletin, newest first.
pub fn list(node: &Node) -> Result<proto::ListBulletinsResponse, Error> {
    let mut bulletins = Vec::new();
    for id in node.store.bulletin_ids()? {
        if let Some(stored) = node.store.get(&id)? {
            bulletins.extend(super::view_of(node, &stored)?);
        }
    }
    bulletins.sort_by_key(|b| std::cmp::Reverse(b.created_unix_ms));
    Ok(proto::ListBulletinsResponse { bulletins })
}

/// One bulletin by full id or unique prefix.
pub fn get(node: &Node, given: &str) -> Result<proto::BulletinView, Error> {
    let id = node.resolve_record(given).map_err(|e| match e {
        Error::InvalidRequest(m) => Error::InvalidRequest(m.replacen("members:", "record_id:", 1)),
        Error::NotFound(m) => Error::NotFound(m.replacen("(members)", "(record_id)", 1)),
        other => other,
    })?;
    let stored = node
        .store
        .get(&id)?
        .ok_or_else(|| Error::NotFound(id.to_hex()))?;
    super::view_of(node, &stored)?.ok_or_else(|| {
        Error::InvalidRequest(format!("record_id: {} is not a bulletin", id.short()))
    })
}
