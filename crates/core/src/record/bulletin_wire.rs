//! Bulletin bodies between protobuf and the domain (issue 15). Decoding checks
//! every field (bounds from [`super::bulletin_bounds`], ISO 3166 countries,
//! 32-byte commitments, the same marking rules as an indicator).

use super::bulletin_bounds as limits;
use super::model::{Bulletin, Label};
use super::wire::{
    bounded_text, check_count, handling_from_wire, handling_to_wire, tlp_from_wire, tlp_to_wire,
    MAX_HANDLING_CODES, MAX_LABELS, MAX_RECIPIENTS, MAX_SHORT_TEXT_CHARS,
};
use super::{NodeId, RecordError};
use crate::proto;
use crate::untrusted::{quote, Lines};

pub(super) fn bulletin_from_wire(wire: proto::Bulletin) -> Result<Bulletin, RecordError> {
    let title = bounded_text("title", wire.title, limits::MAX_TITLE_CHARS, Lines::Single)?;
    if title.trim().is_empty() {
        return Err(RecordError::field("title", "must not be empty"));
    }
    check_count("labels", wire.labels.len(), MAX_LABELS)?;
    let labels = wire
        .labels
        .iter()
        .map(|l| l.parse())
        .collect::<Result<Vec<Label>, _>>()?;
    check_count("countries", wire.countries.len(), limits::MAX_COUNTRIES)?;
    let countries = wire
        .countries
        .iter()
        .map(|c| match check_country(c)? {
            upper if upper == *c => Ok(upper),
            _ => Err(RecordError::field(
                "countries",
                format!("{} is not upper case", quote(c)),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_count("members", wire.members.len(), limits::MAX_MEMBERS)?;
    let members = wire
        .members
        .iter()
        .map(|m| {
            <[u8; 32]>::try_from(m.as_slice()).map_err(|_| {
                RecordError::field("members", format!("{} bytes; a commitment is 32", m.len()))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if members.is_empty() {
        return Err(RecordError::field(
            "members",
            "a bulletin groups at least one indicator",
        ));
    }
    check_count("handling", wire.handling.len(), MAX_HANDLING_CODES)?;
    let handling = wire
        .handling
        .iter()
        .map(|&h| handling_from_wire(h))
        .collect::<Result<Vec<_>, _>>()?;
    check_count("recipients", wire.recipients.len(), MAX_RECIPIENTS)?;
    let recipients = wire
        .recipients
        .iter()
        .map(|r| NodeId::from_slice(r))
        .collect::<Result<Vec<_>, _>>()?;
    let bulletin = Bulletin {
        title,
        summary: bounded_text(
            "summary",
            wire.summary,
            limits::MAX_SUMMARY_CHARS,
            Lines::Multi,
        )?,
        modus_operandi: bounded_text(
            "modus_operandi",
            wire.modus_operandi,
            limits::MAX_MODUS_OPERANDI_CHARS,
            Lines::Multi,
        )?,
        labels,
        countries,
        members,
        tlp: tlp_from_wire(wire.tlp)?,
        handling,
        handling_note: bounded_text(
            "handling_note",
            wire.handling_note,
            MAX_SHORT_TEXT_CHARS,
            Lines::Single,
        )?,
        recipients,
        valid_until_ms: wire.valid_until_unix_ms,
    };
    super::wire::check_markings(
        bulletin.tlp,
        &bulletin.recipients,
        &bulletin.handling,
        &bulletin.handling_note,
    )?;
    Ok(bulletin)
}

/// An ISO 3166 alpha-2 code, upper case, as the phone-number tables know them.
pub fn check_country(code: &str) -> Result<String, RecordError> {
    let upper = code.trim().to_ascii_uppercase();
    let known = upper.len() == 2 && upper.parse::<phonenumber::country::Id>().is_ok();
    match known {
        true => Ok(upper),
        false => Err(RecordError::field(
            "countries",
            format!(
                "{} is not an ISO 3166 alpha-2 code (e.g. KE, MM, TH)",
                quote(code)
            ),
        )),
    }
}

pub(super) fn bulletin_to_wire(b: &Bulletin) -> proto::Bulletin {
    proto::Bulletin {
        title: b.title.clone(),
        summary: b.summary.clone(),
        modus_operandi: b.modus_operandi.clone(),
        labels: b.labels.iter().map(|l| l.as_str().to_string()).collect(),
        countries: b.countries.clone(),
        members: b.members.iter().map(|m| m.to_vec()).collect(),
        tlp: tlp_to_wire(b.tlp) as i32,
        handling: b
            .handling
            .iter()
            .map(|&h| handling_to_wire(h) as i32)
            .collect(),
        handling_note: b.handling_note.clone(),
        recipients: b.recipients.iter().map(|r| r.0.to_vec()).collect(),
        valid_until_unix_ms: b.valid_until_ms,
    }
}

/// Checks a bulletin this node is about to sign exactly as a receiver will.
pub fn check_bulletin(b: &Bulletin) -> Result<(), RecordError> {
    bulletin_from_wire(bulletin_to_wire(b)).map(|_| ())
}
