//! What was disclosed to one partner, from the log alone: records served by sync
//! counted by TLP, kind and label; batches receipted and not; the search answers
//! it got, with the justifications its analysts gave.
//!
//! The counts come from the `counts` each disclosure entry carries (computed when
//! the batch was served), so the report needs neither the database nor the
//! running node. This module only reads.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::{json, Value};

use super::error::AuditError;
use super::query::{for_each, time_text};
use liaison_core::record::{Body, VerifiedRecord};

/// Counts of records by TLP, kind and label, as stored in a disclosure entry.
#[derive(Default)]
pub struct Tally(Counts);

impl Tally {
    pub fn add(&mut self, record: &VerifiedRecord) {
        let counts = &mut self.0;
        let kind = match &record.payload.body {
            Body::Indicator(i) => {
                *counts.tlp.entry(i.tlp.as_str().to_string()).or_default() += 1;
                for label in &i.labels {
                    *counts.label.entry(label.to_string()).or_default() += 1;
                }
                i.kind.as_str()
            }
            Body::Revocation(_) => "revocation",
            Body::Sighting(_) => "sighting",
            Body::Bulletin(b) => {
                *counts.tlp.entry(b.tlp.as_str().to_string()).or_default() += 1;
                "bulletin"
            }
        };
        *counts.kind.entry(kind.to_string()).or_default() += 1;
    }

    pub fn to_json(&self) -> Value {
        self.0.to_json()
    }
}

#[derive(Default)]
struct Counts {
    tlp: BTreeMap<String, u64>,
    kind: BTreeMap<String, u64>,
    label: BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, counts: &Value) {
        for (field, into) in [
            ("tlp", &mut self.tlp),
            ("kind", &mut self.kind),
            ("label", &mut self.label),
        ] {
            if let Some(map) = counts.get(field).and_then(|m| m.as_object()) {
                for (key, n) in map {
                    *into.entry(key.clone()).or_default() += n.as_u64().unwrap_or(0);
                }
            }
        }
    }

    fn to_json(&self) -> Value {
        json!({ "tlp": self.tlp, "kind": self.kind, "label": self.label })
    }
}

/// A served batch, by the (cursor, digest) its receipt must name.
type BatchKey = (u64, String);

#[derive(Default)]
struct Builder {
    batches: u64,
    records: u64,
    by_sync: Counts,
    answers: u64,
    answered_records: u64,
    by_search: Counts,
    served: Vec<(BatchKey, u64)>,
    receipted: HashSet<BatchKey>,
    searches: Vec<Value>,
}

fn batch_key(detail: &Value) -> Option<BatchKey> {
    let cursor = detail.get("cursor")?.as_u64()?;
    let digest = detail.get("digest")?.as_str()?.to_string();
    Some((cursor, digest))
}

/// The report for `partner` (full node id) over entries since `since_ms`.
pub fn partner_report(path: &Path, partner: &str, since_ms: i64) -> Result<Value, AuditError> {
    let mut b = Builder::default();
    for_each(path, |entry| {
        if entry.time_ms < since_ms || entry.partner() != Some(partner) {
            return;
        }
        let detail = &entry.detail;
        let count = detail.get("count").and_then(|c| c.as_u64()).unwrap_or(0);
        match entry.action.as_str() {
            "sync.disclose" => {
                b.batches += 1;
                b.records += count;
                b.by_sync.add(&detail["counts"]);
                if let Some(key) = batch_key(detail) {
                    b.served.push((key, count));
                }
            }
            "sync.receipt" => {
                let batches = detail["batches"].as_array().into_iter().flatten();
                for batch in batches.filter(|b| b["matches_disclosure"] == Value::Bool(true)) {
                    if let Some(key) = batch_key(batch) {
                        b.receipted.insert(key);
                    }
                }
            }
            "search.answer" => {
                let results = detail["records"].as_array().map_or(0, |r| r.len() as u64);
                b.answers += 1;
                b.answered_records += results;
                b.by_search.add(&detail["counts"]);
                b.searches.push(json!({
                    "time": time_text(entry.time_ms),
                    "analyst": detail["analyst"],
                    "justification": detail["justification"],
                    "case_reference": detail["case_reference"],
                    "queries": detail["queries"],
                    "results": results,
                }));
            }
            _ => {}
        }
    })?;
    let (mut receipted, mut unreceipted) = ((0, 0), (0, 0));
    let mut missing = Vec::new();
    for (key, count) in &b.served {
        match b.receipted.contains(key) {
            true => receipted = (receipted.0 + 1, receipted.1 + count),
            false => {
                unreceipted = (unreceipted.0 + 1, unreceipted.1 + count);
                missing.push(key.0);
            }
        }
    }
    Ok(json!({
        "partner": partner,
        "since": time_text(since_ms),
        "sync": {
            "batches": b.batches,
            "records": b.records,
            "counts": b.by_sync.to_json(),
        },
        "receipts": {
            "batches_receipted": receipted.0,
            "records_receipted": receipted.1,
            "batches_unreceipted": unreceipted.0,
            "records_unreceipted": unreceipted.1,
            "unreceipted_cursors": missing,
        },
        "search_answers": {
            "answers": b.answers,
            "records": b.answered_records,
            "counts": b.by_search.to_json(),
        },
        "searches": b.searches,
    }))
}
