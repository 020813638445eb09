//! Verification of one incoming batch: shape, signatures (batched), origin trust,
//! time sanity, field validity and the sharing rules the sender had to respect.
//!
//! A record refused for a reason that may pass (the record it refers to has not
//! arrived yet, a storage read failed) is *deferred*, not rejected: the puller
//! keeps it in the partner's pending set and tries again. Work per batch is
//! linear in its size (lookups go through maps keyed by id).
//!
//! This module must never write to the store; it only decides.

use std::collections::{HashMap, HashSet};

use crate::node::Node;
use liaison_core::policy::{self, Grant, Provenance};
use liaison_core::proto;
use liaison_core::record::{Body, Envelope, NodeId, RecordId, VerifiedRecord};
use liaison_identity::identity::Bundle;
use liaison_store::store::PartnerEntry;

/// What to store, what to keep for a retry, and what to count against the sender.
#[derive(Default)]
pub struct BatchVerdict {
    pub accepted: Vec<VerifiedRecord>,
    /// Verified records refused for a temporary reason, with that reason.
    pub deferred: Vec<(VerifiedRecord, String)>,
    pub rejected: u64,
    pub last_rejection: Option<String>,
    /// Rejections counted by reason class, for the metrics.
    pub rejected_by_class: std::collections::BTreeMap<String, u64>,
    /// Third-party origins first learned from this batch's bundles.
    pub new_origins: Vec<(NodeId, PartnerEntry)>,
    /// Records skipped unverified because this node already stores them.
    pub already_held: u64,
    /// Bulletin member openings that open their commitments (issue 15).
    pub openings: Vec<(RecordId, Vec<crate::bulletin::Opening>)>,
    learned: HashSet<NodeId>,
}

impl BatchVerdict {
    fn reject(&mut self, reason: String) {
        self.rejected += 1;
        *self
            .rejected_by_class
            .entry(liaison_core::telemetry::reason_class(&reason))
            .or_default() += 1;
        self.last_rejection = Some(reason);
    }
}

/// Why a record is refused: for good, or for now.
enum Refusal {
    Permanent(String),
    Temporary(String),
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Refusal::Permanent(reason)
    }
}

impl From<&str> for Refusal {
    fn from(reason: &str) -> Self {
        Refusal::Permanent(reason.to_string())
    }
}

/// Origin and markings of the indicators a batch may refer to without them
/// being stored yet: this batch's accepted records and the previous batch's.
/// Only the markings are kept (a reference's checks read nothing else), so
/// remembering a record copies no value, description or labels.
#[derive(Default, Clone)]
pub struct Known {
    indicators: HashMap<RecordId, (NodeId, Option<Target>)>,
}

impl Known {
    pub fn of(records: &[VerifiedRecord]) -> Known {
        let mut known = Known::default();
        for record in records {
            known.add(record);
        }
        known
    }

    fn add(&mut self, record: &VerifiedRecord) {
        self.indicators.insert(
            record.id,
            (record.origin(), Target::of(&record.payload.body)),
        );
    }
}

/// What the next batch's checks need of a batch accepted but perhaps not yet
/// written: the markings of its records, and its bulletins (whose openings may
/// come in the next batch). Built once per batch instead of cloning every
/// accepted record.
#[derive(Default)]
pub struct Uncommitted {
    known: Known,
    bulletins: Vec<VerifiedRecord>,
}

impl Uncommitted {
    pub fn of(records: &[VerifiedRecord]) -> Uncommitted {
        Uncommitted {
            known: Known::of(records),
            bulletins: records
                .iter()
                .filter(|r| r.payload.bulletin().is_some())
                .cloned()
                .collect(),
        }
    }
}

/// Verifies a batch as received. `uncommitted` is what the previous batch,
/// accepted but possibly not yet written, left: references to its records
/// must resolve.
pub fn verify_batch(
    node: &Node,
    sender: &Grant,
    batch: proto::PullBatch,
    uncommitted: &Uncommitted,
) -> BatchVerdict {
    let mut verdict = BatchVerdict::default();
    let carried = carried_origins(sender, &batch.origins, &mut verdict);
    let mut known = uncommitted.known.clone();
    verify_records(
        node,
        sender,
        batch.records,
        &carried,
        &mut known,
        &mut verdict,
    );
    // A bad opening is refused alone; the bulletin it came with stays.
    let fresh = [
        verdict.accepted.as_slice(),
        uncommitted.bulletins.as_slice(),
    ];
    let (openings, refused) =
        crate::bulletin::check_openings(node, batch.bulletin_openings, &fresh);
    verdict.openings = openings;
    for reason in refused {
        verdict.reject(reason);
    }
    verdict
}

/// Verifies records (a batch's, or pending ones retried) into `verdict`;
/// accepted records join `known` so later ones may refer to them.
pub fn verify_records(
    node: &Node,
    sender: &Grant,
    records: Vec<proto::Envelope>,
    carried: &HashMap<NodeId, Bundle>,
    known: &mut Known,
    verdict: &mut BatchVerdict,
) {
    let mut envelopes = Vec::with_capacity(records.len());
    for wire in records {
        match Envelope::from_wire(wire) {
            // A record already stored (a replay, or one relayed by two peers) has
            // the same id and nothing new: skip it before the costly signature check.
            Ok(envelope) if node.store.holds(&envelope.id()).unwrap_or(false) => {
                verdict.already_held += 1
            }
            Ok(envelope) => envelopes.push(envelope),
            Err(e) => verdict.reject(e.to_string()),
        }
    }
    for result in super::parallel::verify_in_parallel(envelopes) {
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                verdict.reject(e.to_string());
                continue;
            }
        };
        match check_record(node, sender, &record, carried, known) {
            Ok(()) => {
                if let Some(bundle) = carried.get(&record.origin()) {
                    learn_origin(node, sender, bundle, verdict);
                }
                known.add(&record);
                verdict.accepted.push(record);
            }
            Err(Refusal::Temporary(reason)) => {
                // Its origin's bundle is not handed over again with a retry.
                if let Some(bundle) = carried.get(&record.origin()) {
                    learn_origin(node, sender, bundle, verdict);
                }
                verdict.deferred.push((record, reason))
            }
            Err(Refusal::Permanent(reason)) => {
                verdict.reject(format!("record {}: {reason}", record.id.short()))
            }
        }
    }
}

/// Tries the partner's pending records (`stored`, oldest first) and this
/// batch's deferred ones again, now that `verdict.accepted` is known: accepted
/// ones join `verdict.accepted`, settled stored entries are listed in the
/// returned `resolved`, and what still waits stays in `verdict.deferred`.
/// Signatures were checked on arrival and are not checked again.
pub fn retry_pending(
    node: &Node,
    sender: &Grant,
    stored: Vec<(u64, VerifiedRecord)>,
    verdict: &mut BatchVerdict,
) -> Vec<u64> {
    let mut known = Known::of(&verdict.accepted);
    let none = HashMap::new();
    let mut resolved = Vec::new();
    for (seq, record) in stored {
        match check_record(node, sender, &record, &none, &known) {
            Ok(()) => {
                known.add(&record);
                verdict.accepted.push(record);
                resolved.push(seq);
            }
            Err(Refusal::Temporary(_)) => {}
            Err(Refusal::Permanent(reason)) => {
                verdict.reject(format!("record {}: {reason}", record.id.short()));
                resolved.push(seq);
            }
        }
    }
    for (record, reason) in std::mem::take(&mut verdict.deferred) {
        match check_record(node, sender, &record, &none, &known) {
            Ok(()) => {
                known.add(&record);
                verdict.accepted.push(record);
            }
            Err(Refusal::Temporary(_)) => verdict.deferred.push((record, reason)),
            Err(Refusal::Permanent(reason)) => {
                verdict.reject(format!("record {}: {reason}", record.id.short()))
            }
        }
    }
    resolved
}

/// Bundles a relay partner handed over; ignored from partners without relay rights.
fn carried_origins(
    sender: &Grant,
    bundles: &[proto::SignedBundle],
    verdict: &mut BatchVerdict,
) -> HashMap<NodeId, Bundle> {
    if !sender.relay {
        return HashMap::new();
    }
    bundles
        .iter()
        .filter_map(|signed| {
            let bytes = prost::Message::encode_to_vec(signed);
            match Bundle::from_signed(&bytes) {
                Ok(bundle) => Some((bundle.node_id, bundle)),
                Err(e) => {
                    verdict.reject(format!("origin bundle: {e}"));
                    None
                }
            }
        })
        .collect()
}

/// Refuses a record created further in the future than the allowed clock skew:
/// it would otherwise sit at the top of every search.
pub fn check_created(created_ms: i64, now_ms: i64, max_skew_seconds: u64) -> Result<(), String> {
    let skew_ms = i64::try_from(max_skew_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    if created_ms > now_ms.saturating_add(skew_ms) {
        let ahead = created_ms.saturating_sub(now_ms) / 1000;
        return Err(format!(
            "created: {ahead} s ahead of this node's clock (at most {max_skew_seconds} s allowed)"
        ));
    }
    Ok(())
}

fn check_record(
    node: &Node,
    sender: &Grant,
    record: &VerifiedRecord,
    carried: &HashMap<NodeId, Bundle>,
    known: &Known,
) -> Result<(), Refusal> {
    let origin = record.origin();
    if origin == node.node_id() {
        return Err("claims to be our own record".into());
    }
    check_created(
        record.payload.created_ms,
        liaison_core::now_ms(),
        node.config.max_clock_skew_seconds,
    )?;
    let provenance = Provenance {
        origin,
        received_from: Some(sender.node),
    };
    let trusted = origin == sender.node || origin_trusted(node, &origin, carried)?;
    let own = node.node_id();
    match &record.payload.body {
        Body::Indicator(indicator) => {
            if let Some(target) = indicator.supersedes {
                check_same_origin(
                    find_target(node, known, &target, false)?,
                    origin,
                    "supersede",
                )?;
            }
            Ok(policy::check_incoming(
                own, sender, provenance, trusted, indicator,
            )?)
        }
        // A revocation may withdraw a bulletin too; it follows the bulletin's markings.
        Body::Revocation(r) => match find_target(node, known, &r.record_id, true)? {
            Some(target) => {
                check_same_origin(Some(target.clone()), origin, "revoke")?;
                let (target_origin, markings) = target;
                Ok(policy::check_incoming_reference(
                    own,
                    sender,
                    provenance,
                    trusted,
                    target_origin,
                    &markings,
                )?)
            }
            // Kept, and applied if the record arrives later; only straight from
            // its origin, since nothing here says who may see it.
            None if origin == sender.node => Ok(()),
            None => Err(Refusal::Temporary(
                "relayed revocation of a record this node does not hold (yet)".into(),
            )),
        },
        // A bulletin is received under an indicator's rules; its members are
        // commitments, so it refers to nothing that must arrive first.
        Body::Bulletin(bulletin) => Ok(policy::check_incoming(
            own, sender, provenance, trusted, bulletin,
        )?),
        Body::Sighting(s) => match find_target(node, known, &s.record_id, false)? {
            Some((target_origin, markings)) => Ok(policy::check_incoming_reference(
                own,
                sender,
                provenance,
                trusted,
                target_origin,
                &markings,
            )?),
            None => Err(Refusal::Temporary(
                "sighting of a record this node does not hold (yet)".into(),
            )),
        },
    }
}

/// A third party's origin must be enrolled, known (and not blocked), or
/// introduced by the relay right here.
fn origin_trusted(
    node: &Node,
    origin: &NodeId,
    carried: &HashMap<NodeId, Bundle>,
) -> Result<bool, Refusal> {
    let known = node
        .store
        .known_origin(origin)
        .map_err(|e| Refusal::Temporary(format!("reading known origins: {e}")))?;
    if known.as_ref().is_some_and(|k| k.blocked) {
        return Err(format!(
            "origin {} is blocked by this agency's admin",
            origin.short()
        )
        .into());
    }
    Ok(node.grant_for(origin).is_some() || known.is_some() || carried.contains_key(origin))
}

/// The origin and markings of a referenced indicator: earlier in this batch or
/// the previous one, or stored. A storage error is temporary.
fn find_target(
    node: &Node,
    known: &Known,
    id: &RecordId,
    bulletins: bool,
) -> Result<Option<(NodeId, Target)>, Refusal> {
    let not_indicator = || Refusal::from("refers to a record that is not an indicator");
    let allowed = |target: Option<Target>| match target {
        Some(target) if target.bulletin && !bulletins => Err(not_indicator()),
        Some(target) => Ok(target),
        None => Err(not_indicator()),
    };
    if let Some((origin, target)) = known.indicators.get(id) {
        return Ok(Some((*origin, allowed(target.clone())?)));
    }
    let stored = node
        .store
        .get(id)
        .map_err(|e| Refusal::Temporary(format!("reading the referenced record: {e}")))?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let target = Target::of(&stored.record.payload.body);
    Ok(Some((stored.record.origin(), allowed(target)?)))
}

/// What a reference may point at: an indicator, or (a revocation only) a
/// bulletin; the sharing rules read either's markings, copied here.
#[derive(Clone)]
pub struct Target {
    bulletin: bool,
    tlp: liaison_core::record::Tlp,
    handling: Vec<liaison_core::record::HandlingCode>,
    recipients: Vec<NodeId>,
}

impl Target {
    /// The markings of an indicator or a bulletin; `None` for anything else.
    fn of(body: &Body) -> Option<Target> {
        let (bulletin, markings): (bool, &dyn policy::Markings) = match body {
            Body::Indicator(i) => (false, i),
            Body::Bulletin(b) => (true, b),
            _ => return None,
        };
        Some(Target {
            bulletin,
            tlp: markings.tlp(),
            handling: markings.handling().to_vec(),
            recipients: markings.recipients().to_vec(),
        })
    }
}

impl policy::Markings for Target {
    fn tlp(&self) -> liaison_core::record::Tlp {
        self.tlp
    }
    fn handling(&self) -> &[liaison_core::record::HandlingCode] {
        &self.handling
    }
    fn recipients(&self) -> &[NodeId] {
        &self.recipients
    }
}

/// Only a record's origin may revoke or supersede it.
fn check_same_origin(
    target: Option<(NodeId, Target)>,
    origin: NodeId,
    what: &str,
) -> Result<(), Refusal> {
    match target {
        Some((target_origin, _)) if target_origin != origin => Err(format!(
            "{} tries to {what} a record of another origin ({})",
            origin.short(),
            target_origin.short()
        )
        .into()),
        _ => Ok(()),
    }
}

fn learn_origin(node: &Node, sender: &Grant, bundle: &Bundle, verdict: &mut BatchVerdict) {
    let known = node.grant_for(&bundle.node_id).is_some()
        || verdict.learned.contains(&bundle.node_id)
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
    verdict.learned.insert(bundle.node_id);
    verdict.new_origins.push((bundle.node_id, entry));
}

#[cfg(test)]
mod tests {
    use super::check_created;

    #[test]
    fn created_beyond_the_clock_skew_is_refused() {
        let now = 1_700_000_000_000;
        assert!(check_created(now, now, 300).is_ok());
        assert!(check_created(now + 300_000, now, 300).is_ok());
        let err = check_created(now + 300_001, now, 300).unwrap_err();
        assert!(err.starts_with("created: "), "{err}");
        assert!(check_created(i64::MAX, now, 300).is_err());
        assert!(check_created(i64::MIN, now, 300).is_ok());
        assert!(check_created(now + 10, now, 0).is_err());
    }
}
