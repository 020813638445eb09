//! Reading a STIX 2.1 bundle: its `objects` array is streamed one object at a
//! time ([`crate::formats::json_stream`]), each decoded with serde into the few
//! properties Liaison reads. Memory is bounded by [`MAX_OBJECT_BYTES`].
//!
//! Indicators (one item per value their pattern names, [`super::pattern`];
//! the parts that name none reported as skipped) and the SCOs of the kinds in [`super::kind_of`] become items. Marking
//! definitions, extension definitions and identities are the bundle's context
//! and are read silently; every other object is reported as skipped. Never
//! guesses a kind from a value.
//!
//! Provenance: `x_liaison_source`, else the name of the `created_by_ref`
//! identity, becomes the item's source, and `valid_from` its first-seen time.
//! Identities and statement markings are remembered as the stream passes them
//! (at most [`MAX_CONTEXT`] of each), so a producer is named only when its
//! identity comes before the objects it made (as exporters write bundles);
//! otherwise, and for every other field Liaison has no place for, the item
//! lists it in `not_carried`.

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use serde::Deserialize;

use super::{kind_of, pattern, refine, tlp_of_markings, MAX_OBJECT_BYTES};
use crate::formats::json_stream::{decode, Element, ScanError, Scanner};
use crate::formats::time::parse_ms;
use crate::formats::{Entry, ImportItem, Location, Loss, LossKind, RowError, Skipped, Validity};
use crate::untrusted::quote;

/// The properties Liaison reads from any STIX object.
#[derive(Deserialize, Clone)]
struct Object {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    pattern: Option<String>,
    pattern_type: Option<String>,
    value: Option<String>,
    address: Option<String>,
    iban: Option<String>,
    account_number: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    description: Option<String>,
    valid_until: Option<String>,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    object_marking_refs: Vec<String>,
    x_liaison_evaluation: Option<String>,
    #[serde(default)]
    x_liaison_handling: Vec<String>,
    x_liaison_handling_note: Option<String>,
    x_liaison_case: Option<String>,
    x_liaison_source: Option<String>,
    created_by_ref: Option<String>,
    valid_from: Option<String>,
    #[serde(default)]
    indicator_types: Vec<String>,
    /// Identities: the producer's name.
    name: Option<String>,
    /// Marking definitions: `statement` for a statement marking.
    definition_type: Option<String>,
    definition: Option<serde_json::Value>,
}

/// Identities and statement markings remembered per bundle, each at most.
const MAX_CONTEXT: usize = 10_000;

/// The one indicator type every Liaison indicator is (and its export writes).
const CARRIED_INDICATOR_TYPE: &str = "malicious-activity";

/// Objects that only give the rest of the bundle its meaning.
const CONTEXT_TYPES: [&str; 3] = ["marking-definition", "extension-definition", "identity"];

enum State {
    Start,
    TopLevel { first: bool },
    Objects { first: bool },
    Done,
}

/// Reads a bundle's objects as [`Entry`]s.
pub struct StixReader<R: Read> {
    scanner: Scanner<R>,
    state: State,
    index: usize,
    seen_objects: bool,
    ignored_labels: u64,
    /// Identity id → name, for `created_by_ref`.
    identities: HashMap<String, String>,
    /// Statement marking id → its statement.
    statements: HashMap<String, String>,
    /// Further entries of the object last read (a pattern with several values).
    pending: VecDeque<Entry>,
}

/// Starts reading a STIX 2.1 bundle from `input`.
pub fn read<R: Read>(input: R) -> StixReader<R> {
    StixReader {
        scanner: Scanner::new(input),
        state: State::Start,
        index: 0,
        seen_objects: false,
        ignored_labels: 0,
        identities: HashMap::new(),
        statements: HashMap::new(),
        pending: VecDeque::new(),
    }
}

impl<R: Read> StixReader<R> {
    /// Labels that name no Liaison label (left out of the items).
    pub fn ignored_labels(&self) -> u64 {
        self.ignored_labels
    }

    fn step(&mut self) -> Result<Option<Entry>, ScanError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    self.scanner.expect(b'{').map_err(|e| {
                        ScanError(format!("not a STIX bundle (a JSON object): {}", e.0))
                    })?;
                    self.state = State::TopLevel { first: true };
                }
                State::TopLevel { ref mut first } => match self.scanner.next_key(first)? {
                    None => {
                        self.scanner.expect_end()?;
                        self.state = State::Done;
                        if !self.seen_objects {
                            return Err(ScanError(
                                "not a STIX bundle: no \"objects\" array".into(),
                            ));
                        }
                    }
                    Some(key) if key == "objects" => {
                        self.scanner.expect(b'[')?;
                        self.seen_objects = true;
                        self.state = State::Objects { first: true };
                    }
                    Some(key) if key == "type" => match self.scanner.small_string()? {
                        Some(kind) if kind == "bundle" => {}
                        other => {
                            return Err(ScanError(format!(
                                "not a STIX bundle: type is {}",
                                quote(other.as_deref().unwrap_or("not a string"))
                            )))
                        }
                    },
                    Some(_) => {
                        self.scanner.value(None, 0)?;
                    }
                },
                State::Objects { ref mut first } => {
                    match self.scanner.next_element(first, MAX_OBJECT_BYTES)? {
                        None => self.state = State::TopLevel { first: false },
                        Some(element) => {
                            self.index += 1;
                            if let Some(entry) = self.entry(self.index - 1, element) {
                                return Ok(Some(entry));
                            }
                        }
                    }
                }
            }
        }
    }

    fn entry(&mut self, index: usize, element: Element) -> Option<Entry> {
        let bytes = match element {
            Element::Bytes(bytes) => bytes,
            Element::TooLarge(size) => {
                let location = Location::Stix { index, id: None };
                let reason = format!("is {size} bytes; the limit is {MAX_OBJECT_BYTES}");
                return Some(Entry::Error(RowError::new(location, "object", reason)));
            }
        };
        let object: Object = match decode(&bytes, "object") {
            Ok(object) => object,
            Err((field, reason)) => {
                let location = Location::Stix {
                    index,
                    id: id_of(&bytes),
                };
                return Some(Entry::Error(RowError::new(location, field, reason)));
            }
        };
        let location = Location::Stix {
            index,
            id: object.id.clone(),
        };
        if CONTEXT_TYPES.contains(&object.kind.as_str()) {
            self.remember(object);
            return None;
        }
        Some(match self.object_entry(location.clone(), object) {
            Ok(entry) => entry,
            Err((field, reason)) => Entry::Error(RowError::new(location, field, reason)),
        })
    }

    fn object_entry(
        &mut self,
        location: Location,
        object: Object,
    ) -> Result<Entry, (&'static str, String)> {
        let skipped = |what: String| {
            Entry::Skipped(Skipped {
                location: location.clone(),
                what,
            })
        };
        let (kind, value) = match object.kind.as_str() {
            "indicator" => {
                if object.revoked {
                    return Ok(skipped("a revoked indicator".into()));
                }
                if object.pattern_type.as_deref().unwrap_or("stix") != "stix" {
                    return Ok(skipped(format!(
                        "an indicator with pattern_type {}",
                        quote(object.pattern_type.as_deref().unwrap_or(""))
                    )));
                }
                let pattern = object
                    .pattern
                    .as_deref()
                    .ok_or(("pattern", "is missing".to_string()))?;
                return self.pattern_entries(location, pattern, &object);
            }
            sco => match sco_value(sco, &object) {
                Some(found) => found,
                None => return Ok(skipped(format!("a {} object", quote(sco)))),
            },
        };
        let mut item = ImportItem::new(location, kind, value);
        self.fill_provenance(&mut item, &object);
        self.fill_markings(&mut item, object)?;
        Ok(Entry::Item(item))
    }

    /// Keeps an identity's name or a statement marking's text for the objects
    /// that refer to it.
    fn remember(&mut self, object: Object) {
        let Some(id) = object.id else { return };
        match object.kind.as_str() {
            "identity" if self.identities.len() < MAX_CONTEXT => {
                if let Some(name) = object.name {
                    self.identities.insert(id, name);
                }
            }
            "marking-definition" if self.statements.len() < MAX_CONTEXT => {
                let statement = object
                    .definition
                    .as_ref()
                    .and_then(|d| d.get("statement"))
                    .and_then(|s| s.as_str());
                if let (Some("statement"), Some(statement)) =
                    (object.definition_type.as_deref(), statement)
                {
                    self.statements.insert(id, statement.to_string());
                }
            }
            _ => {}
        }
    }

    /// Producer, first-seen time, indicator types and markings that are not TLP.
    fn fill_provenance(&mut self, item: &mut ImportItem, object: &Object) {
        match (&object.x_liaison_source, &object.created_by_ref) {
            (Some(source), _) => item.set_source(source),
            (None, Some(producer)) => match self.identities.get(producer) {
                Some(name) => item.set_source(&name.clone()),
                None => item
                    .not_carried
                    .push(Loss::new(LossKind::Producer, producer)),
            },
            (None, None) => {}
        }
        if let Some(valid_from) = &object.valid_from {
            match parse_ms(valid_from) {
                Ok(ms) if ms > 0 => item.first_seen_ms = Some(ms),
                _ => item
                    .not_carried
                    .push(Loss::new(LossKind::FirstSeen, valid_from)),
            }
        }
        for kind in &object.indicator_types {
            match kind.parse() {
                Ok(label) if !item.labels.contains(&label) => item.labels.push(label),
                Ok(_) => {}
                Err(_) if kind == CARRIED_INDICATOR_TYPE => {}
                Err(_) => item
                    .not_carried
                    .push(Loss::new(LossKind::IndicatorType, kind)),
            }
        }
        for marking in &object.object_marking_refs {
            if tlp_of_markings(std::slice::from_ref(marking)).is_some() {
                continue;
            }
            item.not_carried.push(match self.statements.get(marking) {
                Some(statement) => Loss::new(LossKind::StatementMarking, statement),
                None => Loss::new(LossKind::OtherMarking, marking),
            });
        }
    }

    /// An indicator's entries: an item per value its pattern names (all
    /// with the indicator's markings), a skip per part that names none. The
    /// first is returned, the rest queued.
    fn pattern_entries(
        &mut self,
        location: Location,
        pattern: &str,
        object: &Object,
    ) -> Result<Entry, (&'static str, String)> {
        let parsed = pattern::parse(pattern)
            .map_err(|reason| ("pattern", format!("is not a STIX pattern: {reason}")))?;
        let mut entries = Vec::new();
        for found in pattern::values(&parsed) {
            entries.push(match found {
                Ok((kind, value)) => {
                    let mut item = ImportItem::new(location.clone(), kind, value);
                    self.fill_provenance(&mut item, object);
                    self.fill_markings(&mut item, object.clone())?;
                    Entry::Item(item)
                }
                Err(part) => Entry::Skipped(Skipped {
                    location: location.clone(),
                    what: format!("pattern {} ({part} is not supported)", quote(pattern)),
                }),
            });
        }
        let mut entries = entries.into_iter();
        let first = entries
            .next()
            .ok_or(("pattern", "names nothing".to_string()))?;
        self.pending.extend(entries);
        Ok(first)
    }

    fn fill_markings(
        &mut self,
        item: &mut ImportItem,
        object: Object,
    ) -> Result<(), (&'static str, String)> {
        let field = |e: crate::record::RecordError| match e {
            crate::record::RecordError::InvalidField { field, reason } => (field, reason),
            other => ("object", other.to_string()),
        };
        for text in &object.labels {
            match text.parse() {
                Ok(label) if !item.labels.contains(&label) => item.labels.push(label),
                Ok(_) => {}
                Err(_) => {
                    self.ignored_labels += 1;
                    item.not_carried.push(Loss::new(LossKind::Label, text));
                }
            }
        }
        item.tlp = tlp_of_markings(&object.object_marking_refs);
        item.evaluation = object
            .x_liaison_evaluation
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(field)?;
        item.handling = object
            .x_liaison_handling
            .iter()
            .map(|h| h.parse())
            .collect::<Result<_, _>>()
            .map_err(field)?;
        item.handling_note = object.x_liaison_handling_note.unwrap_or_default();
        item.case_reference = object.x_liaison_case.unwrap_or_default();
        item.description = object.description.unwrap_or_default();
        item.validity = object
            .valid_until
            .as_deref()
            .map(parse_ms)
            .transpose()
            .map_err(|reason| ("valid_until", reason))?
            .map(Validity::UntilMs);
        Ok(())
    }
}

impl<R: Read> Iterator for StixReader<R> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if let Some(entry) = self.pending.pop_front() {
            return Some(entry);
        }
        match self.step() {
            Ok(entry) => entry,
            Err(ScanError(reason)) => {
                let location = match self.state {
                    State::Objects { .. } => Location::Stix {
                        index: self.index,
                        id: None,
                    },
                    _ => Location::File,
                };
                self.state = State::Done;
                Some(Entry::Fatal(RowError::new(location, "json", reason)))
            }
        }
    }
}

/// The id of an object that did not decode, when it has a string id.
fn id_of(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    value.get("id")?.as_str().map(str::to_string)
}

/// The value of an SCO of a kind Liaison knows.
fn sco_value(sco: &str, object: &Object) -> Option<(crate::indicator::Kind, String)> {
    let candidates = [
        ("value", &object.value),
        ("address", &object.address),
        ("iban", &object.iban),
        ("account_number", &object.account_number),
    ];
    candidates.into_iter().find_map(|(property, value)| {
        let kind = kind_of(sco, property)?;
        Some(refine(kind, property, value.clone()?))
    })
}
