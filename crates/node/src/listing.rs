//! Listing what the node holds: live indicators (its own and partners'), newest
//! first, a page at a time, walking the change log backwards from a page token.
//!
//! A page costs at most [`MAX_SCAN`] change-log entries whatever the filters, so a
//! selective filter returns short pages with a token to go on rather than one
//! long scan. This module must never list an expired record, a revoked or
//! superseded one unless asked, nor anything but indicators.

use crate::error::Result;
use crate::node::Node;
use liaison_core::indicator::Kind;
use liaison_core::record::{Label, NodeId};
use liaison_store::store::StoredRecord;

/// Change-log entries examined per page at most.
pub const MAX_SCAN: usize = 20_000;
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 1_000;

/// What to list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<Kind>,
    pub label: Option<Label>,
    pub case_reference: Option<String>,
    pub origin: Option<NodeId>,
    pub since_ms: Option<i64>,
    /// Also revoked and superseded indicators (still within their validity).
    pub include_revoked: bool,
}

/// One page, and where the next one starts (`None`: nothing more).
pub struct Page {
    pub records: Vec<StoredRecord>,
    pub next: Option<u64>,
}

/// Up to `limit` records older (in change-log order) than `before`.
pub fn page(node: &Node, filter: &Filter, before: u64, limit: usize) -> Result<Page> {
    let now = liaison_core::now_ms();
    let mut records = Vec::new();
    let changes = node.store.changes_before(before, MAX_SCAN)?;
    let scanned_all = changes.len() < MAX_SCAN;
    let mut next = changes.last().map(|(seq, _)| *seq);
    for (seq, id) in changes {
        let Some(stored) = node.store.get(&id)? else {
            continue;
        };
        if filter
            .since_ms
            .is_some_and(|since| stored.received_ms < since)
        {
            // Older from here on: the change log follows arrival order.
            return Ok(Page {
                records,
                next: None,
            });
        }
        if !wanted(node, filter, &stored, now)? {
            continue;
        }
        records.push(stored);
        if records.len() == limit {
            next = Some(seq);
            return Ok(Page { records, next });
        }
    }
    if scanned_all {
        next = None;
    }
    Ok(Page { records, next })
}

fn wanted(node: &Node, filter: &Filter, stored: &StoredRecord, now: i64) -> Result<bool> {
    let Some(indicator) = stored.record.payload.indicator() else {
        return Ok(false);
    };
    let matches = filter.kind.is_none_or(|k| indicator.kind == k)
        && filter.label.is_none_or(|l| indicator.labels.contains(&l))
        && filter
            .case_reference
            .as_ref()
            .is_none_or(|c| indicator.case_reference == *c)
        && filter.origin.is_none_or(|o| stored.record.origin() == o)
        && node.store.expires_ms(stored).is_some_and(|t| t > now);
    Ok(matches && (filter.include_revoked || !node.store.is_tombstoned(&stored.record.id)?))
}
