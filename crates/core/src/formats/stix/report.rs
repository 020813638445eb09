//! Bulletins (issue 15) as STIX 2.1 `report` objects: the signed text, its TLP,
//! and `object_refs` naming the indicator objects of the members visible to the
//! exporting node (members withheld from it are never named). Deterministic ids
//! as for indicators; never reads the clock.

use std::io::Write;

use serde_json::{json, Value};

use super::marking_id;
use super::write::{liaison_extension_id, origin_identity, origin_identity_id, StixWriter};
use crate::formats::time::format_ms;
use crate::formats::{record_uuid, FormatError};
use crate::record::{RecordId, VerifiedRecord};

/// The report object of a bulletin record; None if the record is not a
/// bulletin or no member is visible (a report must refer to something).
pub fn report_object(record: &VerifiedRecord, members: &[RecordId]) -> Option<Value> {
    let bulletin = record.payload.bulletin()?;
    if members.is_empty() {
        return None;
    }
    let created = format_ms(record.payload.created_ms);
    let refs: Vec<String> = members
        .iter()
        .map(|id| format!("indicator--{}", record_uuid(id)))
        .collect();
    let mut description = bulletin.summary.clone();
    if !bulletin.modus_operandi.is_empty() {
        description = format!(
            "{description}\n\nModus operandi: {}",
            bulletin.modus_operandi
        );
    }
    if !bulletin.countries.is_empty() {
        description = format!(
            "{description}\n\nCountries affected: {}",
            bulletin.countries.join(", ")
        );
    }
    let mut object = json!({
        "type": "report",
        "spec_version": "2.1",
        "id": format!("report--{}", record_uuid(&record.id)),
        "created": created,
        "modified": created,
        "created_by_ref": origin_identity_id(&record.origin()),
        "name": bulletin.title,
        "report_types": ["threat-report"],
        "published": created,
        "object_refs": refs,
        "object_marking_refs": [marking_id(bulletin.tlp)],
        "extensions": { liaison_extension_id(): { "extension_type": "toplevel-property-extension" } },
        "x_liaison_record_id": record.id.to_hex(),
    });
    if !description.trim().is_empty() {
        object["description"] = json!(description.trim());
    }
    if !bulletin.labels.is_empty() {
        let labels: Vec<&str> = bulletin.labels.iter().map(|l| l.as_str()).collect();
        object["labels"] = json!(labels);
    }
    Some(object)
}

impl<W: Write> StixWriter<W> {
    /// Writes one bulletin as a report (and its origin's identity the first
    /// time); `Ok(false)` when it is left out (no visible member).
    pub fn write_report(
        &mut self,
        record: &VerifiedRecord,
        members: &[RecordId],
        origin_name: &str,
    ) -> Result<bool, FormatError> {
        let Some(object) = report_object(record, members) else {
            return Ok(false);
        };
        let origin = record.origin();
        if self.note_origin(origin) {
            self.push(&origin_identity(&origin, origin_name))?;
        }
        self.push(&object)?;
        Ok(true)
    }
}
