//! Durable storage, behind our own interface: the rest of the node never sees sled.
//!
//! One sled tree holds every keyspace under a one-byte prefix (see [`keys`]), so a
//! batch of records, their index entries, change-log entries, per-origin sequences
//! and a peer's cursor land in a single atomic `apply_batch`. Nothing is acknowledged
//! before a flush: writes go through the group-commit task in [`commit`].
//!
//! This module must never verify or sign anything (records arrive verified), and
//! never hand sled types to callers.

mod commit;
mod effects;
mod keys;
mod partners;
mod records;

pub use commit::{CommitHandle, Committer};
pub use partners::{PartnerEntry, SyncState};
pub use records::{BatchOutcome, StoredRecord, WriteBatch};

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::record::RecordId;

const SCHEMA: &[u8] = b"liaison-store-v1";

/// Storage failures, each with what the operator can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {path}: {reason}. If it is corrupt, restore the latest copy of the node directory (docs/OPERATIONS.md, backups) or re-create the node and re-enroll with partners; the files were left untouched")]
    Open { path: String, reason: String },
    #[error("the database at {path} was written by another version ({found}); this build reads {expected}")]
    Version {
        path: String,
        found: String,
        expected: String,
    },
    #[error("database I/O error: {0}")]
    Io(String),
    #[error("stored data is corrupt at key {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("the node is shutting down")]
    Closed,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// A handle to the node's database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    main: sled::Tree,
    record_count: AtomicU64,
    unreadable: Mutex<Unreadable>,
}

/// Records that failed to read back, each logged once.
#[derive(Default)]
struct Unreadable {
    ids: HashMap<RecordId, String>,
    /// Distinct ids seen, including those beyond what `ids` keeps.
    count: u64,
}

/// Most unreadable record ids remembered (with their reason) for the status output.
const MAX_UNREADABLE_KEPT: usize = 100_000;

impl Store {
    /// Opens (or creates) the database. `cache_bytes` bounds sled's page cache.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let config = sled::Config::new().path(path).cache_capacity(cache_bytes);
        let opened = catch_unwind(AssertUnwindSafe(|| config.open()));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => {
                return Err(StoreError::Open {
                    path: shown,
                    reason: e.to_string(),
                })
            }
            Err(_) => {
                return Err(StoreError::Open {
                    path: shown,
                    reason: "the storage engine panicked while reading it".into(),
                })
            }
        };
        let main = db.open_tree("main")?;
        check_schema(&main, &shown)?;
        let record_count = AtomicU64::new(keys::read_u64(&main, &keys::meta(keys::META_RECORDS))?);
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                main,
                record_count,
                unreadable: Mutex::new(Unreadable::default()),
            }),
        })
    }

    pub(crate) fn tree(&self) -> &sled::Tree {
        &self.inner.main
    }

    /// Makes every earlier write durable (survives a process kill).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush_async().await?;
        Ok(())
    }

    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// Records stored, kept as a counter (sled's `len` walks the tree).
    pub fn record_count(&self) -> u64 {
        self.inner.record_count.load(Ordering::Relaxed)
    }

    /// How many stored records failed to read back, and up to `sample` of them
    /// with the reason.
    pub fn unreadable(&self, sample: usize) -> (u64, Vec<(RecordId, String)>) {
        let Ok(unreadable) = self.inner.unreadable.lock() else {
            return (0, Vec::new());
        };
        let mut listed: Vec<_> = unreadable
            .ids
            .iter()
            .map(|(id, reason)| (*id, reason.clone()))
            .collect();
        listed.sort();
        listed.truncate(sample);
        (unreadable.count, listed)
    }

    fn note_unreadable(&self, id: &RecordId, reason: String) {
        let Ok(mut unreadable) = self.inner.unreadable.lock() else {
            return;
        };
        if unreadable.ids.contains_key(id) {
            return;
        }
        unreadable.count += 1;
        tracing::error!(record = %id, %reason, "stored record is unreadable; it is skipped (shown by `liaison identity show`)");
        if unreadable.ids.len() < MAX_UNREADABLE_KEPT {
            unreadable.ids.insert(*id, reason);
        }
    }

    fn add_records(&self, n: u64) {
        self.inner.record_count.fetch_add(n, Ordering::Relaxed);
    }

    fn set_record_count(&self, n: u64) {
        self.inner.record_count.store(n, Ordering::Relaxed);
    }
}

fn check_schema(main: &sled::Tree, path: &str) -> Result<(), StoreError> {
    let key = keys::meta(keys::META_SCHEMA);
    match main.get(&key)? {
        Some(found) if found.as_ref() == SCHEMA => Ok(()),
        Some(found) => Err(StoreError::Version {
            path: path.to_string(),
            found: String::from_utf8_lossy(&found).into_owned(),
            expected: String::from_utf8_lossy(SCHEMA).into_owned(),
        }),
        None if main.is_empty() => {
            main.insert(key, SCHEMA)?;
            main.flush()?;
            Ok(())
        }
        None => Err(StoreError::Version {
            path: path.to_string(),
            found: "no schema marker".into(),
            expected: String::from_utf8_lossy(SCHEMA).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod unreadable_tests;
