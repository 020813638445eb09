//! Correlation: for a value, which agencies hold an indicator for it (own and
//! received records), the labels they used, and who sighted it — answered from
//! the value index and the sighting index, both maintained on every insert,
//! revocation and purge, so a lookup never scans the store.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::indicator::Normalized;
use crate::node::Node;
use crate::proto;
use crate::record::{Body, NodeId, RecordId};

#[derive(Default)]
struct Holding {
    labels: Vec<String>,
    records: u32,
    sightings: u32,
    last_sighting_ms: i64,
}

/// Sightings of a record: how many, and the latest time.
pub fn sighting_summary(node: &Node, id: &RecordId) -> Result<(u32, i64)> {
    let mut count = 0;
    let mut last = 0;
    for sighting in node.store.sightings_of(id)? {
        if let Some(stored) = node.store.get(&sighting)? {
            count += 1;
            last = last.max(stored.record.payload.created_ms);
        }
    }
    Ok((count, last))
}

/// The live (not expired, not revoked) records for one normalised value.
pub fn live_records(node: &Node, query: &Normalized) -> Result<Vec<crate::store::StoredRecord>> {
    let now = crate::now_ms();
    let mut out = Vec::new();
    for id in node.store.lookup(query.kind, &query.value)? {
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
            let sighter = agencies.entry(seen.record.origin()).or_default();
            sighter.sightings += 1;
            sighter.last_sighting_ms = sighter.last_sighting_ms.max(seen.record.payload.created_ms);
        }
    }
    let holdings: Vec<proto::AgencyHolding> = agencies
        .into_iter()
        .map(|(origin, h)| proto::AgencyHolding {
            origin: origin.to_hex(),
            name: crate::service::origin_name(node, &origin),
            labels: h.labels,
            records: h.records,
            sightings: h.sightings,
            last_sighting_unix_ms: h.last_sighting_ms,
        })
        .collect();
    Ok(proto::Correlation {
        query: format!("{}:{}", query.kind, query.value),
        agencies: holdings.len() as u32,
        holdings,
    })
}
