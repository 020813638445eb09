//! Verification of one incoming batch: shape, signatures (batched), origin trust,
//! field validity and the sharing rules the sender had to respect.

use crate::identity::Bundle;
use crate::node::Node;
use crate::policy::{self, Grant, Provenance};
use crate::proto;
use crate::record::{Body, Envelope, NodeId, VerifiedRecord};
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

pub fn verify_batch(node: &Node, sender: &Grant, batch: proto::PullBatch) -> BatchVerdict {
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
        match check_record(node, sender, &record, &carried) {
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
) -> Result<(), String> {
    let origin = record.origin();
    if origin == node.node_id() {
        return Err("claims to be our own record".into());
    }
    let provenance = Provenance {
        origin,
        received_from: Some(sender.node),
    };
    let trusted = origin == sender.node
        || node.grant_for(&origin).is_some()
        || node.store.known_origin(&origin).ok().flatten().is_some()
        || carried.iter().any(|b| b.node_id == origin);
    let markings = match &record.payload.body {
        Body::Indicator(indicator) => indicator.clone(),
        Body::Revocation(r) => referenced_markings(node, &r.record_id)?,
        Body::Sighting(s) => referenced_markings(node, &s.record_id)?,
    };
    policy::check_incoming(node.node_id(), sender, provenance, trusted, &markings)
}

fn referenced_markings(
    node: &Node,
    id: &crate::record::RecordId,
) -> Result<crate::record::Indicator, String> {
    let stored = node
        .store
        .get(id)
        .map_err(|e| e.to_string())?
        .ok_or("refers to a record this node does not hold")?;
    stored
        .record
        .payload
        .indicator()
        .cloned()
        .ok_or_else(|| "refers to a record that is not an indicator".into())
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
    let entry = PartnerEntry {
        name: bundle.name.clone(),
        node_id: bundle.node_id.to_hex(),
        bundle: hex::encode(&bundle.signed),
        tls_pin: bundle.tls_pin(),
        endpoints: bundle.endpoints.clone(),
        max_tlp: "clear".into(),
        relay: false,
        added_ms: crate::now_ms(),
        known_via: Some(sender.node.to_hex()),
    };
    verdict.new_origins.push((bundle.node_id, entry));
}
