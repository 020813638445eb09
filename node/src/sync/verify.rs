//! Verification of one incoming batch: shape, signatures (batched), origin trust,
//! field validity and the sharing rules the sender had to respect.

use crate::identity::Bundle;
use crate::node::Node;
use crate::policy::{self, Grant, Provenance};
use crate::proto;
use crate::record::{Body, Envelope, Indicator, NodeId, RecordId, VerifiedRecord};
use crate::store::PartnerEntry;

/// What to store and what to count against the sender.
#[derive(Default)]
pub struct BatchVerdict {
    pub accepted: Vec<VerifiedRecord>,
    pub rejected: u64,
    pub last_rejection: Option<String>,
    /// Third-party origins first learned from this batch's bundles.
    pub new_origins: Vec<(NodeId, PartnerEntry)>,
}

impl BatchVerdict {
    fn reject(&mut self, reason: String) {
        self.rejected += 1;
        self.last_rejection = Some(reason);
    }
}

/// `uncommitted` holds the records of the previous batch, accepted but possibly
/// not yet written: references to them must resolve.
pub fn verify_batch(
    node: &Node,
    sender: &Grant,
    batch: proto::PullBatch,
    uncommitted: &[VerifiedRecord],
) -> BatchVerdict {
    let mut verdict = BatchVerdict::default();
    let carried = carried_origins(sender, &batch.origins, &mut verdict);
    let mut envelopes = Vec::with_capacity(batch.records.len());
    for wire in batch.records {
        match Envelope::from_wire(wire) {
            Ok(envelope) => envelopes.push(envelope),
            Err(e) => verdict.reject(e.to_string()),
        }
    }
    for result in Envelope::verify_many(envelopes) {
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                verdict.reject(e.to_string());
                continue;
            }
        };
        match check_record(
            node,
            sender,
            &record,
            &carried,
            [verdict.accepted.as_slice(), uncommitted],
        ) {
            Ok(()) => {
                if let Some(bundle) = carried.iter().find(|b| b.node_id == record.origin()) {
                    learn_origin(node, sender, bundle, &mut verdict);
                }
                verdict.accepted.push(record);
            }
            Err(reason) => verdict.reject(format!("record {}: {reason}", record.id.short())),
        }
    }
    verdict
}

/// Bundles a relay partner handed over; ignored from partners without relay rights.
fn carried_origins(
    sender: &Grant,
    bundles: &[proto::SignedBundle],
    verdict: &mut BatchVerdict,
) -> Vec<Bundle> {
    if !sender.relay {
        return Vec::new();
    }
    bundles
        .iter()
        .filter_map(|signed| {
            let bytes = prost::Message::encode_to_vec(signed);
            match Bundle::from_signed(&bytes) {
                Ok(bundle) => Some(bundle),
                Err(e) => {
                    verdict.reject(format!("origin bundle: {e}"));
                    None
                }
            }
        })
        .collect()
}

fn check_record(
    node: &Node,
    sender: &Grant,
    record: &VerifiedRecord,
    carried: &[Bundle],
    earlier: [&[VerifiedRecord]; 2],
) -> Result<(), String> {
    let origin = record.origin();
    if origin == node.node_id() {
        return Err("claims to be our own record".into());
    }
    let provenance = Provenance {
        origin,
        received_from: Some(sender.node),
    };
    // A direct partner's own records need no lookup; a third party's origin must
    // be enrolled, known (and not blocked), or introduced by the relay right here.
    let trusted = origin == sender.node || {
        let known = node
            .store
            .known_origin(&origin)
            .map_err(|e| e.to_string())?;
        if known.as_ref().is_some_and(|k| k.blocked) {
            return Err(format!(
                "origin {} is blocked by this agency's admin",
                origin.short()
            ));
        }
        node.grant_for(&origin).is_some()
            || known.is_some()
            || carried.iter().any(|b| b.node_id == origin)
    };
    let markings = match &record.payload.body {
        Body::Indicator(indicator) => {
            if let Some(target) = indicator.supersedes {
                check_same_origin(find_target(node, earlier, &target)?, origin, "supersede")?;
            }
            indicator.clone()
        }
        Body::Revocation(r) => match find_target(node, earlier, &r.record_id)? {
            Some(target) => {
                check_same_origin(Some(target.clone()), origin, "revoke")?;
                target.1
            }
            // Kept, and applied if the record arrives later; only straight from
            // its origin, since nothing here says who may see it.
            None if origin == sender.node => return Ok(()),
            None => return Err("relayed revocation of a record this node does not hold".into()),
        },
        Body::Sighting(s) => match find_target(node, earlier, &s.record_id)? {
            Some((_, markings)) => markings,
            None => return Err("sighting of a record this node does not hold".into()),
        },
    };
    policy::check_incoming(node.node_id(), sender, provenance, trusted, &markings)
}

/// The origin and markings of a referenced indicator: earlier in this batch or
/// the previous one, or stored.
fn find_target(
    node: &Node,
    earlier: [&[VerifiedRecord]; 2],
    id: &RecordId,
) -> Result<Option<(NodeId, Indicator)>, String> {
    let found = match earlier
        .iter()
        .flat_map(|records| records.iter())
        .find(|r| r.id == *id)
    {
        Some(record) => Some(record.clone()),
        None => node
            .store
            .get(id)
            .map_err(|e| e.to_string())?
            .map(|stored| stored.record),
    };
    match found {
        Some(record) => match record.payload.indicator() {
            Some(indicator) => Ok(Some((record.origin(), indicator.clone()))),
            None => Err("refers to a record that is not an indicator".into()),
        },
        None => Ok(None),
    }
}

/// Only a record's origin may revoke or supersede it.
fn check_same_origin(
    target: Option<(NodeId, Indicator)>,
    origin: NodeId,
    what: &str,
) -> Result<(), String> {
    match target {
        Some((target_origin, _)) if target_origin != origin => Err(format!(
            "{} tries to {what} a record of another origin ({})",
            origin.short(),
            target_origin.short()
        )),
        _ => Ok(()),
    }
}

fn learn_origin(node: &Node, sender: &Grant, bundle: &Bundle, verdict: &mut BatchVerdict) {
    let known = node.grant_for(&bundle.node_id).is_some()
        || verdict
            .new_origins
            .iter()
            .any(|(id, _)| *id == bundle.node_id)
        || node
            .store
            .known_origin(&bundle.node_id)
            .ok()
            .flatten()
            .is_some();
    if known {
        return;
    }
    let entry = PartnerEntry::from_bundle(bundle, "clear", false, Some(sender.node.to_hex()));
    verdict.new_origins.push((bundle.node_id, entry));
}
