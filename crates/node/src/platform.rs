//! Platform partners (issue 15): what this node does with records a platform
//! (a tech company reporting scam accounts) submitted. Such records are held
//! back from relay until an analyst here endorses them with a "seen" sighting,
//! and are shown as "reported by platform X" with the evaluation the enrolling
//! admin capped them at.
//!
//! The signed record is never changed: the cap applies to what this node shows.
//! This module must never decide TLP rules (liaison_core::policy does).

use crate::node::Node;
use liaison_core::policy::PartnerKind;
use liaison_core::proto;
use liaison_core::record::{Body, Evaluation, NodeId, RecordId, SightingType, VerifiedRecord};
use liaison_store::store::PartnerEntry;

/// The enrolled platform partner that originated records of `origin`, if any.
pub fn platform_origin(node: &Node, origin: &NodeId) -> Option<PartnerEntry> {
    node.partner_entry(origin)
        .filter(|entry| entry.kind.parse::<PartnerKind>().ok() == Some(PartnerKind::Platform))
}

/// Whether an analyst of this agency sighted (type "seen") the record.
pub fn endorsed(node: &Node, id: &RecordId) -> bool {
    let own = node.node_id();
    node.store
        .sightings_of(id)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| node.store.get(s).ok().flatten())
        .any(|s| {
            s.record.origin() == own
                && matches!(&s.record.payload.body, Body::Sighting(x) if x.kind == SightingType::Seen)
        })
}

/// Marks a platform's record in a view: who reported it, whether it is still
/// held, and the evaluation capped at the admin's choice (the envelope keeps the
/// platform's own signed evaluation).
pub fn annotate(node: &Node, record: &VerifiedRecord, view: &mut proto::RecordView) {
    let Some(entry) = platform_origin(node, &record.origin()) else {
        return;
    };
    view.reported_by_platform = entry.name.clone();
    view.held_until_endorsed = !endorsed(node, &record.id);
    let cap = entry
        .max_evaluation
        .parse::<Evaluation>()
        .unwrap_or(Evaluation::UNEVALUATED);
    if let Some(indicator) = view.indicator.as_mut() {
        if let Some(evaluation) = indicator.evaluation.as_mut() {
            let own = Evaluation::new(
                &evaluation.source_reliability,
                evaluation.information_accuracy,
            )
            .unwrap_or(Evaluation::UNEVALUATED);
            let capped = weaker(own, cap);
            evaluation.source_reliability = capped.reliability_str().to_string();
            evaluation.information_accuracy = u32::from(capped.accuracy);
        }
    }
}

/// The weaker of two evaluations, per axis (A best … X worst; 1 best … 4 worst).
fn weaker(a: Evaluation, b: Evaluation) -> Evaluation {
    let rank = |e: &Evaluation| match e.reliability_str() {
        "A" => 0,
        "B" => 1,
        "C" => 2,
        _ => 3,
    };
    Evaluation {
        reliability: if rank(&a) >= rank(&b) {
            a.reliability
        } else {
            b.reliability
        },
        accuracy: a.accuracy.max(b.accuracy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_weakens_each_axis_and_never_strengthens() {
        let e = |s: &str| s.parse::<Evaluation>().unwrap();
        assert_eq!(weaker(e("A1"), e("C3")), e("C3"));
        assert_eq!(weaker(e("X4"), e("B2")), e("X4"));
        assert_eq!(weaker(e("A4"), e("C1")), e("C4"));
    }
}
