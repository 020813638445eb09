//! Durable storage, behind our own interface: the rest of the node never sees sled.
//!
//! One sled tree holds every keyspace under a one-byte prefix (see [`keys`]), so a
//! batch of records, their index entries, change-log entries, per-origin sequences
//! and a peer's cursor land in a single atomic `apply_batch`. Nothing is acknowledged
//! before a flush: writes go through the group-commit task in [`commit`].
//!
//! This module must never verify or sign anything (records arrive verified), and
//! never hand sled types to callers.

mod bulletins;
mod changelog;
mod commit;
mod effects;
mod expiry;
mod held;
mod keys;
mod partners;
mod pending;
mod public_ids;
mod records;
mod snapshot;
mod warninglists;

pub use changelog::{Current, LogIter};
pub use commit::{CommitHandle, Committer};
pub use partners::{PartnerEntry, RevokedPartner, SyncState};
pub use pending::{PendingUpdate, MAX_PENDING_PER_PARTNER};
use public_ids::public_uuid;
pub use records::{BatchOutcome, StoredRecord, WriteBatch};
pub use snapshot::{RestoreSummary, SnapshotSummary};
pub use warninglists::WarninglistEntry;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use liaison_core::record::RecordId;

/// The layout this build writes. v2 keeps the change log in runs and expiries in
/// groups (store/changelog.rs, store/expiry.rs); it reads every v1 key as it is,
/// so opening a v1 database only moves the marker (an older build then refuses
/// the database with a clear error instead of misreading runs).
const SCHEMA: &[u8] = b"liaison-store-v2";
/// Earlier layouts this build reads without rewriting data.
const READABLE_SCHEMAS: &[&[u8]] = &[b"liaison-store-v1"];

/// Local maximum retention until the node sets its configured one (3650 days).
const DEFAULT_MAX_RETENTION_MS: i64 = 3650 * 86_400_000;

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
    #[error("the node stopped writing after a failed flush ({0}); check the disk and restart it")]
    Stopped(String),
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
    /// Longest a record is kept after its receipt, whatever its valid-until.
    max_retention_ms: AtomicI64,
    /// Every multi-key write holds this shared; a backup holds it exclusively
    /// while it copies the tree, so it never sees half of a batch.
    write_gate: std::sync::RwLock<()>,
    /// Test hook: the next flush fails (no production switch exists).
    #[cfg(test)]
    fail_next_flush: std::sync::atomic::AtomicBool,
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

/// How long an open waits for a handle closed moments ago to let go of the file lock.
const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens with sled, catching its panics. A handle dropped moments ago (a backup's
/// restore, a check before `run`) keeps the file lock until sled's background
/// writers finish, so a lock refusal is retried for a short, bounded time; a
/// database held by another running node is still refused after that.
fn open_waiting_for_release(config: &sled::Config) -> std::thread::Result<sled::Result<sled::Db>> {
    let deadline = std::time::Instant::now() + LOCK_RELEASE_WAIT;
    loop {
        let opened = catch_unwind(AssertUnwindSafe(|| config.open()));
        let lock_refused =
            matches!(&opened, Ok(Err(e)) if e.to_string().contains("could not acquire lock"));
        if !lock_refused || std::time::Instant::now() >= deadline {
            return opened;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

impl Store {
    /// Opens (or creates) the database. `cache_bytes` bounds sled's page cache.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let config = sled::Config::new().path(path).cache_capacity(cache_bytes);
        let db = match open_waiting_for_release(&config) {
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
        let store = Store {
            inner: Arc::new(Inner {
                db,
                main,
                record_count,
                unreadable: Mutex::new(Unreadable::default()),
                max_retention_ms: AtomicI64::new(DEFAULT_MAX_RETENTION_MS),
                write_gate: std::sync::RwLock::new(()),
                #[cfg(test)]
                fail_next_flush: Default::default(),
            }),
        };
        store.backfill_public_ids()?;
        store.backfill_held()?;
        store.backfill_relogged()?;
        Ok(store)
    }

    pub(crate) fn tree(&self) -> &sled::Tree {
        &self.inner.main
    }

    /// Applies a batch atomically, never in the middle of a backup's copy.
    pub(crate) fn apply_gated(&self, batch: sled::Batch) -> Result<(), StoreError> {
        let _shared = self
            .inner
            .write_gate
            .read()
            .map_err(|_| StoreError::Io("write gate poisoned".into()))?;
        self.inner.main.apply_batch(batch)?;
        Ok(())
    }

    /// Makes every earlier write durable (survives a process kill).
    pub async fn flush(&self) -> Result<(), StoreError> {
        #[cfg(test)]
        if self.inner.fail_next_flush.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Io("injected flush failure".into()));
        }
        self.inner.db.flush_async().await?;
        Ok(())
    }

    /// Test hook: makes the next [`Store::flush`] fail.
    #[cfg(test)]
    pub(crate) fn fail_next_flush(&self) {
        self.inner.fail_next_flush.store(true, Ordering::SeqCst);
    }

    /// Sets the local maximum retention (config `max_retention_days`).
    pub fn set_max_retention_ms(&self, ms: i64) {
        self.inner
            .max_retention_ms
            .store(ms.max(0), Ordering::Relaxed);
    }

    /// When a record received at `received_ms` with this valid-until leaves the
    /// store: never later than the local maximum retention after receipt.
    pub fn effective_expiry(&self, valid_until_ms: i64, received_ms: i64) -> i64 {
        let max = self.inner.max_retention_ms.load(Ordering::Relaxed);
        effective_expiry(valid_until_ms, received_ms, max)
    }

    /// The effective expiry of a stored indicator or bulletin (None for other bodies).
    pub fn expires_ms(&self, stored: &StoredRecord) -> Option<i64> {
        let valid_until_ms = match &stored.record.payload.body {
            liaison_core::record::Body::Indicator(i) => i.valid_until_ms,
            liaison_core::record::Body::Bulletin(b) => b.valid_until_ms,
            _ => return None,
        };
        Some(self.effective_expiry(valid_until_ms, stored.received_ms))
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

/// min(valid_until, received + max retention), saturating.
pub fn effective_expiry(valid_until_ms: i64, received_ms: i64, max_retention_ms: i64) -> i64 {
    valid_until_ms.min(received_ms.saturating_add(max_retention_ms))
}

fn check_schema(main: &sled::Tree, path: &str) -> Result<(), StoreError> {
    let key = keys::meta(keys::META_SCHEMA);
    match main.get(&key)? {
        Some(found) if found.as_ref() == SCHEMA => Ok(()),
        Some(found) if READABLE_SCHEMAS.contains(&found.as_ref()) => {
            main.insert(key, SCHEMA)?;
            main.flush()?;
            tracing::info!(path, from = %String::from_utf8_lossy(&found), "database layout marker moved to {}", String::from_utf8_lossy(SCHEMA));
            Ok(())
        }
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
mod bulletin_tests;
#[cfg(test)]
mod changelog_tests;
#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod space_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hardening;
#[cfg(test)]
mod unreadable_tests;
