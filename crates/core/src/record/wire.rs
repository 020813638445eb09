//! The one place where protobuf payloads become domain payloads and back.
//!
//! Decoding is fallible and validates every field, because the bytes may come from
//! anywhere; encoding is used only for payloads this node signs itself.

use prost::Message;

use super::model::*;
use super::{NodeId, RecordError, RecordId};
use crate::indicator::{self, Kind};
use crate::proto;
use crate::untrusted::{check_text, Lines};

pub const MAX_LABELS: usize = 16;
pub const MAX_RECIPIENTS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
pub const MAX_SHORT_TEXT_CHARS: usize = 1024;
/// An indicator's `source` (a producer's name): one line of at most this many characters.
pub const MAX_SOURCE_CHARS: usize = 200;
/// H0..H3, each at most once in practice; a little room for future codes.
pub const MAX_HANDLING_CODES: usize = 8;

/// How much of a payload to re-check when decoding it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checks {
    /// Bytes from outside: every field, including the canonical form of the value.
    Full,
    /// Bytes from our own store, fully checked when they came in: skip the
    /// (costly) re-normalisation of the value.
    Stored,
}

/// Decodes and validates payload bytes whose signature has already been verified.
pub fn decode_payload(bytes: &[u8]) -> Result<Payload, RecordError> {
    decode_payload_with(bytes, Checks::Full)
}

pub(crate) fn decode_payload_with(bytes: &[u8], checks: Checks) -> Result<Payload, RecordError> {
    let wire =
        proto::Payload::decode(bytes).map_err(|e| RecordError::Undecodable(e.to_string()))?;
    payload_from_wire(wire, checks)
}

pub(crate) fn encode_payload(payload: &Payload) -> Vec<u8> {
    payload_to_wire(payload).encode_to_vec()
}

fn payload_from_wire(wire: proto::Payload, checks: Checks) -> Result<Payload, RecordError> {
    let origin = NodeId::from_slice(&wire.origin)?;
    if wire.sequence == 0 {
        return Err(RecordError::field("sequence", "must start at 1"));
    }
    let body = match wire.body {
        Some(proto::payload::Body::Indicator(i)) => {
            Body::Indicator(indicator_from_wire(i, checks)?)
        }
        Some(proto::payload::Body::Revocation(r)) => Body::Revocation(Revocation {
            record_id: RecordId::from_slice(&r.record_id)?,
            reason: bounded_text("reason", r.reason, MAX_SHORT_TEXT_CHARS, Lines::Multi)?,
        }),
        Some(proto::payload::Body::Sighting(s)) => Body::Sighting(Sighting {
            record_id: RecordId::from_slice(&s.record_id)?,
            kind: sighting_type_from_wire(s.r#type)?,
            note: bounded_text("note", s.note, MAX_SHORT_TEXT_CHARS, Lines::Multi)?,
        }),
        Some(proto::payload::Body::Bulletin(b)) => {
            Body::Bulletin(super::bulletin_wire::bulletin_from_wire(b)?)
        }
        None => {
            return Err(RecordError::field(
                "body",
                "missing: expected indicator, revocation, sighting or bulletin",
            ))
        }
    };
    Ok(Payload {
        origin,
        sequence: wire.sequence,
        created_ms: wire.created_unix_ms,
        body,
    })
}

fn indicator_from_wire(wire: proto::Indicator, checks: Checks) -> Result<Indicator, RecordError> {
    let kind = u8::try_from(wire.kind)
        .ok()
        .and_then(Kind::from_code)
        .ok_or_else(|| {
            RecordError::field("kind", format!("unknown indicator kind {}", wire.kind))
        })?;
    if checks == Checks::Full {
        check_canonical(kind, &wire.value)?;
    }
    check_count("labels", wire.labels.len(), MAX_LABELS)?;
    let labels = wire
        .labels
        .iter()
        .map(|l| l.parse())
        .collect::<Result<Vec<Label>, _>>()?;
    let tlp = tlp_from_wire(wire.tlp)?;
    check_count("handling", wire.handling.len(), MAX_HANDLING_CODES)?;
    let handling = wire
        .handling
        .iter()
        .map(|&h| handling_from_wire(h))
        .collect::<Result<Vec<_>, _>>()?;
    let evaluation = match wire.evaluation {
        Some(e) => Evaluation::new(&e.source_reliability, e.information_accuracy)?,
        None => return Err(RecordError::field("evaluation", "missing")),
    };
    check_count("recipients", wire.recipients.len(), MAX_RECIPIENTS)?;
    let recipients = wire
        .recipients
        .iter()
        .map(|r| NodeId::from_slice(r))
        .collect::<Result<Vec<_>, _>>()?;
    let supersedes = match wire.supersedes.len() {
        0 => None,
        _ => Some(RecordId::from_slice(&wire.supersedes)?),
    };
    let indicator = Indicator {
        kind,
        value: wire.value,
        labels,
        tlp,
        handling,
        handling_note: bounded_text(
            "handling_note",
            wire.handling_note,
            MAX_SHORT_TEXT_CHARS,
            Lines::Single,
        )?,
        evaluation,
        valid_until_ms: wire.valid_until_unix_ms,
        description: bounded_text(
            "description",
            wire.description,
            MAX_DESCRIPTION_CHARS,
            Lines::Multi,
        )?,
        case_reference: bounded_text(
            "case_reference",
            wire.case_reference,
            MAX_SHORT_TEXT_CHARS,
            Lines::Single,
        )?,
        recipients,
        supersedes,
        outside_known_ranges: wire.outside_known_ranges,
        source: source_from_wire(wire.source)?,
        first_seen_ms: first_seen_from_wire(wire.first_seen_unix_ms)?,
    };
    check_markings(
        indicator.tlp,
        &indicator.recipients,
        &indicator.handling,
        &indicator.handling_note,
    )?;
    Ok(indicator)
}

/// An indicator's `source`: the producer's name, one line of at most
/// [`MAX_SOURCE_CHARS`] characters; empty means none. The one check, for a
/// publish request and a received record alike.
pub fn source_from_wire(text: String) -> Result<String, RecordError> {
    bounded_text("source", text, MAX_SOURCE_CHARS, Lines::Single)
}

/// An indicator's `first_seen_unix_ms`: 0 is "not stated"; a negative time
/// (before 1970) is no indicator's first sighting.
pub fn first_seen_from_wire(ms: i64) -> Result<Option<i64>, RecordError> {
    match ms {
        0 => Ok(None),
        ms if ms < 0 => Err(RecordError::field(
            "first_seen_unix_ms",
            format!("{ms} lies before 1970"),
        )),
        ms => Ok(Some(ms)),
    }
}

/// Rules that tie markings together, for any record that carries them
/// (indicators and bulletins).
pub(super) fn check_markings(
    tlp: Tlp,
    recipients: &[NodeId],
    handling: &[HandlingCode],
    handling_note: &str,
) -> Result<(), RecordError> {
    if tlp == Tlp::Red && recipients.is_empty() {
        return Err(RecordError::field(
            "recipients",
            "a RED record must name at least one recipient",
        ));
    }
    if tlp != Tlp::Red && !recipients.is_empty() {
        return Err(RecordError::field(
            "recipients",
            "only a RED record names recipients",
        ));
    }
    if handling.contains(&HandlingCode::H3) && handling_note.trim().is_empty() {
        return Err(RecordError::field(
            "handling_note",
            "H3 needs the restriction text",
        ));
    }
    Ok(())
}

/// A repeated field within its limit; also applied to requests before they are
/// turned into a draft, so the error names the field the client sent.
pub fn check_count(field: &'static str, count: usize, max: usize) -> Result<(), RecordError> {
    match count > max {
        true => Err(RecordError::field(
            field,
            format!("{count} given; the limit is {max}"),
        )),
        false => Ok(()),
    }
}

/// A received value must already be in the canonical form its kind defines.
fn check_canonical(kind: Kind, value: &str) -> Result<(), RecordError> {
    indicator::check_received_value(kind, value)
        .map_err(|e| RecordError::field("value", e.to_string()))
}

/// A text field within its length limit and free of control characters.
pub(super) fn bounded_text(
    field: &'static str,
    text: String,
    max_chars: usize,
    lines: Lines,
) -> Result<String, RecordError> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(RecordError::field(
            field,
            format!("{chars} characters; the limit is {max_chars}"),
        ));
    }
    check_text(&text, lines).map_err(|reason| RecordError::field(field, reason))?;
    Ok(text)
}

pub fn tlp_from_wire(value: i32) -> Result<Tlp, RecordError> {
    match proto::Tlp::try_from(value) {
        Ok(proto::Tlp::Clear) => Ok(Tlp::Clear),
        Ok(proto::Tlp::Green) => Ok(Tlp::Green),
        Ok(proto::Tlp::Amber) => Ok(Tlp::Amber),
        Ok(proto::Tlp::AmberStrict) => Ok(Tlp::AmberStrict),
        Ok(proto::Tlp::Red) => Ok(Tlp::Red),
        _ => Err(RecordError::field("tlp", "missing or unknown TLP marking")),
    }
}

pub fn tlp_to_wire(tlp: Tlp) -> proto::Tlp {
    match tlp {
        Tlp::Clear => proto::Tlp::Clear,
        Tlp::Green => proto::Tlp::Green,
        Tlp::Amber => proto::Tlp::Amber,
        Tlp::AmberStrict => proto::Tlp::AmberStrict,
        Tlp::Red => proto::Tlp::Red,
    }
}

pub fn handling_from_wire(value: i32) -> Result<HandlingCode, RecordError> {
    match proto::Handling::try_from(value) {
        Ok(proto::Handling::H0) => Ok(HandlingCode::H0),
        Ok(proto::Handling::H1) => Ok(HandlingCode::H1),
        Ok(proto::Handling::H2) => Ok(HandlingCode::H2),
        Ok(proto::Handling::H3) => Ok(HandlingCode::H3),
        _ => Err(RecordError::field(
            "handling",
            format!("unknown handling code {value}"),
        )),
    }
}

pub fn handling_to_wire(code: HandlingCode) -> proto::Handling {
    match code {
        HandlingCode::H0 => proto::Handling::H0,
        HandlingCode::H1 => proto::Handling::H1,
        HandlingCode::H2 => proto::Handling::H2,
        HandlingCode::H3 => proto::Handling::H3,
    }
}

pub fn indicator_to_wire(i: &Indicator) -> proto::Indicator {
    proto::Indicator {
        kind: i32::from(i.kind.code()),
        value: i.value.clone(),
        labels: i.labels.iter().map(|l| l.as_str().to_string()).collect(),
        tlp: tlp_to_wire(i.tlp) as i32,
        handling: i
            .handling
            .iter()
            .map(|&h| handling_to_wire(h) as i32)
            .collect(),
        handling_note: i.handling_note.clone(),
        evaluation: Some(proto::Evaluation {
            source_reliability: i.evaluation.reliability_str().to_string(),
            information_accuracy: u32::from(i.evaluation.accuracy),
        }),
        valid_until_unix_ms: i.valid_until_ms,
        description: i.description.clone(),
        case_reference: i.case_reference.clone(),
        recipients: i.recipients.iter().map(|r| r.0.to_vec()).collect(),
        supersedes: i.supersedes.map(|s| s.0.to_vec()).unwrap_or_default(),
        outside_known_ranges: i.outside_known_ranges,
        source: i.source.clone(),
        first_seen_unix_ms: i.first_seen_ms.unwrap_or(0),
    }
}

fn payload_to_wire(p: &Payload) -> proto::Payload {
    let body = match &p.body {
        Body::Indicator(i) => proto::payload::Body::Indicator(indicator_to_wire(i)),
        Body::Revocation(r) => proto::payload::Body::Revocation(proto::Revocation {
            record_id: r.record_id.0.to_vec(),
            reason: r.reason.clone(),
        }),
        Body::Sighting(s) => proto::payload::Body::Sighting(proto::Sighting {
            record_id: s.record_id.0.to_vec(),
            note: s.note.clone(),
            r#type: sighting_type_to_wire(s.kind) as i32,
        }),
        Body::Bulletin(b) => {
            proto::payload::Body::Bulletin(super::bulletin_wire::bulletin_to_wire(b))
        }
    };
    proto::Payload {
        origin: p.origin.0.to_vec(),
        sequence: p.sequence,
        created_unix_ms: p.created_ms,
        body: Some(body),
    }
}

/// An unknown type is refused rather than read as "seen": a newer node's weakening
/// assertion must never count as a strengthening one here.
pub fn sighting_type_from_wire(value: i32) -> Result<SightingType, RecordError> {
    match proto::SightingType::try_from(value) {
        Ok(proto::SightingType::Seen) => Ok(SightingType::Seen),
        Ok(proto::SightingType::FalsePositive) => Ok(SightingType::FalsePositive),
        Ok(proto::SightingType::Expired) => Ok(SightingType::Expired),
        Err(_) => Err(RecordError::field(
            "type",
            format!("unknown sighting type {value}"),
        )),
    }
}

pub fn sighting_type_to_wire(kind: SightingType) -> proto::SightingType {
    match kind {
        SightingType::Seen => proto::SightingType::Seen,
        SightingType::FalsePositive => proto::SightingType::FalsePositive,
        SightingType::Expired => proto::SightingType::Expired,
    }
}

/// The kind named by a request's `kind` field; 0 (unset) is `None`.
pub fn kind_from_wire(value: i32) -> Result<Option<crate::indicator::Kind>, RecordError> {
    if value == 0 {
        return Ok(None);
    }
    u8::try_from(value)
        .ok()
        .and_then(crate::indicator::Kind::from_code)
        .map(Some)
        .ok_or_else(|| RecordError::field("kind", format!("unknown indicator kind {value}")))
}
