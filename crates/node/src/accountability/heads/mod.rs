//! Signed log heads (cf. Certificate Transparency's signed tree heads and gossip):
//! each node periodically signs the head of its own record log — how many of its
//! own records it has committed, and a hash chain over their ids in commit order.
//! Heads travel in `PullBatch.signed_head`; each node keeps the latest head per origin
//! and passes the heads it has seen on (`PullBatch.seen_heads`). Two validly
//! signed heads of one origin with the same size and different roots prove that
//! the origin showed two histories: the first such pair is kept as evidence
//! (`DIR/heads.json`, `liaison audit heads`) and logged (`heads.conflict`).
//!
//! The book ([`book`]) is bounded (one proof per origin, at most
//! [`book::MAX_ORIGINS`] origins) and gossip puts direct partners' heads first
//! and rotates the rest, so a partner cannot grow the evidence without end or
//! crowd real origins out with made-up ones. Heads refused or not kept are
//! counted per sender (`liaison_heads_refused_total{partner,reason}`).
//!
//! This module must never accept a head whose signature it has not checked, nor
//! one of an origin that is neither enrolled nor known here.

mod book;
mod signed;
pub mod state;

pub use book::{Book, Chain, Conflict, Seen, Standing, MAX_ORIGINS};
pub use signed::{chain, open, sign};
use state::save;
pub use state::{read_book, Heads, MAX_SEEN};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
use liaison_core::proto;
use liaison_core::record::NodeId;
use prost::Message;

/// How often the node looks for new records of its own and signs a new head.
const INTERVAL: Duration = Duration::from_secs(2);
/// Change-log entries read per step of the scan.
const PAGE: usize = 4096;

impl Heads {
    fn refresh_partners(&self, node: &Node) {
        let ids = node.partner_ids().iter().map(NodeId::to_hex).collect();
        if let Ok(mut partners) = self.partners.lock() {
            *partners = ids;
        }
    }

    /// Reads the change log past the last scan; signs a new head if our own
    /// log grew. Runs on a blocking thread.
    fn advance(&self, node: &Node) -> Result<(), String> {
        self.refresh_partners(node);
        let own_id = node.node_id();
        let durable = node.commits.durable();
        let mut own = self.own.lock().map_err(|_| "lock poisoned")?;
        let before = own.size;
        while own.position < durable {
            let changes = node
                .store
                .changes_after(own.position, PAGE)
                .map_err(|e| e.to_string())?;
            if changes.is_empty() {
                break;
            }
            for (seq, id) in changes {
                if seq > durable {
                    break;
                }
                own.position = seq;
                // Most changes are partners' records: their signer settles it
                // without decoding the payload; only our own are read whole.
                let signer = node.store.signer_of(&id).map_err(|e| e.to_string())?;
                if signer != Some(own_id) {
                    continue;
                }
                let Some(stored) = node.store.get(&id).map_err(|e| e.to_string())? else {
                    continue;
                };
                if stored.record.origin() == own_id {
                    own.root = chain(&own.root, &id);
                    own.size += 1;
                    own.last_sequence = own.last_sequence.max(stored.record.payload.sequence);
                }
            }
        }
        if own.size == before && self.own().is_some() {
            return Ok(());
        }
        let head = proto::LogHead {
            origin: own_id.0.to_vec(),
            size: own.size,
            root: own.root.to_vec(),
            last_sequence: own.last_sequence,
            signed_unix_ms: liaison_core::now_ms(),
        };
        let state = own.clone();
        drop(own);
        if let Ok(mut book) = self.book.lock() {
            book.own = Some(state);
        }
        let signed = sign(&node.identity.signing_key, &head);
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some(signed.clone());
        }
        self.observe(node, &head, &signed, "self");
        Ok(())
    }

    /// Checks and keeps heads a partner sent; records any conflict; counts
    /// what it refused or did not keep against the sender.
    pub fn receive(&self, node: &Node, via: &NodeId, batch: &proto::PullBatch) {
        self.refresh_partners(node);
        let mut tally: BTreeMap<&'static str, u64> = BTreeMap::new();
        let excess = batch.seen_heads.len().saturating_sub(MAX_SEEN);
        if excess > 0 {
            tally.insert("excess", excess as u64);
        }
        let heads = batch
            .signed_head
            .iter()
            .chain(batch.seen_heads.iter().take(MAX_SEEN));
        for signed in heads {
            let refused = match open(signed) {
                Ok(head) => match NodeId::from_slice(&head.origin) {
                    Ok(origin) if standing(node, &origin) > Standing::Stranger => {
                        self.observe(node, &head, signed, &via.to_hex())
                    }
                    _ => Some("unknown_origin"),
                },
                Err(_) => Some("invalid"),
            };
            if let Some(reason) = refused {
                *tally.entry(reason).or_default() += 1;
            }
        }
        for (reason, count) in &tally {
            liaison_core::telemetry::emit().heads_refused(via, reason, *count);
        }
        // An honest relay may pass on heads of origins we do not know: counted
        // only. The rest is a partner misbehaving (or a proven equivocator).
        let noted: Vec<_> = tally
            .iter()
            .filter(|(r, _)| **r != "unknown_origin")
            .collect();
        if !noted.is_empty() {
            tracing::warn!(partner = %via.short(), refused = ?noted, "signed heads from this partner refused or not kept");
        }
    }

    /// Keeps one verified head; returns why it was not kept, if so.
    fn observe(
        &self,
        node: &Node,
        head: &proto::LogHead,
        signed: &proto::SignedHead,
        via: &str,
    ) -> Option<&'static str> {
        let origin = hex::encode(&head.origin);
        let now = liaison_core::now_ms();
        let seen = Seen {
            size: head.size,
            root: hex::encode(&head.root),
            last_sequence: head.last_sequence,
            signed_unix_ms: head.signed_unix_ms,
            via: via.to_string(),
            signed: hex::encode(signed.encode_to_vec()),
            received_unix_ms: now,
        };
        let Ok(mut book) = self.book.lock() else {
            return None;
        };
        let mut evicted = Vec::new();
        if !book.tracks(&origin) {
            let room = book.make_room(MAX_ORIGINS, |o| {
                o.parse::<NodeId>()
                    .map(|id| standing(node, &id))
                    .unwrap_or(Standing::Stranger)
            });
            match room {
                Some(gone) => evicted = gone,
                None => return Some("book_full"),
            }
        }
        if !evicted.is_empty() {
            tracing::info!(evicted = evicted.len(), "signed heads: the book was full; heads of strangers and least recent known origins dropped");
        }
        let outcome = book.observe(&origin, seen, now);
        let refused = match outcome {
            book::Outcome::NewConflict => {
                tracing::error!(origin = %&origin[..16], size = head.size, via, "conflicting signed heads: an origin showed two histories");
                let detail = book
                    .conflicts
                    .last()
                    .and_then(|c| serde_json::to_value(c).ok())
                    .unwrap_or_default();
                node.audit.note("node", "heads.conflict", detail);
                Some("conflict")
            }
            book::Outcome::RepeatConflict => Some("conflict_repeat"),
            _ => None,
        };
        let changed = outcome == book::Outcome::Advanced
            || outcome == book::Outcome::NewConflict
            || !evicted.is_empty();
        if changed {
            save(&self.path, &book);
            drop(book);
            self.version.send_modify(|v| *v += 1);
        }
        // Our own heads are not a sender's to be counted.
        refused.filter(|_| via != "self")
    }
}

/// What an origin is to this node, for keeping its heads.
fn standing(node: &Node, origin: &NodeId) -> Standing {
    if *origin == node.node_id() || node.partner_entry(origin).is_some() {
        Standing::Partner
    } else if node.store.known_origin(origin).ok().flatten().is_some() {
        Standing::Known
    } else {
        Standing::Stranger
    }
}

/// Signs our head now and then every few seconds while our log grows.
pub fn start(node: Arc<Node>) {
    tokio::spawn(async move {
        let mut shutdown = node.shutdown.clone();
        loop {
            let worker = node.clone();
            let done = tokio::task::spawn_blocking(move || worker.heads.advance(&worker)).await;
            if let Ok(Err(reason)) = done {
                tracing::warn!(%reason, "could not sign the log head");
            }
            tokio::select! {
                _ = tokio::time::sleep(INTERVAL) => {}
                _ = shutdown.wait() => return,
            }
        }
    });
}
