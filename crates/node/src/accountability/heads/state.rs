//! This node's heads as held in memory and in `DIR/heads.json`: its own chain,
//! its latest signed head, the book of heads seen, and the gossip order of what
//! is passed on. How they advance and what is received is `super`'s (it needs the
//! node); this module must never drop a proof already in the book.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::watch;

use super::book::{self, Book, Chain};
use liaison_core::proto;
use liaison_core::record::NodeId;
use prost::Message;

/// Heads of other origins sent in one batch.
pub const MAX_SEEN: usize = 64;

/// This node's heads: its own chain and the book of heads seen.
pub struct Heads {
    pub(super) path: PathBuf,
    pub(super) book: Mutex<Book>,
    pub(super) own: Mutex<Chain>,
    /// Our latest signed head.
    pub(super) latest: Mutex<Option<proto::SignedHead>>,
    /// Bumped when our head or the latest head of any origin changes: wakes
    /// the sync streams, which then pass the heads on.
    pub(super) version: watch::Sender<u64>,
    /// Direct partners (hex), refreshed as batches arrive: their heads go first.
    pub(super) partners: Mutex<HashSet<String>>,
    /// Per receiving partner, the last other origin whose head it was sent.
    pub(super) cursors: Mutex<HashMap<NodeId, String>>,
}

impl Heads {
    pub fn load(path: PathBuf) -> Heads {
        let book: Book = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let own = book.own.clone().unwrap_or_default();
        Heads {
            path,
            book: Mutex::new(book),
            own: Mutex::new(own),
            latest: Mutex::new(None),
            version: watch::channel(0).0,
            partners: Mutex::default(),
            cursors: Mutex::default(),
        }
    }

    /// Changes when there are new heads to pass on.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Our latest signed head, once the first scan is done.
    pub fn own(&self) -> Option<proto::SignedHead> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }

    /// Up to [`MAX_SEEN`] latest heads of other origins, to pass on to
    /// `except`: direct partners' first, then the others in turn.
    pub fn seen(&self, own: &NodeId, except: &NodeId) -> Vec<proto::SignedHead> {
        let partners = self.partners.lock().map(|p| p.clone()).unwrap_or_default();
        let Ok(book) = self.book.lock() else {
            return Vec::new();
        };
        let Ok(mut cursors) = self.cursors.lock() else {
            return Vec::new();
        };
        let skip = [own.to_hex(), except.to_hex()];
        let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
        let cursor = cursors.get(except).map(String::as_str);
        let (origins, cursor) =
            book::gossip_order(&book.latest, &partners, &skip, cursor, MAX_SEEN);
        if let Some(cursor) = cursor {
            cursors.insert(*except, cursor);
        }
        origins
            .iter()
            .filter_map(|origin| book.latest.get(origin))
            .filter_map(|seen| hex::decode(&seen.signed).ok())
            .filter_map(|bytes| proto::SignedHead::decode(bytes.as_slice()).ok())
            .collect()
    }
}

/// Written whole to a temporary file, then renamed: a reader never sees half.
pub(super) fn save(path: &Path, book: &Book) {
    let Ok(bytes) = serde_json::to_vec_pretty(book) else {
        return;
    };
    let temporary = path.with_extension("json.tmp");
    if std::fs::write(&temporary, bytes).is_ok() {
        let _ = std::fs::rename(&temporary, path);
    }
}

/// Reads `DIR/heads.json` for the CLI (node running or not).
pub fn read_book(path: &Path) -> Result<Book, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
        Err(_) => Ok(Book::default()),
    }
}
