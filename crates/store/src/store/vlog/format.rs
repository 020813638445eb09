//! The bytes of the value log, decided once: a segment's header, an entry's
//! frame, and the two small values the record index keeps about the log (a
//! [`Pointer`] to an entry and the [`Head`] where the next append goes).
//!
//! Segment file `NNNNNNNN.seg` (id in hex): a 32-byte header, then entries.
//!
//! | bytes | header field |
//! | --- | --- |
//! | 12 | magic `LIAISON-VLG1` |
//! | 4 | segment id (u32 BE) |
//! | 4 | dictionary id (u32 BE; 0: no dictionary) |
//! | 8 | reserved, zero |
//! | 4 | CRC-32 of the 28 bytes before it |
//!
//! An entry: payload length (u32 BE), raw length (u32 BE), CRC-32 of the eight
//! length bytes and the payload (u32 BE), then the payload: one zstd frame of
//! the raw bytes, without the frame's own checksum, dictionary id or content
//! size (the entry's CRC, the segment header and the raw length say those).
//!
//! This module only encodes and checks bytes: it must never touch a file, and
//! a check that fails is an error for the caller, never a panic.

/// Bytes before the first entry of a segment.
pub const HEADER_LEN: u32 = 32;
/// Bytes of an entry's frame before its payload.
pub const ENTRY_HEADER_LEN: u32 = 12;
/// Largest raw body accepted (a record is a few KiB at most; 16 MiB bounds a
/// corrupt length before any allocation).
pub const MAX_RAW_LEN: u32 = 16 << 20;

const MAGIC: &[u8; 12] = b"LIAISON-VLG1";

/// A segment's identity as its header states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    pub segment: u32,
    pub dictionary: u32,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut out = [0u8; HEADER_LEN as usize];
        out[..12].copy_from_slice(MAGIC);
        out[12..16].copy_from_slice(&self.segment.to_be_bytes());
        out[16..20].copy_from_slice(&self.dictionary.to_be_bytes());
        let crc = crc32fast::hash(&out[..28]);
        out[28..].copy_from_slice(&crc.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, &'static str> {
        if bytes.len() < HEADER_LEN as usize || &bytes[..12] != MAGIC {
            return Err("not a value-log segment (bad magic)");
        }
        if crc32fast::hash(&bytes[..28]) != be32(&bytes[28..32]) {
            return Err("segment header checksum mismatch");
        }
        Ok(SegmentHeader {
            segment: be32(&bytes[12..16]),
            dictionary: be32(&bytes[16..20]),
        })
    }
}

/// Frames a compressed payload: the bytes appended to a segment.
pub fn frame(raw_len: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(ENTRY_HEADER_LEN as usize + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&raw_len.to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[..8]);
    crc.update(payload);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The lengths an entry header announces: (payload, raw).
pub fn entry_lengths(header: &[u8]) -> Result<(u32, u32), &'static str> {
    if header.len() < ENTRY_HEADER_LEN as usize {
        return Err("entry header cut short");
    }
    let (payload, raw) = (be32(&header[..4]), be32(&header[4..8]));
    if raw > MAX_RAW_LEN || payload > MAX_RAW_LEN + (MAX_RAW_LEN >> 4) {
        return Err("entry length out of range");
    }
    Ok((payload, raw))
}

/// Checks a whole framed entry; returns its payload and raw length.
pub fn unframe(entry: &[u8]) -> Result<(&[u8], u32), &'static str> {
    let (payload_len, raw_len) = entry_lengths(entry)?;
    let end = ENTRY_HEADER_LEN as usize + payload_len as usize;
    if entry.len() != end {
        return Err("entry length does not match its pointer");
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&entry[..8]);
    crc.update(&entry[ENTRY_HEADER_LEN as usize..]);
    if crc.finalize() != be32(&entry[8..12]) {
        return Err("entry checksum mismatch");
    }
    Ok((&entry[ENTRY_HEADER_LEN as usize..], raw_len))
}

/// Where one entry lies: segment, offset of its frame, and the frame's length.
/// Stored by the record index as 12 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pointer {
    pub segment: u32,
    pub offset: u32,
    pub len: u32,
}

impl Pointer {
    pub const LEN: usize = 12;

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..4].copy_from_slice(&self.segment.to_be_bytes());
        out[4..8].copy_from_slice(&self.offset.to_be_bytes());
        out[8..].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Pointer> {
        (bytes.len() == Self::LEN).then(|| Pointer {
            segment: be32(&bytes[..4]),
            offset: be32(&bytes[4..8]),
            len: be32(&bytes[8..]),
        })
    }

    /// The offset just past this entry.
    #[cfg(test)]
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.len)
    }
}

/// The durable end of the log as the record index last recorded it: the
/// active segment and the offset where its next entry goes. Everything at or
/// beyond it was never made visible and is cut at open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub segment: u32,
    pub end: u32,
}

impl Head {
    pub const LEN: usize = 8;

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..4].copy_from_slice(&self.segment.to_be_bytes());
        out[4..].copy_from_slice(&self.end.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Head> {
        (bytes.len() == Self::LEN).then(|| Head {
            segment: be32(&bytes[..4]),
            end: be32(&bytes[4..]),
        })
    }
}

fn be32(bytes: &[u8]) -> u32 {
    let mut array = [0u8; 4];
    array.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(array)
}
