//! The book of heads seen (`DIR/heads.json`): the latest head per origin, the
//! roots seen per size, and one proof of equivocation per origin (one proves
//! it; more only grow the file). And the two rules that keep it bounded and
//! fair against a partner that floods it with made-up or conflicting heads:
//! which origins make room when the book is full ([`Book::make_room`]), and in
//! which order heads are passed on ([`gossip_order`]).
//!
//! This module checks no signature (the caller opened every head) and looks
//! nothing up: the caller says what standing an origin has. It must never
//! evict our own or a direct partner's heads, nor a known origin's proof of
//! equivocation.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use serde::{Deserialize, Serialize};

/// Origins whose heads the book tracks at most.
pub const MAX_ORIGINS: usize = 1024;
/// Roots remembered per origin (by size) to compare later heads with.
const HISTORY: usize = 256;

/// What `DIR/heads.json` keeps.
#[derive(Default, Serialize, Deserialize)]
pub struct Book {
    /// Latest head per origin (hex node id): the signed head, hex-encoded parts.
    pub latest: BTreeMap<String, Seen>,
    /// Roots seen per origin, by size.
    pub roots: BTreeMap<String, BTreeMap<u64, String>>,
    /// At most one per origin.
    pub conflicts: Vec<Conflict>,
    /// Where our own chain stands, so a restart resumes it instead of
    /// rescanning (purged records could no longer be told apart).
    #[serde(default)]
    pub own: Option<Chain>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Seen {
    pub size: u64,
    pub root: String,
    pub last_sequence: u64,
    pub signed_unix_ms: i64,
    /// Which partner brought it ("self" for our own).
    pub via: String,
    /// The signed head (hex of `SignedHead` encoding), kept as evidence.
    pub signed: String,
    /// When this node received it (the signing time is the origin's word).
    #[serde(default)]
    pub received_unix_ms: i64,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Conflict {
    pub origin: String,
    pub size: u64,
    pub first: Seen,
    pub second: Seen,
    pub detected_unix_ms: i64,
}

/// How much an origin's heads are worth keeping when the book is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Neither enrolled nor a known origin (any more): first to go.
    Stranger,
    /// A known origin (records of it arrived through a relay).
    Known,
    /// This node or a direct partner: never evicted.
    Partner,
}

/// What one head changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    /// A larger head than any seen of its origin.
    Advanced,
    /// The first proof that the origin showed two histories (to log).
    NewConflict,
    /// Another conflicting head of an origin already proven to equivocate.
    RepeatConflict,
}

impl Book {
    pub fn tracks(&self, origin: &str) -> bool {
        self.latest.contains_key(origin)
    }

    pub fn has_conflict(&self, origin: &str) -> bool {
        self.conflicts.iter().any(|c| c.origin == origin)
    }

    /// Makes room for one more origin when the book holds `bound`: evicts
    /// down to nine tenths of it, strangers first, then known origins without
    /// a proof of equivocation, least recently received first. Returns the
    /// origins evicted, or `None` when nothing may go (the head is dropped).
    pub fn make_room(
        &mut self,
        bound: usize,
        mut standing: impl FnMut(&str) -> Standing,
    ) -> Option<Vec<String>> {
        if self.latest.len() < bound {
            return Some(Vec::new());
        }
        let mut candidates: Vec<(Standing, i64, String)> = self
            .latest
            .iter()
            .map(|(origin, seen)| (standing(origin), seen.received_unix_ms, origin.clone()))
            .filter(|(standing, _, origin)| match standing {
                Standing::Stranger => true,
                Standing::Known => !self.has_conflict(origin),
                Standing::Partner => false,
            })
            .collect();
        candidates.sort();
        let target = (bound - bound / 10).min(bound - 1);
        let excess = self.latest.len() - target;
        let evicted: Vec<String> = candidates
            .into_iter()
            .take(excess)
            .map(|(_, _, origin)| origin)
            .collect();
        for origin in &evicted {
            self.latest.remove(origin);
            self.roots.remove(origin);
            self.conflicts.retain(|c| c.origin != *origin);
        }
        (self.latest.len() < bound).then_some(evicted)
    }

    /// Records a verified head of `origin`.
    pub fn observe(&mut self, origin: &str, seen: Seen, now_ms: i64) -> Outcome {
        let roots = self.roots.entry(origin.to_string()).or_default();
        let first_root = match roots.get(&seen.size) {
            Some(root) if *root != seen.root => Some(root.clone()),
            Some(_) => None,
            None => {
                roots.insert(seen.size, seen.root.clone());
                while roots.len() > HISTORY {
                    roots.pop_first();
                }
                None
            }
        };
        let advanced = self.latest.get(origin).is_none_or(|l| l.size < seen.size);
        let mut outcome = Outcome::Unchanged;
        if let Some(root) = first_root {
            if self.has_conflict(origin) {
                outcome = Outcome::RepeatConflict;
            } else {
                let first = self
                    .latest
                    .get(origin)
                    .filter(|l| l.size == seen.size)
                    .cloned()
                    .unwrap_or_else(|| Seen {
                        signed: String::new(),
                        via: "an earlier head".into(),
                        ..seen.clone()
                    });
                self.conflicts.push(Conflict {
                    origin: origin.to_string(),
                    size: seen.size,
                    first: Seen { root, ..first },
                    second: seen.clone(),
                    detected_unix_ms: now_ms,
                });
                outcome = Outcome::NewConflict;
            }
        }
        if advanced {
            self.latest.insert(origin.to_string(), seen);
            if outcome == Outcome::Unchanged {
                outcome = Outcome::Advanced;
            }
        }
        outcome
    }
}

/// The origins whose heads go out next, at most `max`: direct partners'
/// first (a relay cannot crowd them out with made-up origins), then the
/// others in turn, starting after `cursor` (the last one sent to this
/// receiver) and wrapping. Returns them and the new cursor.
pub fn gossip_order(
    latest: &BTreeMap<String, Seen>,
    partners: &HashSet<String>,
    skip: &[&str],
    cursor: Option<&str>,
    max: usize,
) -> (Vec<String>, Option<String>) {
    let wanted = |origin: &&String| !skip.contains(&origin.as_str());
    let mut out: Vec<String> = latest
        .keys()
        .filter(wanted)
        .filter(|origin| partners.contains(*origin))
        .take(max)
        .cloned()
        .collect();
    // The rest in turn: after the cursor to the end, then from the start up
    // to the cursor itself (sent last time, so last again).
    let rotation: Vec<(&String, &Seen)> = match cursor {
        Some(cursor) => {
            let cursor = cursor.to_string();
            latest
                .range::<String, _>((Bound::Excluded(cursor.clone()), Bound::Unbounded))
                .chain(latest.range::<String, _>((Bound::Unbounded, Bound::Included(cursor))))
                .collect()
        }
        None => latest.iter().collect(),
    };
    let others: Vec<String> = rotation
        .into_iter()
        .map(|(origin, _)| origin)
        .filter(wanted)
        .filter(|origin| !partners.contains(*origin))
        .take(max.saturating_sub(out.len()))
        .cloned()
        .collect();
    let cursor = others.last().cloned().or(cursor.map(String::from));
    out.extend(others);
    (out, cursor)
}

/// This node's own chain: how far the change log was scanned, and the head so far.
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Chain {
    /// Change-log position scanned so far.
    pub(super) position: u64,
    pub(super) size: u64,
    pub(super) root: [u8; 32],
    pub(super) last_sequence: u64,
}

#[cfg(test)]
mod tests;
