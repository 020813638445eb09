//! The value log (store layout v3): record bodies outside sled, in append-only
//! segment files under the store directory, each entry length-prefixed,
//! checksummed (CRC-32) and compressed with zstd, with a trained dictionary
//! when one exists ([`dict`]). The record index in sled keeps a 12-byte
//! [`Pointer`] per record and, in the same batch, the log's [`Head`].
//!
//! Durability is the caller's ordering, which this module makes possible:
//! [`Vlog::append`] writes entries (no fsync), [`Vlog::sync`] makes everything
//! appended durable and returns the new head; only then may a sled batch that
//! points at those entries be applied and flushed. At [`Vlog::open`] the head
//! the index last recorded is the truth: any bytes or segments beyond it (a
//! torn write, or entries whose sled batch never landed) are cut, so they are
//! never visible; an entry before it that fails its checksum is
//! [`VlogError::Corrupt`] when read, never a panic and never silently skipped.
//!
//! Compaction ([`compact`]) copies a segment's live entries to the head and
//! hands back the pointer moves; the caller syncs, moves the pointers in one
//! sled batch, flushes, and only then [`Vlog::retire`]s the old segment.
//!
//! This module must never decide which entries are live (the index does),
//! never rewrite bytes before the head, and never hold a file's bytes that a
//! reader could see half-written: readers only follow pointers the index
//! published after a sync.

mod append;
mod compact;
mod dict;
mod format;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

pub use compact::needs_compaction;
pub use format::{Head, Pointer};
use format::{SegmentHeader, HEADER_LEN};

/// Why the value log failed.
#[derive(Debug, thiserror::Error)]
pub enum VlogError {
    #[error("value log I/O error at {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("value log entry is corrupt (segment {segment}, offset {offset}): {reason}; restore the latest backup (docs/OPERATIONS.md)")]
    Corrupt {
        segment: u32,
        offset: u32,
        reason: String,
    },
    #[error("value log dictionary {id} is unusable: {reason}; restore the latest backup (docs/OPERATIONS.md)")]
    Dictionary { id: u32, reason: String },
}

impl VlogError {
    fn io(path: &Path, e: std::io::Error) -> VlogError {
        VlogError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }

    fn corrupt(segment: u32, offset: u32, reason: impl Into<String>) -> VlogError {
        VlogError::Corrupt {
            segment,
            offset,
            reason: reason.into(),
        }
    }
}

/// Tuning; the defaults are what the store uses.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// A segment is closed once an append would take it past this size.
    pub max_segment_bytes: u32,
    /// zstd level: 3 keeps a group commit's compression well under its fsync.
    pub level: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_segment_bytes: super::settings::StoreConfig::default().segment_bytes(),
            level: 3,
        }
    }
}

/// An open value log; share it behind an `Arc`. One writer at a time (the
/// store's committer) is assumed by [`Vlog::append`]'s callers, but every
/// method is safe to call from any thread.
pub struct Vlog {
    dir: PathBuf,
    options: Options,
    dicts: RwLock<HashMap<u32, Arc<dict::Dict>>>,
    /// Open segments (read handles), by id.
    segments: RwLock<HashMap<u32, Arc<Segment>>>,
    writer: Mutex<Writer>,
    /// The head as of the last sync: everything before it is durable.
    durable: Mutex<Head>,
    /// Training was tried and taught nothing: not retried on every batch.
    training_failed: std::sync::atomic::AtomicBool,
    /// Training from stored records was tried ([`Vlog::claim_training_from_store`]).
    sampled_store: std::sync::atomic::AtomicBool,
}

struct Segment {
    file: File,
    dictionary: u32,
}

struct Writer {
    segment: u32,
    end: u32,
    dictionary: u32,
    compressor: zstd::bulk::Compressor<'static>,
    /// Segments written since the last sync (the active one included).
    dirty: Vec<Arc<Segment>>,
    /// A segment file was created since the last sync: the directory too.
    created: bool,
}

pub fn segment_name(id: u32) -> String {
    format!("{id:08x}.seg")
}

fn parse_segment_name(name: &str) -> Option<u32> {
    let hex = name.strip_suffix(".seg")?;
    (hex.len() == 8).then(|| u32::from_str_radix(hex, 16).ok())?
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), VlogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| VlogError::io(dir, e))
}

impl Vlog {
    /// Opens the log in `dir` (created if absent) as of `head`, the end the
    /// index last recorded (`None`: nothing was ever made visible). Bytes and
    /// segments beyond the head are removed; returns the log and how many
    /// bytes were cut.
    pub fn open(
        dir: &Path,
        head: Option<Head>,
        options: Options,
    ) -> Result<(Vlog, u64), VlogError> {
        std::fs::create_dir_all(dir).map_err(|e| VlogError::io(dir, e))?;
        let dicts = dict::load_all(dir)?;
        let head = head.unwrap_or(Head {
            segment: 0,
            end: HEADER_LEN,
        });
        let mut cut = 0u64;
        for entry in std::fs::read_dir(dir).map_err(|e| VlogError::io(dir, e))? {
            let entry = entry.map_err(|e| VlogError::io(dir, e))?;
            let Some(id) = entry.file_name().to_str().and_then(parse_segment_name) else {
                continue;
            };
            if id > head.segment || (id == head.segment && head.segment == 0) {
                cut += entry.metadata().map(|m| m.len()).unwrap_or(0);
                std::fs::remove_file(entry.path()).map_err(|e| VlogError::io(&entry.path(), e))?;
            }
        }
        let latest_dict = dicts.keys().copied().max().unwrap_or(0);
        let vlog = Vlog {
            dir: dir.to_path_buf(),
            options,
            dicts: RwLock::new(dicts),
            segments: RwLock::new(HashMap::new()),
            writer: Mutex::new(Writer {
                segment: 0,
                end: HEADER_LEN,
                dictionary: 0,
                compressor: append::compressor(options.level, None)?,
                dirty: Vec::new(),
                created: false,
            }),
            durable: Mutex::new(head),
            training_failed: Default::default(),
            sampled_store: Default::default(),
        };
        if head.segment == 0 {
            vlog.start_segment(&mut *vlog.lock_writer()?, 1, latest_dict)?;
            vlog.sync()?;
        } else {
            cut += vlog.reopen_head(head)?;
        }
        if cut > 0 {
            sync_dir(dir)?;
        }
        Ok((vlog, cut))
    }

    /// Makes the head segment the active one again, cut at the head's end.
    fn reopen_head(&self, head: Head) -> Result<u64, VlogError> {
        let segment = self.segment(head.segment)?;
        let path = self.dir.join(segment_name(head.segment));
        let len = segment
            .file
            .metadata()
            .map_err(|e| VlogError::io(&path, e))?
            .len();
        if len < u64::from(head.end) {
            return Err(VlogError::corrupt(
                head.segment,
                head.end,
                format!("the segment ends at {len}, before the end the index recorded"),
            ));
        }
        if len > u64::from(head.end) {
            segment
                .file
                .set_len(u64::from(head.end))
                .and_then(|()| segment.file.sync_all())
                .map_err(|e| VlogError::io(&path, e))?;
        }
        let mut writer = self.lock_writer()?;
        writer.compressor = append::compressor(
            self.options.level,
            self.dict(segment.dictionary)?.as_deref(),
        )?;
        writer.segment = head.segment;
        writer.end = head.end;
        writer.dictionary = segment.dictionary;
        Ok(len - u64::from(head.end))
    }

    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, VlogError> {
        self.writer.lock().map_err(|_| VlogError::Io {
            path: self.dir.display().to_string(),
            reason: "value log writer poisoned by an earlier panic".into(),
        })
    }

    fn dict(&self, id: u32) -> Result<Option<Arc<dict::Dict>>, VlogError> {
        if id == 0 {
            return Ok(None);
        }
        let dicts = self.dicts.read().map_err(|_| VlogError::Dictionary {
            id,
            reason: "lock poisoned".into(),
        })?;
        match dicts.get(&id) {
            Some(found) => Ok(Some(found.clone())),
            None => Err(VlogError::Dictionary {
                id,
                reason: format!("file {} is missing", dict::file_name(id)),
            }),
        }
    }

    /// A segment's read handle, opened once and checked against its name.
    fn segment(&self, id: u32) -> Result<Arc<Segment>, VlogError> {
        if let Some(found) = self.segments.read().ok().and_then(|s| s.get(&id).cloned()) {
            return Ok(found);
        }
        let path = self.dir.join(segment_name(id));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| VlogError::corrupt(id, 0, format!("segment file unreadable: {e}")))?;
        let mut header = [0u8; HEADER_LEN as usize];
        file.read_exact_at(&mut header, 0)
            .map_err(|e| VlogError::corrupt(id, 0, format!("segment header unreadable: {e}")))?;
        let header = SegmentHeader::decode(&header).map_err(|r| VlogError::corrupt(id, 0, r))?;
        if header.segment != id {
            return Err(VlogError::corrupt(
                id,
                0,
                "segment header names another segment",
            ));
        }
        let segment = Arc::new(Segment {
            file,
            dictionary: header.dictionary,
        });
        if let Ok(mut open) = self.segments.write() {
            open.insert(id, segment.clone());
        }
        Ok(segment)
    }

    /// The body an entry holds, checked against its checksum.
    pub fn read(&self, pointer: Pointer) -> Result<Vec<u8>, VlogError> {
        let frame = self.read_frame(pointer)?;
        let corrupt = |reason: String| VlogError::corrupt(pointer.segment, pointer.offset, reason);
        let (payload, raw_len) = format::unframe(&frame).map_err(|r| corrupt(r.into()))?;
        let dictionary = self.segment(pointer.segment)?.dictionary;
        let dict = self.dict(dictionary)?;
        let body = dict::decompress(dict.as_deref(), payload, raw_len as usize)
            .map_err(|e| corrupt(format!("does not decompress: {e}")))?;
        if body.len() != raw_len as usize {
            return Err(corrupt(
                "decompressed length differs from the stated one".into(),
            ));
        }
        Ok(body)
    }

    /// An entry's framed bytes, unchecked (the caller checks or copies them).
    fn read_frame(&self, pointer: Pointer) -> Result<Vec<u8>, VlogError> {
        let segment = self.segment(pointer.segment)?;
        if pointer.offset < HEADER_LEN || pointer.len > format::MAX_RAW_LEN * 2 {
            return Err(VlogError::corrupt(
                pointer.segment,
                pointer.offset,
                "pointer out of range",
            ));
        }
        let mut frame = vec![0u8; pointer.len as usize];
        segment
            .file
            .read_exact_at(&mut frame, u64::from(pointer.offset))
            .map_err(|e| {
                VlogError::corrupt(
                    pointer.segment,
                    pointer.offset,
                    format!("entry unreadable: {e}"),
                )
            })?;
        Ok(frame)
    }

    /// Deletes a segment no pointer refers to any more (after compaction's
    /// pointer move is durable). Never the active one; a missing file is fine
    /// (a retirement redone after a kill).
    pub fn retire(&self, id: u32) -> Result<(), VlogError> {
        if self.lock_writer()?.segment == id {
            return Err(VlogError::corrupt(
                id,
                0,
                "the active segment cannot be retired",
            ));
        }
        if let Ok(mut open) = self.segments.write() {
            open.remove(&id);
        }
        let path = self.dir.join(segment_name(id));
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(VlogError::io(&path, e)),
        }
    }

    /// The head as of the last [`Vlog::sync`] (or the open): every entry
    /// before it is durable, so an index batch may record it.
    pub fn durable_head(&self) -> Head {
        self.durable.lock().map(|h| *h).unwrap_or(Head {
            segment: 0,
            end: HEADER_LEN,
        })
    }

    /// The segment appends go to now (never compacted nor retired).
    pub fn active_segment(&self) -> Result<u32, VlogError> {
        Ok(self.lock_writer()?.segment)
    }

    /// Bytes the log takes on disk: segments and dictionaries.
    pub fn disk_bytes(&self) -> Result<u64, VlogError> {
        let mut total = 0;
        for entry in std::fs::read_dir(&self.dir).map_err(|e| VlogError::io(&self.dir, e))? {
            let entry = entry.map_err(|e| VlogError::io(&self.dir, e))?;
            total += entry.metadata().map(|m| m.len()).unwrap_or(0);
        }
        Ok(total)
    }

    /// Every segment file and its size in bytes, by id.
    pub fn segment_sizes(&self) -> Result<Vec<(u32, u64)>, VlogError> {
        let mut sizes = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| VlogError::io(&self.dir, e))? {
            let entry = entry.map_err(|e| VlogError::io(&self.dir, e))?;
            if let Some(id) = entry.file_name().to_str().and_then(parse_segment_name) {
                sizes.push((id, entry.metadata().map(|m| m.len()).unwrap_or(0)));
            }
        }
        sizes.sort_unstable();
        Ok(sizes)
    }
}
