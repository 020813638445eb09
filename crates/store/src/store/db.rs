//! The store itself: one sled database with one tree, opened once (schema check,
//! a panic inside sled caught), the record counter and the write gate, and the
//! small reads every other part uses. Each other file of this module adds one
//! concern's methods to [`Store`]. This module must never let a sled type out.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use liaison_core::record::RecordId;

use super::error::StoreError;
use super::keys;
use super::migrate::{self, MigrationProgress};
use super::settings::StoreConfig;

/// The layout version this build writes (store/migrate.rs, [`super::migrate::CURRENT`]),
/// as shown by `liaison --version`; a unit test keeps the two in step.
pub const STORE_LAYOUT_VERSION: &str = "3";

/// Local maximum retention until the node sets its configured one (3650 days).
const DEFAULT_MAX_RETENTION_MS: i64 = 3650 * 86_400_000;

/// Storage failures, each with what the operator can do about it.
/// A handle to the node's database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) db: sled::Db,
    pub(super) main: sled::Tree,
    /// Record bodies (store/bodies.rs): synced before sled points at them.
    pub(super) vlog: super::vlog::Vlog,
    pub(super) record_count: AtomicU64,
    pub(super) unreadable: Mutex<Unreadable>,
    /// Longest a record is kept after its receipt, whatever its valid-until.
    pub(super) max_retention_ms: AtomicI64,
    /// Every multi-key write holds this shared; a backup holds it exclusively
    /// while it copies the tree, so it never sees half of a batch.
    pub(super) write_gate: std::sync::RwLock<()>,
    /// Test hook: the next flush fails (no production switch exists).
    #[cfg(test)]
    pub(super) fail_next_flush: std::sync::atomic::AtomicBool,
}

/// Records that failed to read back, each logged once.
#[derive(Default)]
pub(super) struct Unreadable {
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

/// A raw sled handle on a database a test has just closed (same lock wait as
/// [`Store::open`]), for tests that read or plant keys below the store.
#[cfg(test)]
pub(super) fn open_raw_for_test(path: &Path) -> sled::Db {
    let config = sled::Config::new().path(path);
    match open_waiting_for_release(&config) {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => panic!("sled open {}: {e}", path.display()),
        Err(_) => panic!("sled panicked opening {}", path.display()),
    }
}

impl Store {
    /// Opens (or creates) the database, migrating an older layout (progress in
    /// the log). `cache_bytes` bounds sled's page cache.
    /// The `[store]` settings are the defaults (see [`Store::open_with`]).
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        Self::open_with(path, cache_bytes, &StoreConfig::default())
    }

    /// [`Store::open`] with the node's `[store]` settings (the value log's
    /// segment size applies to what this handle appends).
    pub fn open_with(
        path: &Path,
        cache_bytes: u64,
        settings: &StoreConfig,
    ) -> Result<Store, StoreError> {
        Self::open_reporting(path, cache_bytes, settings, &mut log_progress)
    }

    /// [`Store::open_with`], reporting a migration's progress to `report`.
    pub fn open_reporting(
        path: &Path,
        cache_bytes: u64,
        settings: &StoreConfig,
        report: &mut dyn FnMut(&MigrationProgress),
    ) -> Result<Store, StoreError> {
        settings.validate().map_err(|reason| StoreError::Open {
            path: path.display().to_string(),
            reason,
        })?;
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
        let marker = migrate::check_marker(&main, &shown, migrate::STEPS, migrate::CURRENT)?;
        let record_count = AtomicU64::new(keys::read_u64(&main, &keys::meta(keys::META_RECORDS))?);
        let vlog = super::bodies::open_vlog(path, &main, settings.segment_bytes())?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                main,
                vlog,
                record_count,
                unreadable: Mutex::new(Unreadable::default()),
                max_retention_ms: AtomicI64::new(DEFAULT_MAX_RETENTION_MS),
                write_gate: std::sync::RwLock::new(()),
                #[cfg(test)]
                fail_next_flush: Default::default(),
            }),
        };
        if let migrate::Marker::Older(found) = marker {
            migrate::migrate(&store, found, migrate::STEPS, report)?;
        }
        store.backfill_public_ids()?;
        store.backfill_held()?;
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

    pub(super) fn note_unreadable(&self, id: &RecordId, reason: String) {
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

    pub(super) fn add_records(&self, n: u64) {
        self.inner.record_count.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn set_record_count(&self, n: u64) {
        self.inner.record_count.store(n, Ordering::Relaxed);
    }
}

/// min(valid_until, received + max retention), saturating.
pub fn effective_expiry(valid_until_ms: i64, received_ms: i64, max_retention_ms: i64) -> i64 {
    valid_until_ms.min(received_ms.saturating_add(max_retention_ms))
}

/// A migration's progress, for a node's log.
fn log_progress(p: &MigrationProgress) {
    tracing::info!(
        step = p.step,
        from = %p.from,
        to = %p.to,
        done = p.done,
        total = p.total,
        resumed = p.resumed,
        finished = p.finished,
        "migrating the database: step {} of {}",
        p.number,
        p.steps
    );
}
