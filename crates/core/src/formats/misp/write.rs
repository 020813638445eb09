//! Writing one MISP event per export, one attribute per record, streamed.
//!
//! The event's head (uuid, info, date, distribution 0) is written first and
//! the attributes follow as they come. Each attribute carries its TLP as a
//! `tlp:` tag and a matching distribution, labels as `liaison:label="…"`, and
//! evaluation, handling codes, handling note, case reference, valid-until and
//! source (who first reported it) as `liaison:` machine tags, and its first-seen
//! time as MISP's `first_seen`; revoked records are written with `"deleted": true`.
//! Ids are UUIDv5 of the record id, so a re-export is stable.

use std::io::Write;

use serde_json::{json, Value};

use super::{distribution_for, type_for};
use crate::formats::time::{format_date, format_ms};
use crate::formats::{record_uuid, stable_uuid, ExportRecord, FormatError};
use crate::record::{Body, Indicator};

/// The tag a revoked (or superseded) record's attribute carries, with
/// `deleted: true` and `to_ids: false`.
pub const REVOKED_TAG: &str = "liaison:revoked";

/// The attribute value written for an indicator: its value, except a bank
/// account's number without its `CC:` country (which goes in a tag).
pub fn attribute_value(indicator: &Indicator) -> String {
    let (misp_type, _) = type_for(indicator.kind, &indicator.value);
    match indicator.value.split_once(':') {
        Some((_, number)) if misp_type == super::BANK_ACCOUNT_TYPE => number.to_string(),
        _ => indicator.value.clone(),
    }
}

/// Streams one MISP event: [`MispWriter::begin`], [`MispWriter::write`] per record, [`MispWriter::finish`].
pub struct MispWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> MispWriter<W> {
    /// Writes the event head. `event_name` makes the event uuid (e.g. the
    /// exporting node's id and the export's filters); `info` is the event title;
    /// `date_ms` the event date (e.g. the export time).
    pub fn begin(out: W, event_name: &str, info: &str, date_ms: i64) -> Result<Self, FormatError> {
        Self::begin_tagged(out, event_name, info, date_ms, &[])
    }

    /// [`MispWriter::begin`] with event-level tags (e.g. a bulletin's TLP and labels).
    pub fn begin_tagged(
        mut out: W,
        event_name: &str,
        info: &str,
        date_ms: i64,
        tags: &[String],
    ) -> Result<Self, FormatError> {
        let tags: Vec<Value> = tags.iter().map(|name| json!({ "name": name })).collect();
        let head = json!({
            "uuid": stable_uuid("misp-event", event_name.as_bytes()).to_string(),
            "info": info,
            "date": format_date(date_ms),
            "timestamp": (date_ms / 1000).to_string(),
            "distribution": "0",
            "threat_level_id": "4",
            "analysis": "2",
            "published": false,
            "Tag": tags,
        });
        let head = serde_json::to_string(&head)?;
        // Reopen the head object to append the attribute list to it.
        let open = head.strip_suffix('}').unwrap_or(&head);
        write!(out, "{{\"Event\":{open},\"Attribute\":[")?;
        Ok(MispWriter { out, first: true })
    }

    /// Writes one record as an attribute; `Ok(false)` for revocations and sightings.
    pub fn write(&mut self, export: &ExportRecord<'_>) -> Result<bool, FormatError> {
        let record = export.record;
        let Body::Indicator(indicator) = &record.payload.body else {
            return Ok(false);
        };
        let (misp_type, category) = type_for(indicator.kind, &indicator.value);
        let mut tags = vec![format!("tlp:{}", indicator.tlp.as_str())];
        let value = attribute_value(indicator);
        if misp_type == "text" {
            tags.push(format!("liaison:kind=\"{}\"", indicator.kind));
        }
        if let Some(coin) = crate::indicator::coin_of(&indicator.value)
            .filter(|_| indicator.kind == crate::indicator::Kind::Wallet)
        {
            tags.push(format!("liaison:coin=\"{}\"", coin.as_str()));
        }
        if misp_type == super::BANK_ACCOUNT_TYPE {
            if let Some((country, _)) = indicator.value.split_once(':') {
                tags.push(format!("liaison:country=\"{country}\""));
            }
        }
        tags.extend(
            indicator
                .labels
                .iter()
                .map(|l| format!("liaison:label=\"{l}\"")),
        );
        tags.push(format!("liaison:evaluation=\"{}\"", indicator.evaluation));
        tags.extend(
            indicator
                .handling
                .iter()
                .map(|h| format!("liaison:handling=\"{h}\"")),
        );
        if !indicator.handling_note.is_empty() {
            tags.push(format!(
                "liaison:handling-note=\"{}\"",
                indicator.handling_note
            ));
        }
        if !indicator.case_reference.is_empty() {
            tags.push(format!("liaison:case=\"{}\"", indicator.case_reference));
        }
        tags.push(format!(
            "liaison:valid-until=\"{}\"",
            format_ms(indicator.valid_until_ms)
        ));
        if !indicator.source.is_empty() {
            tags.push(format!("liaison:source=\"{}\"", indicator.source));
        }
        if export.revoked {
            // MISP soft-deletes a fetched attribute marked deleted; the tag
            // says why, for instances that keep deleted attributes visible.
            tags.push(REVOKED_TAG.to_string());
        }
        let tags: Vec<Value> = tags
            .into_iter()
            .map(|name| json!({ "name": name }))
            .collect();
        let mut attribute = json!({
            "uuid": record_uuid(&record.id).to_string(),
            "type": misp_type,
            "category": category,
            "value": value,
            "to_ids": !export.revoked,
            "distribution": distribution_for(indicator.tlp).to_string(),
            "comment": indicator.description,
            // MISP takes a fetched attribute only when its timestamp moved.
            "timestamp": (export.modified_ms() / 1000).to_string(),
            "deleted": export.revoked,
            "Tag": tags,
        });
        if let Some(first_seen) = indicator.first_seen_ms {
            attribute["first_seen"] = json!(format_ms(first_seen));
        }
        if !std::mem::take(&mut self.first) {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, &attribute)?;
        Ok(true)
    }

    /// Closes the event and hands back the output.
    pub fn finish(mut self) -> Result<W, FormatError> {
        self.out.write_all(b"\n]}}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
