//! Signed records: the domain model of what an agency asserts, the envelope that
//! carries it, and the one place where wire (protobuf) types become domain types.
//!
//! This module owns: ids ([`NodeId`], [`RecordId`]), the markings (TLP, handling,
//! evaluation, labels), signing and verifying envelopes, and decoding payloads.
//! It must never decode a payload whose signature it has not verified, and never
//! re-encode a foreign payload: the signed bytes are kept exactly as received.

mod bulletin_wire;
mod envelope;
mod ids;
mod model;
mod signature;
mod wire;

pub use bulletin_wire::{check_bulletin, check_country};
pub use envelope::{payload_id, sign_payload, Envelope, VerifiedRecord, MAX_PAYLOAD_BYTES};
pub use ids::{NodeId, RecordId};
pub use model::{
    Body, Bulletin, Evaluation, HandlingCode, Indicator, Label, Payload, Reliability, Revocation,
    Sighting, SightingType, Tlp,
};
pub use wire::{
    check_count, decode_payload, first_seen_from_wire, handling_from_wire, handling_to_wire,
    indicator_to_wire, kind_from_wire, source_from_wire, tlp_from_wire, tlp_to_wire,
    MAX_DESCRIPTION_CHARS, MAX_HANDLING_CODES, MAX_LABELS, MAX_RECIPIENTS, MAX_SHORT_TEXT_CHARS,
    MAX_SOURCE_CHARS,
};

/// Why a record (or a field of one) was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(String),
    #[error("signature does not verify for signer {0}")]
    BadSignature(NodeId),
    #[error("signer key {0} is a weak Ed25519 key")]
    WeakKey(NodeId),
    #[error("payload origin {origin} differs from envelope signer {signer}")]
    OriginMismatch { origin: NodeId, signer: NodeId },
    #[error("payload of {0} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} bytes")]
    Oversized(usize),
    #[error("payload does not decode: {0}")]
    Undecodable(String),
    #[error("{field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

impl RecordError {
    pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> Self {
        RecordError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod signature_tests;
#[cfg(test)]
mod tests;

/// Bounds on a bulletin's signed body, checked at publish and on every
/// received bulletin (`field: reason` errors). Chosen so the largest
/// bulletin stays well inside a record's 64 KiB payload.
pub mod bulletin_bounds {
    /// Characters in a title.
    pub const MAX_TITLE_CHARS: usize = 200;
    /// Characters in the summary.
    pub const MAX_SUMMARY_CHARS: usize = 4096;
    /// Characters in the modus operandi text.
    pub const MAX_MODUS_OPERANDI_CHARS: usize = 4096;
    /// Indicators grouped by one bulletin (34 bytes each on the wire).
    pub const MAX_MEMBERS: usize = 500;
    /// Countries affected.
    pub const MAX_COUNTRIES: usize = 64;
}
