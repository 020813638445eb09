//! Warninglists: values this node knows to be harmless or shared (public
//! helplines, large providers' domains, documentation ranges), kept per node and
//! never synced. Keyed by (kind, canonical value, list name) so that a publish or
//! a search asks "which lists name this value?" with one prefix scan.
//!
//! This module stores entries as given; it must never normalise values (callers
//! pass canonical ones) nor decide what a match means.

use serde::{Deserialize, Serialize};

use super::db::Store;
use super::error::StoreError;
use super::keys::{self, corrupt};
use liaison_core::indicator::Kind;

/// One value on one warninglist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarninglistEntry {
    /// The list's name (e.g. "local" or a MISP list's name).
    pub list: String,
    pub kind: Kind,
    /// The canonical value.
    pub value: String,
    pub note: String,
    pub added_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    note: String,
    added_ms: i64,
}

fn key(kind: Kind, value: &str, list: &str) -> Vec<u8> {
    [
        keys::warninglist_prefix(kind, value),
        list.as_bytes().to_vec(),
    ]
    .concat()
}

fn decode(key: &[u8], value: &[u8]) -> Result<WarninglistEntry, StoreError> {
    let bad = || corrupt(key, "bad warninglist key");
    let kind = key
        .get(1)
        .copied()
        .and_then(Kind::from_code)
        .ok_or_else(bad)?;
    let len = key.get(2..4).ok_or_else(bad)?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    let text = key.get(4..4 + len).ok_or_else(bad)?;
    let list = key.get(4 + len..).ok_or_else(bad)?;
    let stored: Stored = serde_json::from_slice(value).map_err(|e| corrupt(key, &e.to_string()))?;
    Ok(WarninglistEntry {
        list: String::from_utf8(list.to_vec()).map_err(|_| bad())?,
        kind,
        value: String::from_utf8(text.to_vec()).map_err(|_| bad())?,
        note: stored.note,
        added_ms: stored.added_ms,
    })
}

impl Store {
    /// Adds (or replaces) entries in one atomic, durable write: all or none.
    pub async fn put_warninglist(&self, entries: &[WarninglistEntry]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in entries {
            let stored = Stored {
                note: entry.note.clone(),
                added_ms: entry.added_ms,
            };
            let bytes = serde_json::to_vec(&stored).map_err(|e| StoreError::Io(e.to_string()))?;
            batch.insert(key(entry.kind, &entry.value, &entry.list), bytes);
        }
        self.apply_gated(batch)?;
        self.flush().await
    }

    /// Removes a value from one list, or from every list when `list` is None;
    /// returns how many entries went.
    pub async fn remove_warninglist(
        &self,
        kind: Kind,
        value: &str,
        list: Option<&str>,
    ) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for entry in self.warninglist_matches(kind, value)? {
            if list.is_none_or(|l| l == entry.list) {
                batch.remove(key(kind, value, &entry.list));
                removed += 1;
            }
        }
        self.apply_gated(batch)?;
        self.flush().await?;
        Ok(removed)
    }

    /// Every entry naming this (kind, canonical value).
    pub fn warninglist_matches(
        &self,
        kind: Kind,
        value: &str,
    ) -> Result<Vec<WarninglistEntry>, StoreError> {
        let prefix = keys::warninglist_prefix(kind, value);
        let mut out = Vec::new();
        for item in self.tree().scan_prefix(&prefix) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    pub fn warninglist_all(&self) -> Result<Vec<WarninglistEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree().scan_prefix([keys::WARNINGLIST]) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }
}
