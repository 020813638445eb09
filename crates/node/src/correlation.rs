//! Correlation: for a value, which agencies hold an indicator for it (own and
//! received records), the labels they used, and who sighted it — answered from
//! the value index and the sighting index, both maintained on every insert,
//! revocation and purge, so a lookup never scans the store.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::node::Node;
use liaison_core::indicator::Normalized;
use liaison_core::proto;
use liaison_core::record::{Body, NodeId, RecordId, SightingType};

#[derive(Default)]
struct Holding {
    labels: Vec<String>,
    records: u32,
    sightings: u32,
    last_sighting_ms: i64,
    false_positives: u32,
    expired: u32,
}

/// Sightings of one record, by type. `seen` and `last_seen_ms` count only type
/// "seen": a false positive must weaken a record, never make it look stronger.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SightingSummary {
    pub seen: u32,
    pub last_seen_ms: i64,
    pub false_positives: u32,
    /// The agencies that marked the record a false positive (one entry each).
    pub false_positive_by: Vec<NodeId>,
    pub expired: u32,
}

/// Sightings of a record, counted by type.
pub fn sighting_summary(node: &Node, id: &RecordId) -> Result<SightingSummary> {
    let mut summary = SightingSummary::default();
    for sighting in node.store.sightings_of(id)? {
        let Some(stored) = node.store.get(&sighting)? else {
            continue;
        };
        let Body::Sighting(s) = &stored.record.payload.body else {
            continue;
        };
        match s.kind {
            SightingType::Seen => {
                summary.seen += 1;
                summary.last_seen_ms = summary.last_seen_ms.max(stored.record.payload.created_ms);
            }
            SightingType::FalsePositive => {
                summary.false_positives += 1;
                let by = stored.record.origin();
                if !summary.false_positive_by.contains(&by) {
                    summary.false_positive_by.push(by);
                }
            }
            SightingType::Expired => summary.expired += 1,
        }
    }
    Ok(summary)
}

/// The live (not expired, not revoked) records for one normalised value; for
/// an address, also those of the published ranges that contain it.
pub fn live_records(
    node: &Node,
    query: &Normalized,
) -> Result<Vec<liaison_store::store::StoredRecord>> {
    let now = liaison_core::now_ms();
    let mut out = Vec::new();
    let mut ids = node.store.lookup(query.kind, &query.value)?;
    // An address also finds the published ranges that contain it.
    if query.kind == liaison_core::indicator::Kind::Ip {
        ids.extend(node.store.lookup_ranges_containing(&query.value)?);
    }
    for id in ids {
        let Some(stored) = node.store.get(&id)? else {
            continue;
        };
        // The effective expiry: valid-until clamped to the local maximum retention.
        let expired = node.store.expires_ms(&stored).is_some_and(|t| t <= now);
        if !expired {
            out.push(stored);
        }
    }
    Ok(out)
}

pub fn correlate(node: &Node, query: &Normalized) -> Result<proto::Correlation> {
    let mut agencies: BTreeMap<NodeId, Holding> = BTreeMap::new();
    for stored in live_records(node, query)? {
        let Body::Indicator(indicator) = &stored.record.payload.body else {
            continue;
        };
        let holding = agencies.entry(stored.record.origin()).or_default();
        holding.records += 1;
        for label in &indicator.labels {
            if !holding.labels.iter().any(|l| l == label.as_str()) {
                holding.labels.push(label.as_str().to_string());
            }
        }
        for sighting in node.store.sightings_of(&stored.record.id)? {
            let Some(seen) = node.store.get(&sighting)? else {
                continue;
            };
            let Body::Sighting(s) = &seen.record.payload.body else {
                continue;
            };
            let sighter = agencies.entry(seen.record.origin()).or_default();
            match s.kind {
                SightingType::Seen => {
                    sighter.sightings += 1;
                    sighter.last_sighting_ms =
                        sighter.last_sighting_ms.max(seen.record.payload.created_ms);
                }
                SightingType::FalsePositive => sighter.false_positives += 1,
                SightingType::Expired => sighter.expired += 1,
            }
        }
    }
    let holdings: Vec<proto::AgencyHolding> = agencies
        .into_iter()
        .map(|(origin, h)| proto::AgencyHolding {
            origin: origin.to_hex(),
            name: crate::names::origin_name(node, &origin),
            labels: h.labels,
            records: h.records,
            sightings: h.sightings,
            last_sighting_unix_ms: h.last_sighting_ms,
            false_positives: h.false_positives,
            expired: h.expired,
        })
        .collect();
    Ok(proto::Correlation {
        query: format!("{}:{}", query.kind, query.value),
        agencies: holdings.len() as u32,
        holdings,
    })
}
