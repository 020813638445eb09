//! Compaction of the value log after purges (retention, a revocation's purge):
//! a segment whose live bytes fell below [`LIVE_PERCENT`] of its size has its
//! live entries copied to the head; the caller then syncs, moves the pointers
//! in one sled batch with the new head, flushes, and retires the old segment.
//!
//! A kill at any point leaves one valid set of pointers: before the sled batch
//! lands, the copies lie beyond the recorded head (cut at open) and the old
//! pointers still read; after it, the new pointers read and the old segment is
//! only garbage until it is retired (again, if the kill came first).
//!
//! This module must never move a pointer itself (the index owns them) nor
//! touch a segment's bytes in place.

use super::format::{Pointer, HEADER_LEN};
use super::{Vlog, VlogError};

/// Below this share of live bytes a closed segment is worth rewriting.
pub const LIVE_PERCENT: u64 = 50;

/// Whether a closed segment of `file_bytes` holding `live_bytes` of entries
/// still pointed to should be compacted.
pub fn needs_compaction(live_bytes: u64, file_bytes: u64) -> bool {
    let entries = file_bytes.saturating_sub(u64::from(HEADER_LEN));
    entries > 0 && live_bytes * 100 < entries * LIVE_PERCENT
}

impl Vlog {
    /// Copies the entries at `live` (any closed segments) to the head and
    /// returns each (old, new) pointer, not yet durable. Entries move as their
    /// checked bytes when the dictionary is the same, and are re-compressed
    /// (the body itself never changes) when it is not. A live pointer into the
    /// active segment is refused: close it first by compacting it later.
    pub fn compact(&self, live: &[Pointer]) -> Result<Vec<(Pointer, Pointer)>, VlogError> {
        let active = self.lock_writer()?.segment;
        let mut frames = Vec::with_capacity(live.len());
        for pointer in live {
            if pointer.segment == active {
                return Err(VlogError::corrupt(
                    pointer.segment,
                    pointer.offset,
                    "the active segment cannot be compacted",
                ));
            }
            frames.push(self.read_frame(*pointer)?);
        }
        let mut writer = self.lock_writer()?;
        let mut copies = Vec::with_capacity(frames.len());
        for (pointer, frame) in live.iter().zip(frames) {
            let same_dict = self.segment(pointer.segment)?.dictionary == writer.dictionary;
            if same_dict {
                super::format::unframe(&frame)
                    .map_err(|r| VlogError::corrupt(pointer.segment, pointer.offset, r))?;
                copies.push(frame);
            } else {
                let body = self.read(*pointer)?;
                let payload = writer
                    .compressor
                    .compress(&body)
                    .map_err(|e| VlogError::io(&self.dir, e))?;
                let raw_len = u32::try_from(body.len()).unwrap_or(u32::MAX);
                copies.push(super::format::frame(raw_len, &payload));
            }
        }
        let moved = self.write_frames(&mut writer, copies)?;
        Ok(live.iter().copied().zip(moved).collect())
    }
}
