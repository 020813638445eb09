//! Compression dictionaries of the value log: trained once from the first
//! records a store holds (at migration, or when a new store reaches enough
//! records), kept beside the segments as `dict-NNNNNNNN.zdict` and named by id
//! in each segment's header, so a segment always decodes with the dictionary it
//! was written with. Records of one node share most of their bytes (origin,
//! field tags, TLP, labels, the signature's framing), which a dictionary turns
//! into back-references: a 180-byte envelope compresses poorly alone and well
//! with one.
//!
//! A dictionary file is written to a temporary name, synced, renamed and the
//! directory synced before any segment names it, and never changed or removed
//! afterwards. This module must never hand out a dictionary whose checksum
//! failed.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use zstd::bulk::Decompressor;

use super::VlogError;

const MAGIC: &[u8; 12] = b"LIAISON-DIC1";
/// Largest dictionary trained: large enough for a node's recurring fields,
/// small enough to load per segment in microseconds.
pub const MAX_DICT_BYTES: usize = 32 * 1024;
/// Fewer samples than this train nothing useful (zstd refuses, or learns noise).
pub const MIN_SAMPLES: usize = 256;
/// Nor do fewer sample bytes than this.
pub const MIN_SAMPLE_BYTES: usize = 2 * MAX_DICT_BYTES;

/// One loaded dictionary.
pub struct Dict {
    pub id: u32,
    pub raw: Vec<u8>,
    /// Unique in this process (ids repeat across stores): names the
    /// dictionary in each thread's decompressor cache ([`decompress`]).
    serial: u64,
}

static SERIALS: AtomicU64 = AtomicU64::new(1);

impl Dict {
    fn new(id: u32, raw: Vec<u8>) -> Arc<Dict> {
        let serial = SERIALS.fetch_add(1, Ordering::Relaxed);
        Arc::new(Dict { id, raw, serial })
    }
}

/// Decompressors kept per thread, each with its dictionary already digested:
/// a fresh one per read would allocate and digest again for every record.
const KEPT_PER_THREAD: usize = 4;

thread_local! {
    static DECOMPRESSORS: RefCell<Vec<(u64, Decompressor<'static>)>> = const { RefCell::new(Vec::new()) };
}

/// Decompresses one payload of `raw_len` bytes written with `dict`.
pub fn decompress(dict: Option<&Dict>, payload: &[u8], raw_len: usize) -> std::io::Result<Vec<u8>> {
    let serial = dict.map_or(0, |d| d.serial);
    DECOMPRESSORS.with(|cell| {
        let mut kept = cell.borrow_mut();
        let at = match kept.iter().position(|(s, _)| *s == serial) {
            Some(at) => at,
            None => {
                let fresh = match dict {
                    Some(d) => Decompressor::with_dictionary(&d.raw)?,
                    None => Decompressor::new()?,
                };
                if kept.len() == KEPT_PER_THREAD {
                    kept.remove(0);
                }
                kept.push((serial, fresh));
                kept.len() - 1
            }
        };
        kept[at].1.decompress(payload, raw_len)
    })
}

pub fn file_name(id: u32) -> String {
    format!("dict-{id:08x}.zdict")
}

fn parse_name(name: &str) -> Option<u32> {
    let hex = name.strip_prefix("dict-")?.strip_suffix(".zdict")?;
    (hex.len() == 8).then(|| u32::from_str_radix(hex, 16).ok())?
}

/// Every dictionary in `dir`, by id.
pub fn load_all(dir: &Path) -> Result<HashMap<u32, Arc<Dict>>, VlogError> {
    let mut found = HashMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| VlogError::io(dir, e))? {
        let entry = entry.map_err(|e| VlogError::io(dir, e))?;
        let Some(id) = entry.file_name().to_str().and_then(parse_name) else {
            continue;
        };
        let bytes = std::fs::read(entry.path()).map_err(|e| VlogError::io(&entry.path(), e))?;
        let raw = decode(&bytes, id).map_err(|reason| VlogError::Dictionary {
            id,
            reason: reason.into(),
        })?;
        found.insert(id, Dict::new(id, raw));
    }
    Ok(found)
}

fn decode(bytes: &[u8], id: u32) -> Result<Vec<u8>, &'static str> {
    if bytes.len() < 20 || &bytes[..12] != MAGIC {
        return Err("not a value-log dictionary (bad magic)");
    }
    let stated = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    let crc = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    if stated != id {
        return Err("its header names another id than its file name");
    }
    if crc32fast::hash(&bytes[20..]) != crc {
        return Err("checksum mismatch");
    }
    Ok(bytes[20..].to_vec())
}

/// Whether `samples` are enough to train from (zstd wants many times the
/// dictionary's size).
pub fn enough(samples: &[&[u8]]) -> bool {
    let bytes: usize = samples.iter().map(|s| s.len()).sum();
    samples.len() >= MIN_SAMPLES && bytes >= MIN_SAMPLE_BYTES
}

/// Trains a dictionary from enough `samples`; `None` when zstd finds
/// nothing to learn (the log then compresses without one).
pub fn train(samples: &[&[u8]]) -> Option<Vec<u8>> {
    match zstd::dict::from_samples(samples, MAX_DICT_BYTES) {
        Ok(dict) => Some(dict),
        Err(e) => {
            tracing::warn!(error = %e, samples = samples.len(), "no compression dictionary could be trained; the value log compresses without one");
            None
        }
    }
}

/// Writes dictionary `id` durably into `dir` and loads it.
pub fn store(dir: &Path, id: u32, raw: Vec<u8>) -> Result<Arc<Dict>, VlogError> {
    let path = dir.join(file_name(id));
    let temporary = dir.join(format!("{}.tmp", file_name(id)));
    let mut bytes = Vec::with_capacity(20 + raw.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&raw).to_be_bytes());
    bytes.extend_from_slice(&raw);
    let mut file = std::fs::File::create(&temporary).map_err(|e| VlogError::io(&temporary, e))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| VlogError::io(&temporary, e))?;
    std::fs::rename(&temporary, &path).map_err(|e| VlogError::io(&path, e))?;
    super::sync_dir(dir)?;
    Ok(Dict::new(id, raw))
}

impl super::Vlog {
    /// True once per open: the caller may train from the records already
    /// stored (costly; never retried in the same process).
    pub fn claim_training_from_store(&self) -> bool {
        !self
            .sampled_store
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a dictionary was trained (later segments use the newest).
    pub fn has_dictionary(&self) -> bool {
        self.latest_dict() != 0
    }

    /// Trains a dictionary from sample bodies and writes every later segment
    /// with it (the active one is closed first, its header names the old one).
    /// `None` when the samples teach nothing (too few).
    pub fn train_dictionary(&self, samples: &[&[u8]]) -> Result<Option<u32>, VlogError> {
        use std::sync::atomic::Ordering;
        if self.training_failed.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // Too few samples is no failure: a later, larger batch may teach.
        if !enough(samples) {
            return Ok(None);
        }
        let Some(raw) = train(samples) else {
            self.training_failed.store(true, Ordering::Relaxed);
            return Ok(None);
        };
        let id = self.latest_dict() + 1;
        let loaded = store(&self.dir, id, raw)?;
        if let Ok(mut dicts) = self.dicts.write() {
            dicts.insert(id, loaded);
        }
        let mut writer = self.lock_writer()?;
        let next = writer.segment + 1;
        self.start_segment(&mut writer, next, id)?;
        Ok(Some(id))
    }
}
