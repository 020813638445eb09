//! The lookup filter: a binary fuse filter (`xorf::BinaryFuse32`) of the filter
//! keys of F(value), its byte encoding, and its Ed25519-signed header.
//!
//! BinaryFuse32, not 16: a false positive tells an analyst "partner holds it",
//! and the natural next step is a federated search that sends the value in the
//! clear; at 2^-32 (one in ~4.3 billion per partner per lookup) that never
//! happens in practice, for ~36 bits per value (1M values: ~4.5 MB). A
//! BinaryFuse16 (2^-16, one in 65 536) would halve the size but mislead an
//! analyst every few thousand lookups across partners.
//!
//! The encoding is ours, little-endian: seed u64, segment_length u32,
//! segment_length_mask u32, segment_count_length u32, then the u32 fingerprints.
//! A decoded filter is checked so that no key can index outside it. This module
//! must never decode filter bytes whose signature and digest were not checked.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use xorf::{BinaryFuse32, Descriptor, Filter as _};

use super::LookupError;
use crate::proto;

/// Signature domain of a lookup filter header.
pub const DOMAIN: &[u8] = b"liaison/v1/lookup-filter\0";
/// Largest filter accepted (~7M values).
pub const MAX_FILTER_BYTES: usize = 32 * 1024 * 1024;
const HEADER: usize = 20;

/// A filter, or the empty set (a fuse filter needs at least one key).
#[derive(Debug, Clone)]
pub struct LookupFilter {
    inner: Option<BinaryFuse32>,
}

impl LookupFilter {
    /// Builds from the filter keys (duplicates allowed).
    pub fn build(mut keys: Vec<u64>) -> Result<LookupFilter, LookupError> {
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(LookupFilter { inner: None });
        }
        let inner = BinaryFuse32::try_from(&keys)
            .map_err(|e| LookupError::Invalid(format!("filter: cannot build ({e})")))?;
        Ok(LookupFilter { inner: Some(inner) })
    }

    pub fn contains(&self, key: u64) -> bool {
        self.inner.as_ref().is_some_and(|f| f.contains(&key))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let Some(f) = &self.inner else {
            return Vec::new();
        };
        let d = &f.descriptor;
        let mut out = Vec::with_capacity(HEADER + f.fingerprints.len() * 4);
        out.extend_from_slice(&d.seed.to_le_bytes());
        out.extend_from_slice(&d.segment_length.to_le_bytes());
        out.extend_from_slice(&d.segment_length_mask.to_le_bytes());
        out.extend_from_slice(&d.segment_count_length.to_le_bytes());
        for fp in f.fingerprints.iter() {
            out.extend_from_slice(&fp.to_le_bytes());
        }
        out
    }

    /// Decodes bytes whose digest was verified; refuses a shape under which a
    /// lookup could index outside the fingerprints.
    pub fn from_bytes(bytes: &[u8]) -> Result<LookupFilter, LookupError> {
        if bytes.is_empty() {
            return Ok(LookupFilter { inner: None });
        }
        let bad = |why: &str| LookupError::Untrusted(format!("filter: {why}"));
        if bytes.len() > MAX_FILTER_BYTES
            || bytes.len() < HEADER
            || !(bytes.len() - HEADER).is_multiple_of(4)
        {
            return Err(bad("wrong length"));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&bytes[..8]);
        let descriptor = Descriptor {
            seed: u64::from_le_bytes(seed),
            segment_length: u32_at(8),
            segment_length_mask: u32_at(12),
            segment_count_length: u32_at(16),
        };
        let fingerprints: Box<[u32]> = bytes[HEADER..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let length = u64::from(descriptor.segment_length);
        let fits = length.is_power_of_two()
            && descriptor.segment_length_mask == descriptor.segment_length - 1
            && u64::from(descriptor.segment_count_length) % length == 0
            && u64::from(descriptor.segment_count_length) + 2 * length == fingerprints.len() as u64;
        if !fits {
            return Err(bad("inconsistent descriptor"));
        }
        Ok(LookupFilter {
            inner: Some(BinaryFuse32 {
                descriptor,
                fingerprints,
            }),
        })
    }
}

/// The signed part of a filter (everything but the filter bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub node_id: [u8; 32],
    pub epoch: u64,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    pub ceiling: String,
    pub relay: bool,
    pub public_key: [u8; 32],
    pub digest: [u8; 32],
}

impl Header {
    /// The exact bytes signed (see federation.proto, `LookupFilter`).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut m = DOMAIN.to_vec();
        m.extend_from_slice(&self.node_id);
        m.extend_from_slice(&self.epoch.to_be_bytes());
        m.extend_from_slice(&self.not_before_ms.to_be_bytes());
        m.extend_from_slice(&self.not_after_ms.to_be_bytes());
        m.push(self.ceiling.len() as u8);
        m.extend_from_slice(self.ceiling.as_bytes());
        m.push(u8::from(self.relay));
        m.extend_from_slice(&self.public_key);
        m.extend_from_slice(&self.digest);
        m
    }

    pub fn sign(&self, key: &SigningKey) -> [u8; 64] {
        key.sign(&self.signed_bytes()).to_bytes()
    }

    /// The wire form, with `filter` bytes (empty when the caller has them).
    pub fn to_wire(&self, signature: &[u8; 64], filter: Vec<u8>) -> proto::LookupFilter {
        proto::LookupFilter {
            node_id: self.node_id.to_vec(),
            epoch: self.epoch,
            not_before_unix_ms: self.not_before_ms,
            not_after_unix_ms: self.not_after_ms,
            ceiling: self.ceiling.clone(),
            relay: self.relay,
            public_key: self.public_key.to_vec(),
            filter_digest: self.digest.to_vec(),
            signature: signature.to_vec(),
            filter,
            quota_left: 0,
        }
    }
}

pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Checks a received filter header: signed by `partner`, for the current epoch
/// (`now_ms` inside its span, `skew_ms` of grace), never older than the epoch
/// already seen. Returns the header; nothing in it is trusted before this.
pub fn verify_header(
    wire: &proto::LookupFilter,
    partner: &[u8; 32],
    now_ms: i64,
    skew_ms: i64,
    seen_epoch: Option<u64>,
) -> Result<Header, LookupError> {
    let bad = |why: String| LookupError::Untrusted(why);
    let fixed = |field: &str, bytes: &[u8]| -> Result<[u8; 32], LookupError> {
        bytes
            .try_into()
            .map_err(|_| bad(format!("{field}: expected 32 bytes")))
    };
    let header = Header {
        node_id: fixed("node_id", &wire.node_id)?,
        epoch: wire.epoch,
        not_before_ms: wire.not_before_unix_ms,
        not_after_ms: wire.not_after_unix_ms,
        ceiling: wire.ceiling.clone(),
        relay: wire.relay,
        public_key: fixed("public_key", &wire.public_key)?,
        digest: fixed("filter_digest", &wire.filter_digest)?,
    };
    if &header.node_id != partner || header.ceiling.len() > 32 {
        return Err(bad("node_id: the filter is not this partner's".into()));
    }
    let signature = Signature::from_slice(&wire.signature)
        .map_err(|_| bad("signature: expected 64 bytes".into()))?;
    let key =
        VerifyingKey::from_bytes(partner).map_err(|_| bad("node_id: not an Ed25519 key".into()))?;
    key.verify_strict(&header.signed_bytes(), &signature)
        .map_err(|_| bad("signature: the filter's signature does not verify".into()))?;
    if header.not_after_ms + skew_ms <= now_ms {
        return Err(bad(format!(
            "epoch: filter of epoch {} expired; an old epoch's filter is refused",
            header.epoch
        )));
    }
    if header.not_before_ms - skew_ms > now_ms {
        return Err(bad(format!(
            "epoch: filter of epoch {} is not yet valid",
            header.epoch
        )));
    }
    if seen_epoch.is_some_and(|seen| header.epoch < seen) {
        return Err(bad(format!(
            "epoch: filter of epoch {} is older than one already seen",
            header.epoch
        )));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(key: &SigningKey, now: i64) -> Header {
        Header {
            node_id: key.verifying_key().to_bytes(),
            epoch: 5,
            not_before_ms: now - 1000,
            not_after_ms: now + 1000,
            ceiling: "green".into(),
            relay: true,
            public_key: [9u8; 32],
            digest: digest(b"filter"),
        }
    }

    #[test]
    fn filter_round_trips_and_has_no_false_negatives() {
        let keys: Vec<u64> = (0..10_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let filter = LookupFilter::build(keys.clone()).unwrap();
        let back = LookupFilter::from_bytes(&filter.to_bytes()).unwrap();
        assert!(keys.iter().all(|k| back.contains(*k)));
        assert!(!LookupFilter::build(vec![]).unwrap().contains(1));
        for n in 1..5u64 {
            let small = LookupFilter::build((0..n).collect()).unwrap();
            let small = LookupFilter::from_bytes(&small.to_bytes()).unwrap();
            assert!((0..n).all(|k| small.contains(k)));
        }
    }

    #[test]
    fn inconsistent_filter_bytes_are_refused() {
        let filter = LookupFilter::build((0..100).collect()).unwrap();
        let mut bytes = filter.to_bytes();
        bytes[16] ^= 0x40; // segment_count_length
        assert!(LookupFilter::from_bytes(&bytes).is_err());
        assert!(LookupFilter::from_bytes(&[1, 2, 3]).is_err());
    }

    #[test]
    fn tampered_or_foreign_or_old_headers_are_refused() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let now = 1_000_000;
        let h = header(&key, now);
        let sig = h.sign(&key);
        let wire = h.to_wire(&sig, Vec::new());
        let id = key.verifying_key().to_bytes();
        assert_eq!(verify_header(&wire, &id, now, 0, None).unwrap(), h);

        let mut tampered = wire.clone();
        tampered.filter_digest[0] ^= 1;
        let err = verify_header(&tampered, &id, now, 0, None).unwrap_err();
        assert!(err.to_string().starts_with("signature:"), "{err}");

        let mut bad_sig = wire.clone();
        bad_sig.signature[10] ^= 1;
        assert!(verify_header(&bad_sig, &id, now, 0, None).is_err());

        let other = SigningKey::from_bytes(&[4u8; 32])
            .verifying_key()
            .to_bytes();
        assert!(verify_header(&wire, &other, now, 0, None).is_err());

        let err = verify_header(&wire, &id, now + 5000, 0, None).unwrap_err();
        assert!(err.to_string().contains("old epoch"), "{err}");
        let err = verify_header(&wire, &id, now, 0, Some(6)).unwrap_err();
        assert!(err.to_string().starts_with("epoch:"), "{err}");
    }
}
