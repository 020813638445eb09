//! The MISP feed's built state (issue 20 item 8), kept for every request of one
//! node: per block of the change log its `hashes.csv` lines, attribute count,
//! time and first expiry; and the bulletin events, built. A request brings it
//! up to date at a cost proportional to what changed since the last one: the
//! blocks the durable log grew into, a block a record logged again has left,
//! the block of a record a newly logged revocation (or superseding version)
//! withdraws, blocks past their first expiry; the bulletin events when the durable
//! position or the record count moved. Then `hashes.csv` is streamed from the
//! blocks' chunks and the manifest written from their entries: O(blocks) per
//! request, no record read. The first request after start builds every block.
//!
//! Which records a block lists is decided by the store
//! ([`liaison_store::store::Store::current_at`]: a record at its latest position only)
//! and [`page::served`] (live indicators); this module only remembers the
//! answers. It must never serve past the durable position or an expired record:
//! a block or the bulletin events are rebuilt at their first expiry, and the
//! retention purge removes only expired records.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use md5::{Digest, Md5};
use serde_json::Value;

use super::errors::HttpError;
use super::misp_feed_bulletins as bulletins;
use super::page::{self, Item, Scope};
use liaison_core::formats::misp::attribute_value;
use liaison_core::record::RecordId;
use liaison_node::node::Node;

/// Change-log positions per event.
pub(super) const BLOCK: u64 = 1_000;

/// One block's event as the feed lists it.
#[derive(Clone, Default)]
pub(super) struct BlockEntry {
    /// Its `hashes.csv` lines.
    pub lines: Bytes,
    pub attributes: usize,
    /// When anything in it last changed (`None`: nothing stored there).
    pub time: Option<i64>,
    /// The first effective expiry among its attributes (`i64::MAX`: none).
    next_expiry: i64,
}

/// One bulletin's event, built.
pub(super) struct BulletinEntry {
    pub uuid: String,
    pub manifest: Value,
    pub body: Bytes,
    pub attributes: usize,
    pub lines: Bytes,
}

struct Bulletins {
    /// (durable position, records held) they were built at.
    key: (u64, u64),
    next_expiry: i64,
    events: Arc<Vec<BulletinEntry>>,
}

#[derive(Default)]
struct State {
    /// The durable position the blocks are built to.
    durable: u64,
    blocks: Arc<Vec<BlockEntry>>,
    /// Event uuid → block (a UUIDv5 does not invert).
    uuids: Arc<HashMap<String, u64>>,
    /// Records logged again, and the block where each stands now: the block
    /// to rebuild when it moves again.
    moved: HashMap<RecordId, u64>,
    bulletins: Option<Bulletins>,
}

/// The feed as one request sees it.
pub(super) struct View {
    pub blocks: Arc<Vec<BlockEntry>>,
    pub uuids: Arc<HashMap<String, u64>>,
    pub bulletins: Arc<Vec<BulletinEntry>>,
}

/// The feed's state for one node; requests share it.
#[derive(Default)]
pub struct FeedCache {
    state: Mutex<State>,
}

fn block_of(seq: u64) -> u64 {
    seq.saturating_sub(1) / BLOCK
}

impl FeedCache {
    /// The feed as of now, brought up to date first (blocking: store reads).
    pub(super) fn view(&self, node: &Node) -> Result<View, HttpError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| HttpError::internal("MISP feed cache lock poisoned"))?;
        let now = liaison_core::now_ms();
        let durable = node.commits.durable();
        let mut dirty: BTreeSet<u64> = state
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, block)| block.next_expiry <= now)
            .map(|(b, _)| b as u64)
            .collect();
        if durable > state.durable {
            dirty.extend(block_of(state.durable + 1)..=block_of(durable));
        }
        let mut rebuilt = BTreeSet::new();
        while let Some(block) = dirty.pop_first() {
            let (entry, left) = build_block(node, block, durable, now, &mut state.moved)?;
            let blocks = Arc::make_mut(&mut state.blocks);
            if blocks.len() <= block as usize {
                blocks.resize(block as usize + 1, BlockEntry::default());
            }
            blocks[block as usize] = entry;
            let uuid = super::misp_feed::event_uuid(node, block);
            Arc::make_mut(&mut state.uuids).insert(uuid, block);
            rebuilt.insert(block);
            // A block built earlier in this pass already reads the store as
            // it is now; any other block a record left lists it still.
            dirty.extend(left.into_iter().filter(|b| !rebuilt.contains(b)));
        }
        state.durable = state.durable.max(durable);
        let key = (durable, node.store.record_count());
        let stale = state
            .bulletins
            .as_ref()
            .is_none_or(|b| b.key != key || b.next_expiry <= now);
        if stale {
            state.bulletins = Some(build_bulletins(node, key)?);
        }
        Ok(View {
            blocks: state.blocks.clone(),
            uuids: state.uuids.clone(),
            bulletins: state
                .bulletins
                .as_ref()
                .map(|b| b.events.clone())
                .unwrap_or_default(),
        })
    }
}

/// A block's entry, and the blocks records now standing in it have left.
fn build_block(
    node: &Node,
    block: u64,
    durable: u64,
    now: i64,
    moved: &mut HashMap<RecordId, u64>,
) -> Result<(BlockEntry, Vec<u64>), HttpError> {
    let uuid = super::misp_feed::event_uuid(node, block);
    let end = ((block + 1) * BLOCK).min(durable);
    let mut entry = BlockEntry {
        next_expiry: i64::MAX,
        ..Default::default()
    };
    let mut lines = String::new();
    let mut left = Vec::new();
    let mut time: Option<i64> = None;
    for position in node.store.log_after(block * BLOCK, end) {
        let (seq, id) = position?;
        let Some(current) = node.store.current_at(seq, &id)? else {
            // Logged again later: the block changed when it left.
            if let Some(elsewhere) = node.store.current(&id)? {
                time = time.max(Some(elsewhere.added_ms));
            }
            continue;
        };
        time = time.max(Some(current.added_ms));
        // A withdrawal changes the block of the record it withdraws: there
        // the attribute is marked, and that event's timestamp moves.
        if let Some(target) = page::withdrawn_by(node, &current.stored.record)? {
            let there = block_of(target.position);
            if there != block {
                left.push(there);
            }
        }
        if current.stored.local_seq != seq {
            let before = moved.insert(id, block);
            let was = before.unwrap_or(block_of(current.stored.local_seq));
            if was != block {
                left.push(was);
            }
        }
        let Some(item) = page::served(node, Scope::All, current, now, false)? else {
            continue;
        };
        if let Some(expires) = node.store.expires_ms(&item.stored) {
            entry.next_expiry = entry.next_expiry.min(expires);
        }
        // Withdrawn since: the block changed then ([`page::with_revoked`]).
        time = time.max(Some(item.added_ms));
        if push_line(&mut lines, &item, &uuid) {
            entry.attributes += 1;
        }
    }
    entry.lines = Bytes::from(lines);
    entry.time = time;
    Ok((entry, left))
}

/// Appends `md5(value),event uuid` for an indicator; whether it wrote one.
fn push_line(lines: &mut String, item: &Item, event_uuid: &str) -> bool {
    let Some(indicator) = item.stored.record.payload.indicator() else {
        return false;
    };
    let digest = Md5::digest(attribute_value(indicator).as_bytes());
    lines.push_str(&hex::encode(digest));
    lines.push(',');
    lines.push_str(event_uuid);
    lines.push('\n');
    true
}

fn build_bulletins(node: &Node, key: (u64, u64)) -> Result<Bulletins, HttpError> {
    let mut next_expiry = i64::MAX;
    let mut events = Vec::new();
    for event in bulletins::events(node)? {
        next_expiry = next_expiry.min(event.valid_until_ms);
        let mut lines = String::new();
        let mut attributes = 0;
        for item in &event.items {
            if let Some(expires) = node.store.expires_ms(&item.stored) {
                next_expiry = next_expiry.min(expires);
            }
            attributes += usize::from(push_line(&mut lines, item, &event.uuid));
        }
        events.push(BulletinEntry {
            manifest: bulletins::manifest_entry(node, &event),
            body: Bytes::from(bulletins::event_body(node, &event)?),
            uuid: event.uuid,
            attributes,
            lines: Bytes::from(lines),
        });
    }
    Ok(Bulletins {
        key,
        next_expiry,
        events: Arc::new(events),
    })
}
