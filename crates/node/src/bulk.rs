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
//!
//! A [`BulkSession`] (one import stream) pipelines its chunks (issue 26): chunk
//! N+1 is prepared (normalised, checked, signed) on the blocking pool while
//! chunk N is written. The duplicate check of a chunk being prepared also sees
//! the items of earlier chunks signed but not yet durable, so a file that
//! repeats a row across chunks still stores it once.
//!
//! While a session lives, the background builder of the lookup filters defers
//! refreshing them (see [`crate::lookup::schedule`]): a refresh re-reads every
//! record, and repeated during an import it made the import's cost grow with
//! the square of its size.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

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
        let session = BulkSession::new(self.clone());
        let prepared = session.prepare(drafts).await?;
        session.write(prepared).await
    }

    /// Prepares one chunk; `unwritten` are the items of earlier chunks of the
    /// same session signed but not yet durable (content key to record id).
    fn prepare_many(
        &self,
        drafts: Vec<BulkDraft>,
        unwritten: &HashMap<Indicator, RecordId>,
    ) -> (Vec<Result<BulkOutcome>>, HashMap<Indicator, RecordId>) {
        let created_ms = liaison_core::now_ms();
        let mut in_chunk: HashMap<Indicator, RecordId> = HashMap::new();
        let outcomes = drafts
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
                let earlier = match in_chunk.get(&key).or_else(|| unwritten.get(&key)) {
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
            .collect();
        (outcomes, in_chunk)
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

/// One chunk, signed and checked, not yet written.
pub struct PreparedChunk {
    seq: u64,
    outcomes: Vec<Result<BulkOutcome>>,
}

/// One import stream's chunks, prepared ahead of their writes (see the module
/// doc). Prepare chunks in order with [`BulkSession::prepare`] and write them in
/// the same order with [`BulkSession::write`]; the two may overlap.
pub struct BulkSession {
    node: Arc<Node>,
    /// Per prepared chunk not yet written: its sequence in the session and the
    /// content keys it signed.
    unwritten: Mutex<VecDeque<(u64, HashMap<Indicator, RecordId>)>>,
    next_seq: std::sync::atomic::AtomicU64,
}

impl BulkSession {
    pub fn new(node: Arc<Node>) -> Arc<BulkSession> {
        node.lookup.server.import_started();
        Arc::new(BulkSession {
            node,
            unwritten: Mutex::new(VecDeque::new()),
            next_seq: Default::default(),
        })
    }

    /// Normalises, checks and signs one chunk on the blocking pool (the CPU
    /// work of an import), so that it can run while an earlier chunk is written.
    pub async fn prepare(self: &Arc<Self>, drafts: Vec<BulkDraft>) -> Result<PreparedChunk> {
        let session = self.clone();
        tokio::task::spawn_blocking(move || {
            let seq = session
                .next_seq
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // A chunk taken off this list is durable, so the store's value
            // index answers for it from then on.
            let unwritten: HashMap<Indicator, RecordId> = session
                .queue()
                .iter()
                .flat_map(|(_, keys)| keys.iter().map(|(k, id)| (k.clone(), *id)))
                .collect();
            let (outcomes, signed) = session.node.prepare_many(drafts, &unwritten);
            session.queue().push_back((seq, signed));
            PreparedChunk { seq, outcomes }
        })
        .await
        .map_err(|_| Error::ShuttingDown)
    }

    /// Writes a prepared chunk in one durable commit; its answers, in order,
    /// once the write is durable. On an error nothing of the chunk is stored.
    pub async fn write(&self, chunk: PreparedChunk) -> Result<Vec<Result<BulkOutcome>>> {
        let records: Vec<VerifiedRecord> = chunk
            .outcomes
            .iter()
            .filter_map(|r| match r {
                Ok(BulkOutcome::Stored(record, _)) => Some(record.as_ref().clone()),
                _ => None,
            })
            .collect();
        let written = match records.is_empty() {
            true => Ok(()),
            false => {
                self.node
                    .commit_own(records, Vec::new(), liaison_core::now_ms())
                    .await
            }
        };
        // Durable (or, on an error, never to be): either way no longer pending.
        self.queue().retain(|(seq, _)| *seq != chunk.seq);
        written.map(|()| chunk.outcomes)
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, HashMap<Indicator, RecordId>)>> {
        // The list holds plain data: a panic elsewhere cannot leave it torn.
        self.unwritten.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for BulkSession {
    fn drop(&mut self) {
        // The lookup filters deferred their refresh while this session ran.
        self.node.lookup.server.import_ended();
    }
}

/// An indicator's content for duplicate detection: everything but its validity.
fn content_key(indicator: &Indicator) -> Indicator {
    Indicator {
        valid_until_ms: 0,
        ..indicator.clone()
    }
}
