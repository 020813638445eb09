//! A consistent copy of the whole database, for backups: every key and value of
//! the one tree, taken while multi-key writes pause (the write gate), so a
//! snapshot never holds half of a batch (records without their cursor, or the
//! reverse). Restoring fills a new, empty database from such a copy.
//!
//! This module must never write into a database that already holds data, and
//! never hold the write gate longer than the copy itself.

use std::io::{Read, Write};
use std::path::Path;

use super::db::Store;
use super::error::StoreError;
use super::keys;
use super::migrate::{self, Marker};

const MAGIC: &[u8] = b"LIAISON-SNAPSHOT-1\n";
/// A key length that ends the snapshot.
const END: u32 = u32::MAX;
const MAX_KEY_BYTES: u32 = 64 * 1024;
const MAX_VALUE_BYTES: u32 = 64 * 1024 * 1024;
/// Entries inserted per batch when restoring.
const RESTORE_BATCH: usize = 10_000;

/// What a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotSummary {
    pub entries: u64,
    pub records: u64,
}

/// What a restore wrote.
pub type RestoreSummary = SnapshotSummary;

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

fn malformed(reason: &str) -> StoreError {
    StoreError::Io(format!("database snapshot: {reason}"))
}

impl Store {
    /// Writes every key and value to `out`. Batches that were applied before
    /// the call (so every acknowledged write) are in it; batches arriving during
    /// the copy wait for it, and are in it whole or not at all.
    pub fn snapshot(&self, out: &mut dyn Write) -> Result<SnapshotSummary, StoreError> {
        let _exclusive = self
            .inner
            .write_gate
            .write()
            .map_err(|_| StoreError::Io("write gate poisoned".into()))?;
        out.write_all(MAGIC).map_err(io_error)?;
        let mut entries = 0u64;
        for entry in self.tree().iter() {
            let (key, value) = entry?;
            let Some(value) = self.as_layout_2_1(&key, value)? else {
                continue;
            };
            write_part(out, &key)?;
            write_part(out, &value)?;
            entries += 1;
        }
        out.write_all(&END.to_be_bytes()).map_err(io_error)?;
        Ok(SnapshotSummary {
            entries,
            records: self.record_count(),
        })
    }

    /// An entry as layout 2.1 holds it, the form snapshots keep (`None`: an
    /// entry of the value log's bookkeeping, which 2.1 has not): a record's
    /// body inline, the 2.1 marker. So a snapshot stays one logical dump of
    /// the tree whatever the layout, restores into this build (the next open
    /// migrates it to 3) and needs no value-log files.
    fn as_layout_2_1(&self, key: &[u8], value: sled::IVec) -> Result<Option<Vec<u8>>, StoreError> {
        if key.first() == Some(&keys::SEGMENT_LIVE) || key == keys::meta(keys::META_VLOG_HEAD) {
            return Ok(None);
        }
        if key == keys::meta(keys::META_SCHEMA) {
            return Ok(Some(migrate::V2_1.marker()));
        }
        if key.first() != Some(&keys::RECORD) {
            return Ok(Some(value.to_vec()));
        }
        let id = keys::trailing_id(key)?;
        match self.body_of(&id, value)? {
            (body, None) => Ok(Some(body)),
            (body, Some(entry)) => {
                super::records::inline_body(&body, entry.local_seq, entry.received_ms)
                    .map(Some)
                    .ok_or_else(|| {
                        keys::corrupt(key, "a record body in the value log does not decode")
                    })
            }
        }
    }

    /// Creates the database at `path` (which must be absent or empty) from a
    /// snapshot, and flushes it.
    pub fn restore_snapshot(
        path: &Path,
        input: &mut dyn Read,
    ) -> Result<RestoreSummary, StoreError> {
        let occupied = path
            .read_dir()
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(false);
        if occupied {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                reason: "a restore needs an empty place; this one holds files".into(),
            });
        }
        let mut magic = vec![0u8; MAGIC.len()];
        input
            .read_exact(&mut magic)
            .map_err(|_| malformed("too short"))?;
        if magic != MAGIC {
            return Err(malformed("not a Liaison database snapshot"));
        }
        let store = Store::open(path, 16 * 1024 * 1024)?;
        let mut batch = sled::Batch::default();
        let (mut entries, mut in_batch) = (0u64, 0usize);
        while let Some(key) = read_part(input, MAX_KEY_BYTES, true)? {
            let value =
                read_part(input, MAX_VALUE_BYTES, false)?.ok_or_else(|| malformed("truncated"))?;
            batch.insert(key, value);
            entries += 1;
            in_batch += 1;
            if in_batch == RESTORE_BATCH {
                store.apply_gated(std::mem::take(&mut batch))?;
                // Flushing as it goes keeps sled's dirty pages (memory) bounded.
                store.flush_blocking()?;
                in_batch = 0;
            }
        }
        store.apply_gated(batch)?;
        if input.read(&mut [0u8; 1]).map_err(io_error)? != 0 {
            return Err(malformed("bytes after the end marker"));
        }
        // A snapshot of an older layout is restored as it is: the next open
        // migrates it (with its progress), as it would the live database.
        let shown = path.display().to_string();
        match migrate::check_marker(store.tree(), &shown, migrate::STEPS, migrate::CURRENT) {
            Ok(Marker::Current) | Ok(Marker::Older(_)) => {}
            Err(e @ StoreError::Newer { .. }) => return Err(e),
            Err(_) => return Err(malformed("written by another version of the database")),
        }
        let records = keys::read_u64(store.tree(), &keys::meta(keys::META_RECORDS))?;
        store.flush_blocking()?;
        Ok(RestoreSummary { entries, records })
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.size_on_disk()? + self.vlog_bytes()?)
    }
}

fn write_part(out: &mut dyn Write, bytes: &[u8]) -> Result<(), StoreError> {
    let len = u32::try_from(bytes.len()).map_err(|_| malformed("entry over 4 GiB"))?;
    out.write_all(&len.to_be_bytes()).map_err(io_error)?;
    out.write_all(bytes).map_err(io_error)
}

/// One length-prefixed part; `None` at the end marker (allowed only for keys).
fn read_part(input: &mut dyn Read, max: u32, may_end: bool) -> Result<Option<Vec<u8>>, StoreError> {
    let mut len = [0u8; 4];
    input
        .read_exact(&mut len)
        .map_err(|_| malformed("truncated"))?;
    let len = u32::from_be_bytes(len);
    if len == END && may_end {
        return Ok(None);
    }
    if len > max {
        return Err(malformed(&format!("an entry of {len} bytes is over {max}")));
    }
    let mut bytes = vec![0u8; len as usize];
    input
        .read_exact(&mut bytes)
        .map_err(|_| malformed("truncated"))?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_restores_every_entry_and_refuses_damage() {
        let from = tempfile::tempdir().unwrap();
        let store = Store::open(&from.path().join("db"), 1 << 20).unwrap();
        store.tree().insert(b"Pabc", &b"partner"[..]).unwrap();
        store.tree().insert(b"Sabc", &b"cursor"[..]).unwrap();
        let mut bytes = Vec::new();
        // The markers a new store writes at open (schema, index builds) plus the two.
        let expected = store.tree().len() as u64;
        assert!(expected >= 3);
        let summary = store.snapshot(&mut bytes).unwrap();
        assert_eq!(summary.entries, expected, "markers and two entries");

        let to = tempfile::tempdir().unwrap();
        let restored = Store::restore_snapshot(&to.path().join("db"), &mut &bytes[..]).unwrap();
        assert_eq!(restored.entries, expected);
        // Store::open waits for the restoring handle to let go of the lock.
        let reopened =
            Store::open(&to.path().join("db"), 1 << 20).expect("restored database opens");
        assert_eq!(reopened.tree().get(b"Sabc").unwrap().unwrap(), b"cursor");
        drop(reopened);

        let other = tempfile::tempdir().unwrap();
        let cut = &bytes[..bytes.len() - 6];
        let error = Store::restore_snapshot(&other.path().join("db"), &mut &cut[..]).unwrap_err();
        assert!(error.to_string().contains("truncated"), "{error}");
        // Never into a database that holds data.
        let error = Store::restore_snapshot(&to.path().join("db"), &mut &bytes[..]).unwrap_err();
        assert!(error.to_string().contains("holds files"), "{error}");
    }
}
