//! Writing a STIX 2.1 bundle, one record at a time.
//!
//! Every id is deterministic (UUIDv5 of the record id, the origin's node id, or
//! a fixed name), and every timestamp comes from the record, so exporting the
//! same records again gives the same bytes. Liaison's evaluation, handling codes,
//! handling note, case reference, record id and source (who first reported the
//! indicator) travel as top-level `x_liaison_*` properties declared by the
//! Liaison extension definition included in the bundle. `valid_from` is the
//! indicator's first-seen time when it has one; `created_by_ref` is always the
//! origin agency, the signer. `indicator_types` is `malicious-activity`.
//! Never writes a record twice, never reads the clock.

use std::collections::HashSet;
use std::io::Write;

use serde_json::{json, Map, Value};

use super::{
    marking_id, object_property, schema_reference, sco_extension_id, SCO_EXTENSIONS,
    TLP2_EXTENSION, TLP_MARKINGS,
};
use crate::formats::time::format_ms;
use crate::formats::{record_uuid, stable_uuid, ExportRecord, FormatError};
use crate::record::{Body, Indicator, NodeId};

/// What every Liaison indicator is, in STIX's indicator-type vocabulary.
const INDICATOR_TYPE: &str = "malicious-activity";

/// Timestamp of the fixed objects (identity of the software, extension definition).
const FIXED_CREATED: &str = "2026-01-01T00:00:00.000Z";

/// The Liaison extension definition that declares the `x_liaison_*` properties.
pub fn liaison_extension_id() -> String {
    format!(
        "extension-definition--{}",
        stable_uuid("extension", b"liaison-properties")
    )
}

fn liaison_identity_id() -> String {
    format!("identity--{}", stable_uuid("identity", b"liaison-software"))
}

/// The identity an origin agency is exported as.
pub fn origin_identity_id(origin: &NodeId) -> String {
    format!("identity--{}", stable_uuid("origin", origin.as_bytes()))
}

/// Streams a bundle: [`StixWriter::begin`], [`StixWriter::write`] per record, [`StixWriter::finish`].
pub struct StixWriter<W: Write> {
    out: W,
    /// Origins whose identity object is already written (a handful per export).
    origins: HashSet<NodeId>,
}

impl<W: Write> StixWriter<W> {
    /// Writes the bundle head and the fixed objects. `bundle_name` makes the
    /// bundle id (e.g. the exporting node's id and the export's filters).
    pub fn begin(mut out: W, bundle_name: &str) -> Result<Self, FormatError> {
        let id = format!("bundle--{}", stable_uuid("bundle", bundle_name.as_bytes()));
        writeln!(out, "{{\"type\":\"bundle\",\"id\":\"{id}\",\"objects\":[")?;
        let mut writer = StixWriter {
            out,
            origins: HashSet::new(),
        };
        let mut first = true;
        for object in fixed_objects() {
            writer.object(&object, std::mem::take(&mut first))?;
        }
        Ok(writer)
    }

    fn object(&mut self, object: &Value, first: bool) -> Result<(), FormatError> {
        if !first {
            self.out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut self.out, object)?;
        Ok(())
    }

    /// Writes one record's indicator (and its origin's identity the first time);
    /// `Ok(false)` when it is left out: revocations, sightings, and kinds STIX has
    /// no object for.
    pub fn write(&mut self, export: &ExportRecord<'_>) -> Result<bool, FormatError> {
        let Some(object) = indicator_object(export) else {
            return Ok(false);
        };
        let origin = export.record.origin();
        if self.origins.insert(origin) {
            self.object(&origin_identity(&origin, export.origin_name), false)?;
        }
        self.object(&object, false)?;
        Ok(true)
    }

    /// Whether `origin`'s identity still has to be written (and notes it as written).
    pub(super) fn note_origin(&mut self, origin: NodeId) -> bool {
        self.origins.insert(origin)
    }

    /// Writes one more object after the fixed ones.
    pub(super) fn push(&mut self, object: &Value) -> Result<(), FormatError> {
        self.object(object, false)
    }

    /// Closes the bundle and hands back the output.
    pub fn finish(mut self) -> Result<W, FormatError> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The identity object an origin agency is exported as.
pub fn origin_identity(origin: &NodeId, name: &str) -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": origin_identity_id(origin),
        "created": FIXED_CREATED,
        "modified": FIXED_CREATED,
        "name": name,
        "identity_class": "organization",
        "x_liaison_node_id": origin.to_hex(),
        "extensions": { liaison_extension_id(): { "extension_type": "toplevel-property-extension" } },
    })
}

/// One record's STIX indicator object; `None` for revocations, sightings, and
/// kinds STIX has no object for. It refers to its origin's identity
/// ([`origin_identity`]) and to the [`fixed_objects`].
pub fn indicator_object(export: &ExportRecord<'_>) -> Option<Value> {
    let record = export.record;
    let Body::Indicator(indicator) = &record.payload.body else {
        return None;
    };
    let pattern = pattern(indicator)?;
    let created = format_ms(record.payload.created_ms);
    let mut object = Map::new();
    let mut put = |key: &str, value: Value| {
        object.insert(key.to_string(), value);
    };
    put("type", json!("indicator"));
    put("spec_version", json!("2.1"));
    put(
        "id",
        json!(format!("indicator--{}", record_uuid(&record.id))),
    );
    put("created", json!(created));
    put("modified", json!(format_ms(export.modified_ms())));
    put(
        "created_by_ref",
        json!(origin_identity_id(&record.origin())),
    );
    put(
        "name",
        json!(format!("{} {}", indicator.kind, indicator.value)),
    );
    put("pattern", json!(pattern));
    put("pattern_type", json!("stix"));
    put("pattern_version", json!("2.1"));
    put("indicator_types", json!([INDICATOR_TYPE]));
    let valid_from = indicator
        .first_seen_ms
        .filter(|&ms| ms <= record.payload.created_ms)
        .map_or_else(|| created.clone(), format_ms);
    put("valid_from", json!(valid_from));
    if indicator.valid_until_ms > record.payload.created_ms {
        put("valid_until", json!(format_ms(indicator.valid_until_ms)));
    }
    if !indicator.description.is_empty() {
        put("description", json!(indicator.description));
    }
    if !indicator.labels.is_empty() {
        let labels: Vec<&str> = indicator.labels.iter().map(|l| l.as_str()).collect();
        put("labels", json!(labels));
    }
    if export.revoked {
        put("revoked", json!(true));
    }
    put("object_marking_refs", json!([marking_id(indicator.tlp)]));
    put(
        "extensions",
        json!({ liaison_extension_id(): { "extension_type": "toplevel-property-extension" } }),
    );
    put("x_liaison_record_id", json!(record.id.to_hex()));
    put(
        "x_liaison_evaluation",
        json!(indicator.evaluation.to_string()),
    );
    if !indicator.handling.is_empty() {
        let codes: Vec<String> = indicator.handling.iter().map(|h| h.to_string()).collect();
        put("x_liaison_handling", json!(codes));
    }
    if !indicator.handling_note.is_empty() {
        put("x_liaison_handling_note", json!(indicator.handling_note));
    }
    if !indicator.case_reference.is_empty() {
        put("x_liaison_case", json!(indicator.case_reference));
    }
    if indicator.kind == crate::indicator::Kind::Wallet {
        if let Some(coin) = crate::indicator::value_detail(indicator.kind, &indicator.value) {
            put("x_liaison_coin", json!(coin));
        }
    }
    if !indicator.source.is_empty() {
        put("x_liaison_source", json!(indicator.source));
    }
    Some(Value::Object(object))
}

/// `[type:property = 'value']`, with `\` and `'` escaped as STIX patterning requires.
pub fn pattern(indicator: &Indicator) -> Option<String> {
    let (object, property) = object_property(indicator.kind, &indicator.value)?;
    let escaped = indicator.value.replace('\\', "\\\\").replace('\'', "\\'");
    Some(format!("[{object}:{property} = '{escaped}']"))
}

/// The objects every bundle starts with: the five TLP 2.0 markings, and
/// Liaison's identity and extension definitions (its SCOs, its properties),
/// all by Liaison, marked CLEAR, with the schema files they name.
pub fn fixed_objects() -> Vec<Value> {
    let mut objects: Vec<Value> = TLP_MARKINGS
        .iter()
        .map(|(tlp, id)| {
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": id,
                "created": "2022-10-01T00:00:00.000Z",
                "name": format!("TLP:{tlp}"),
                "extensions": { TLP2_EXTENSION: { "extension_type": "property-extension", "tlp_2_0": tlp.as_str() } },
            })
        })
        .collect();
    for (sco, name, properties) in SCO_EXTENSIONS {
        objects.push(json!({
            "type": "extension-definition",
            "spec_version": "2.1",
            "id": sco_extension_id(sco),
            "created_by_ref": liaison_identity_id(),
            "created": FIXED_CREATED,
            "modified": FIXED_CREATED,
            "name": name,
            "description": format!("A new SCO, {sco}, for the indicator values STIX 2.1 has no object for; its properties: {}.", properties.join(", ")),
            "schema": schema_reference(sco),
            "version": "1.0",
            "extension_types": ["new-sco"],
            "object_marking_refs": [TLP_MARKINGS[0].1],
        }));
    }
    objects.push(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": liaison_identity_id(),
        "created": FIXED_CREATED,
        "modified": FIXED_CREATED,
        "name": "Liaison",
        "description": "Federated indicator-sharing software for law-enforcement agencies.",
        "identity_class": "system",
    }));
    objects.push(json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": liaison_extension_id(),
        "created_by_ref": liaison_identity_id(),
        "created": FIXED_CREATED,
        "modified": FIXED_CREATED,
        "name": "Liaison markings",
        "description": "Liaison's markings that STIX has no property for: x_liaison_record_id, the signed record's id (64 hex digits); x_liaison_evaluation, the 4x4 evaluation (source reliability A/B/C/X, information accuracy 1-4, e.g. B2); x_liaison_handling, SIENA handling codes H0-H3; x_liaison_handling_note, the H3 restriction text; x_liaison_case, the case reference; x_liaison_coin, a wallet's coin (tron, ethereum, bitcoin, litecoin, bitcoin-cash, monero, dogecoin, solana, dash); x_liaison_source, who first reported the indicator (the producer the origin agency imported it from); x_liaison_node_id (on an identity), the agency's node id.",
        "schema": schema_reference("liaison-properties"),
        "version": "1.0",
        "extension_types": ["toplevel-property-extension"],
        "extension_properties": ["x_liaison_record_id", "x_liaison_evaluation", "x_liaison_handling", "x_liaison_handling_note", "x_liaison_case", "x_liaison_coin", "x_liaison_source", "x_liaison_node_id"],
        "object_marking_refs": [TLP_MARKINGS[0].1],
    }));
    objects
}
