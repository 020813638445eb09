//! File formats for bulk import and export: CSV, MISP event JSON and STIX 2.1
//! bundles, as pure functions from bytes to domain types and back.
//!
//! Owns: reading files into [`Entry`] streams (one [`ImportItem`], [`RowError`]
//! or [`Skipped`] per row, attribute or object; a MISP `domain|ip` attribute
//! gives two items, a STIX pattern one entry per part; and [`Entry::Fatal`] when
//! the file itself cannot be read on), writing records out one at a time
//! ([`ExportRecord`]), guessing a file's format ([`sniff`]), and the report of
//! what an import does not carry ([`loss`]).
//!
//! Must never: normalise, sign, store or send anything (the node does that with
//! the items), hold a whole file in memory (readers and writers stream; the one
//! bound is documented per reader), guess what an unsupported type means (it is
//! [`Skipped`], reported), or drop a bad row silently (it is a [`RowError`] with
//! its location). It depends only on `record`, `indicator` and `untrusted`: no
//! tokio, no store, no network.

pub mod csv;
mod json_stream;
#[cfg(test)]
mod kinds_tests;
pub mod loss;
pub mod misp;
pub mod stix;
pub mod time;

#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod misp_types_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod stix_pattern_tests;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::indicator::Kind;
use crate::record::{Evaluation, HandlingCode, Label, RecordId, Tlp, VerifiedRecord};
use crate::untrusted::quote;

pub use loss::{Loss, LossKind, NotCarried};

/// The three file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Misp,
    Stix,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Misp => "misp",
            Format::Stix => "stix",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "misp" => Ok(Format::Misp),
            "stix" | "stix2" | "stix2.1" => Ok(Format::Stix),
            _ => Err(format!(
                "format: {} is not one of csv, misp, stix",
                quote(s)
            )),
        }
    }
}

/// Where in the file an entry came from, for error reports and rejects files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// CSV: the line of the file the row starts on (the header is row 1), with
    /// LF and CRLF line ends alike. It equals the spreadsheet's row number unless
    /// a quoted field above spans several lines.
    Line(u64),
    /// MISP: the event (its uuid, or its position), the attribute's position in
    /// the event (objects' attributes follow the event's own), and its uuid.
    Misp {
        event: String,
        attribute: usize,
        uuid: Option<String>,
    },
    /// STIX: the object's position in the bundle's `objects` and its id.
    Stix { index: usize, id: Option<String> },
    /// The file as a whole (wrong format, truncated, unreadable).
    File,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(row) => write!(f, "row {row}"),
            Location::Misp {
                event,
                attribute,
                uuid,
            } => {
                write!(f, "event {} attribute {attribute}", quote(event))?;
                match uuid {
                    Some(uuid) => write!(f, " ({})", quote(uuid)),
                    None => Ok(()),
                }
            }
            Location::Stix { index, id } => {
                write!(f, "object {index}")?;
                match id {
                    Some(id) => write!(f, " ({})", quote(id)),
                    None => Ok(()),
                }
            }
            Location::File => f.write_str("file"),
        }
    }
}

/// How long an imported indicator stays valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Until this time (ms since the Unix epoch).
    UntilMs(i64),
    /// This many days after the record is created.
    Days(u32),
}

/// One indicator read from a file, before normalisation (the node normalises,
/// validates, applies the import's defaults and signs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportItem {
    pub location: Location,
    pub kind: Kind,
    /// The value as written in the file: never normalised here.
    pub value: String,
    pub default_country: Option<String>,
    pub labels: Vec<Label>,
    /// `None`: the import's default marking.
    pub tlp: Option<Tlp>,
    pub handling: Vec<HandlingCode>,
    pub handling_note: String,
    /// `None`: the import's default (or the node's).
    pub evaluation: Option<Evaluation>,
    /// `None`: the node's default retention.
    pub validity: Option<Validity>,
    pub description: String,
    pub case_reference: String,
    /// Who first reported it (a STIX producer identity's name, a MISP `Orgc`);
    /// empty when the file does not say. Checked by `record::source_from_wire`.
    pub source: String,
    /// When it was first seen (ms since the epoch), when the file says.
    pub first_seen_ms: Option<i64>,
    /// The fields and tags of this row the item does not carry.
    pub not_carried: Vec<Loss>,
    /// What the reader changed or assumed to read the value (e.g. a URL
    /// without a scheme read as `http://…`), for the import's report.
    pub notes: Vec<String>,
}

impl ImportItem {
    /// An item with only kind and value set.
    pub fn new(location: Location, kind: Kind, value: impl Into<String>) -> Self {
        ImportItem {
            location,
            kind,
            value: value.into(),
            default_country: None,
            labels: Vec::new(),
            tlp: None,
            handling: Vec::new(),
            handling_note: String::new(),
            evaluation: None,
            validity: None,
            description: String::new(),
            case_reference: String::new(),
            source: String::new(),
            first_seen_ms: None,
            not_carried: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A first-seen time after `now_ms` is no sighting yet (a STIX `valid_from`
    /// may lie ahead): it is moved to [`Self::not_carried`], so the row is still
    /// imported and the loss is counted.
    pub fn first_seen_not_after(&mut self, now_ms: i64) {
        if let Some(ms) = self.first_seen_ms.filter(|&ms| ms > now_ms) {
            self.first_seen_ms = None;
            self.not_carried
                .push(Loss::new(LossKind::FirstSeen, &time::format_ms(ms)));
        }
    }

    /// Sets the producer's name when it is one line of at most
    /// [`crate::record::MAX_SOURCE_CHARS`] characters (the record's own check);
    /// otherwise the name is counted as not carried.
    pub(crate) fn set_source(&mut self, name: &str) {
        match crate::record::source_from_wire(name.trim().to_string()) {
            Ok(source) => self.source = source,
            Err(_) => self.not_carried.push(Loss::new(LossKind::Producer, name)),
        }
    }
}

/// A row, attribute or object that could not be read; the rest of the file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub location: Location,
    pub field: String,
    pub reason: String,
}

impl RowError {
    pub fn new(location: Location, field: impl Into<String>, reason: impl Into<String>) -> Self {
        RowError {
            location,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.field, self.reason)
    }
}

impl std::error::Error for RowError {}

/// Something the file holds that Liaison does not import (e.g. a sha256
/// attribute or a STIX malware object): reported, never guessed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub location: Location,
    pub what: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: skipped: {}", self.location, self.what)
    }
}

/// What a reader yields for each row, attribute or object.
// Nearly every entry is an item, so boxing it would add an allocation per row
// and save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Item(ImportItem),
    /// One row could not be read; the reader goes on with the next.
    Error(RowError),
    Skipped(Skipped),
    /// The file (or what remains of it) cannot be read: not the format, empty,
    /// an unknown CSV column, truncated, unreadable. The reader yields nothing
    /// after it; an import ends with an error and a non-zero exit.
    Fatal(RowError),
}

/// Settings a reader needs beyond the bytes.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Country for MISP `bank-account-nr` attributes that carry none.
    pub default_country: Option<String>,
}

/// A record to export, with what the node knows about it beyond the record.
#[derive(Debug, Clone, Copy)]
pub struct ExportRecord<'a> {
    pub record: &'a VerifiedRecord,
    /// The origin agency's name as enrolled here (or our own name).
    pub origin_name: &'a str,
    /// Whether a revocation of this record is held.
    pub revoked: bool,
    /// When this node received (or made) the record, ms since the epoch.
    pub received_ms: i64,
    /// When its origin withdrew it (revoked or superseded it; the withdrawing
    /// record's creation time): the STIX `modified` and the MISP attribute
    /// `timestamp` of its new version. `None`: unchanged since created, or
    /// not known to the exporter.
    pub changed_ms: Option<i64>,
}

impl ExportRecord<'_> {
    /// The time of the version exported: when it last changed, never before
    /// it was created.
    pub fn modified_ms(&self) -> i64 {
        let created = self.record.payload.created_ms;
        self.changed_ms
            .map_or(created, |changed| changed.max(created))
    }
}

/// Why a writer failed: the output, never the records (non-indicator records are
/// left out, not errors).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
    #[error("output: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("output: {0}")]
    Json(#[from] serde_json::Error),
}

/// Guesses the format from the first bytes of a file (a few KiB are plenty):
/// JSON with a STIX bundle's `"type": "bundle"` or `"spec_version"` is STIX, JSON
/// with an `"Event"` or MISP attribute keys is MISP, and text whose first line
/// names the `kind` and `value` columns is CSV. `None` when unsure.
pub fn sniff(first_bytes: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(first_bytes);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') || text.starts_with('[') {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains("\"type\":\"bundle\"") || compact.contains("\"spec_version\":\"2.1\"") {
            return Some(Format::Stix);
        }
        if compact.contains("\"Event\":") || compact.contains("\"Attribute\":") {
            return Some(Format::Misp);
        }
        return None;
    }
    let first_line = text.lines().next().unwrap_or("");
    let columns: Vec<String> = first_line
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    match columns.iter().any(|c| c == "kind") && columns.iter().any(|c| c == "value") {
        true => Some(Format::Csv),
        false => None,
    }
}

/// Deterministic UUIDv5 ids for exported objects: the same record always gets
/// the same id, so a re-export is stable and tools recognise updates.
pub fn stable_uuid(kind: &str, bytes: &[u8]) -> uuid::Uuid {
    /// Liaison's own namespace; fixed forever, or every exported id changes.
    const NAMESPACE: uuid::Uuid = uuid::uuid!("8a1b1b4e-62c9-5c8e-9a5e-3d8f4f2c7a11");
    let mut name = Vec::with_capacity(kind.len() + 1 + bytes.len());
    name.extend_from_slice(kind.as_bytes());
    name.push(b':');
    name.extend_from_slice(bytes);
    uuid::Uuid::new_v5(&NAMESPACE, &name)
}

/// The uuid of a record's exported indicator/attribute.
pub fn record_uuid(id: &RecordId) -> uuid::Uuid {
    stable_uuid("record", id.as_bytes())
}

/// Splits a `;` or `|` separated list, dropping empty parts.
pub(crate) fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}
