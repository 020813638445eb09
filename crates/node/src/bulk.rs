//! Bulk publishing: a chunk of analyst drafts is normalised, checked and signed
//! item by item, and the good items are committed in one atomic, durable write
//! (one flush for the chunk). Each item gets its own answer; a bad item never
//! fails the others.
//!
//! Re-running an import stores nothing twice: an item whose indicator and
//! markings equal a live record this agency already holds (found through the
//! value index; validity is ignored, since it is computed at publish time) is
//! answered with that record's id. This module must never sign an item it then
//! does not commit without saying so, nor acknowledge an item before its write
//! is durable.
//!
//! Warninglists (issue 15) apply here as at single publish: each item answers
//! with the warninglists naming its value, and an item marked strict whose value
//! is warninglisted is refused before anything is signed.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::node::{Draft, Node};
use liaison_core::record::{Body, Indicator, RecordId, VerifiedRecord};

/// What happened to one item.
#[derive(Debug, Clone)]
pub enum BulkOutcome {
    /// Signed and durably stored; the warninglists naming its value (a warning).
    Stored(Box<VerifiedRecord>, Vec<String>),
    /// This agency already holds a live record with the same content.
    AlreadyPresent {
        id: RecordId,
        normalized_value: String,
        outside_known_ranges: bool,
        warninglists: Vec<String>,
    },
}

/// One item of a bulk publish: the draft, and whether a warninglisted value
/// must be refused (`PublishRequest.strict`).
#[derive(Debug, Clone)]
pub struct BulkDraft {
    pub draft: Draft,
    pub strict: bool,
}

impl Node {
    /// Publishes a chunk of drafts (each already checked for shape); one result
    /// per draft, in order. Fails as a whole only if the chunk's write fails, and
    /// then nothing of it was stored.
    pub async fn publish_many(
        self: &Arc<Self>,
        drafts: Vec<BulkDraft>,
    ) -> Result<Vec<Result<BulkOutcome>>> {
        let node = self.clone();
        let prepared = tokio::task::spawn_blocking(move || node.prepare_many(drafts))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        let records: Vec<VerifiedRecord> = prepared
            .iter()
            .filter_map(|r| match r {
                Ok(BulkOutcome::Stored(record, _)) => Some(record.as_ref().clone()),
                _ => None,
            })
            .collect();
        if !records.is_empty() {
            self.commit_own(records, Vec::new(), liaison_core::now_ms())
                .await?;
        }
        Ok(prepared)
    }

    fn prepare_many(&self, drafts: Vec<BulkDraft>) -> Vec<Result<BulkOutcome>> {
        let created_ms = liaison_core::now_ms();
        let mut in_chunk: HashMap<Indicator, RecordId> = HashMap::new();
        drafts
            .into_iter()
            .map(|BulkDraft { draft, strict }| {
                let indicator = self.indicator_from_draft(draft, created_ms)?;
                let warninglists = crate::warninglist::checked(
                    &self.store,
                    indicator.kind,
                    &indicator.value,
                    strict,
                )?;
                let key = content_key(&indicator);
                let earlier = match in_chunk.get(&key) {
                    Some(id) => Some(*id),
                    None => self.held_live_copy(&indicator, created_ms)?,
                };
                if let Some(id) = earlier {
                    return Ok(BulkOutcome::AlreadyPresent {
                        id,
                        normalized_value: indicator.value,
                        outside_known_ranges: indicator.outside_known_ranges,
                        warninglists,
                    });
                }
                let record = self.sign_own(Body::Indicator(indicator), created_ms)?;
                in_chunk.insert(key, record.id);
                Ok(BulkOutcome::Stored(Box::new(record), warninglists))
            })
            .collect()
    }

    /// A live record of ours with the same content, if this agency holds one.
    fn held_live_copy(&self, wanted: &Indicator, now_ms: i64) -> Result<Option<RecordId>> {
        let wanted = content_key(wanted);
        for id in self.store.lookup(wanted.kind, &wanted.value)? {
            let Some(stored) = self.store.get(&id)? else {
                continue;
            };
            if stored.record.origin() != self.node_id() {
                continue;
            }
            let Some(held) = stored.record.payload.indicator() else {
                continue;
            };
            let live = self.store.expires_ms(&stored).is_some_and(|t| t > now_ms);
            if live && content_key(held) == wanted {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

/// An indicator's content for duplicate detection: everything but its validity.
fn content_key(indicator: &Indicator) -> Indicator {
    Indicator {
        valid_until_ms: 0,
        ..indicator.clone()
    }
}
