//! The write side of the value log: creating segments, compressing and
//! framing bodies, appending them at the head (closing a segment as it fills)
//! and the sync that makes them durable. Only one append runs at a time (the
//! writer's lock). This module must never write before the head nor move the
//! head past bytes not written whole.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::format::{self, SegmentHeader, HEADER_LEN};
use super::{dict, segment_name, sync_dir, Head, Pointer, Segment, Vlog, VlogError, Writer};

impl Vlog {
    /// Creates segment `id` (header written) and makes it the active one.
    pub(super) fn start_segment(
        &self,
        writer: &mut Writer,
        id: u32,
        dictionary: u32,
    ) -> Result<(), VlogError> {
        let path = self.dir.join(segment_name(id));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| VlogError::io(&path, e))?;
        let header = SegmentHeader {
            segment: id,
            dictionary,
        };
        file.write_all_at(&header.encode(), 0)
            .map_err(|e| VlogError::io(&path, e))?;
        let segment = Arc::new(Segment { file, dictionary });
        if let Ok(mut open) = self.segments.write() {
            open.insert(id, segment.clone());
        }
        writer.compressor = compressor(self.options.level, self.dict(dictionary)?.as_deref())?;
        writer.segment = id;
        writer.end = HEADER_LEN;
        writer.dictionary = dictionary;
        writer.dirty.push(segment);
        writer.created = true;
        Ok(())
    }

    /// Appends bodies (not yet durable: see [`Vlog::sync`]); returns where each lies.
    pub fn append(&self, bodies: &[&[u8]]) -> Result<Vec<Pointer>, VlogError> {
        let mut writer = self.lock_writer()?;
        let mut framed = Vec::with_capacity(bodies.len());
        for body in bodies {
            let raw_len = u32::try_from(body.len())
                .ok()
                .filter(|n| *n <= format::MAX_RAW_LEN)
                .ok_or_else(|| {
                    VlogError::corrupt(
                        writer.segment,
                        writer.end,
                        "body too large for the value log",
                    )
                })?;
            let payload = writer
                .compressor
                .compress(body)
                .map_err(|e| VlogError::io(&self.dir, e))?;
            framed.push(format::frame(raw_len, &payload));
        }
        self.write_frames(&mut writer, framed)
    }

    /// Writes framed entries at the head, closing segments as they fill; the
    /// head moves only past bytes written whole.
    pub(super) fn write_frames(
        &self,
        writer: &mut Writer,
        framed: Vec<Vec<u8>>,
    ) -> Result<Vec<Pointer>, VlogError> {
        let mut pointers = Vec::with_capacity(framed.len());
        let mut run: Vec<u8> = Vec::new();
        for frame in framed {
            let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
            let run_len = u32::try_from(run.len()).unwrap_or(u32::MAX);
            let at = writer.end.saturating_add(run_len);
            if at > HEADER_LEN
                && u64::from(at) + u64::from(len) > u64::from(self.options.max_segment_bytes)
            {
                self.write_run(writer, &mut run)?;
                let (next, dictionary) = (writer.segment + 1, self.latest_dict());
                self.start_segment(writer, next, dictionary)?;
            }
            let run_len = u32::try_from(run.len()).unwrap_or(u32::MAX);
            pointers.push(Pointer {
                segment: writer.segment,
                offset: writer.end + run_len,
                len,
            });
            run.extend_from_slice(&frame);
        }
        self.write_run(writer, &mut run)?;
        Ok(pointers)
    }

    fn write_run(&self, writer: &mut Writer, run: &mut Vec<u8>) -> Result<(), VlogError> {
        if run.is_empty() {
            return Ok(());
        }
        let segment = self.segment(writer.segment)?;
        let path = self.dir.join(segment_name(writer.segment));
        segment
            .file
            .write_all_at(run, u64::from(writer.end))
            .map_err(|e| VlogError::io(&path, e))?;
        writer.end += u32::try_from(run.len()).unwrap_or(u32::MAX);
        if !writer.dirty.iter().any(|s| Arc::ptr_eq(s, &segment)) {
            writer.dirty.push(segment);
        }
        run.clear();
        Ok(())
    }

    pub(super) fn latest_dict(&self) -> u32 {
        self.dicts
            .read()
            .map(|d| d.keys().copied().max().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Makes every append so far durable (one fdatasync per touched segment,
    /// and the directory after a new segment); returns the head to record.
    pub fn sync(&self) -> Result<Head, VlogError> {
        let mut writer = self.lock_writer()?;
        for segment in writer.dirty.drain(..) {
            segment
                .file
                .sync_data()
                .map_err(|e| VlogError::io(&self.dir, e))?;
        }
        if std::mem::take(&mut writer.created) {
            sync_dir(&self.dir)?;
        }
        let head = Head {
            segment: writer.segment,
            end: writer.end,
        };
        if let Ok(mut durable) = self.durable.lock() {
            *durable = head;
        }
        Ok(head)
    }
}

/// A compressor without the per-frame fields a segment already implies.
pub(super) fn compressor(
    level: i32,
    dict: Option<&dict::Dict>,
) -> Result<zstd::bulk::Compressor<'static>, VlogError> {
    use zstd::zstd_safe::CParameter;
    let io = |e: std::io::Error| VlogError::Dictionary {
        id: dict.map_or(0, |d| d.id),
        reason: e.to_string(),
    };
    let mut compressor = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, &d.raw),
        None => zstd::bulk::Compressor::new(level),
    }
    .map_err(io)?;
    for parameter in [
        CParameter::ChecksumFlag(false),
        CParameter::DictIdFlag(false),
        CParameter::ContentSizeFlag(false),
    ] {
        compressor.set_parameter(parameter).map_err(io)?;
    }
    Ok(compressor)
}
