//! Reading MISP event JSON: one event (`{"Event": {…}}`), a list of them, a
//! REST search answer (`{"response": [...]}`), or a feed directory
//! ([`feed_files`] lists its event files; each is read with [`read`]).
//!
//! A list is streamed one event at a time; one event is loaded whole (MISP puts
//! event tags after or before the attributes, and every attribute needs them),
//! so memory is bounded by [`MAX_EVENT_BYTES`] per event. Its attributes stay
//! raw JSON until pulled, then are decoded one by one, so a malformed attribute
//! costs only itself.
//!
//! Provenance: a `liaison:source` tag, else the event's `Orgc` name, becomes the
//! item's source; the attribute's `first_seen`, else its `timestamp`, its
//! first-seen time. A category in [`super::CATEGORY_LABELS`] becomes a label.
//! Galaxy, taxonomy and other tags, and categories that name no label, are
//! listed in the item's `not_carried`. A file (or a single event) that is not
//! MISP event JSON is an [`Entry::Fatal`].

use std::collections::VecDeque;
use std::io::Read;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::provenance::{provenance, tag_loss, Found};
use super::{kind_for, machine_tag, refine, tlp_for_distribution, tlp_for_tag, BANK_ACCOUNT_TYPE};
use crate::formats::json_stream::{decode, Element, ScanError, Scanner};
use crate::formats::time::parse_ms;
use crate::formats::{Entry, ImportItem, Location, Loss, ReadOptions, RowError, Skipped, Validity};
use crate::indicator::Kind;
use crate::record::RecordError;
use crate::untrusted::quote;

/// Largest single event read (bytes of JSON); larger events are reported. The
/// event is held as raw JSON per attribute (about its own size again) and each
/// attribute decoded when pulled: measured ~2.5x the event's size at peak.
pub const MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

#[derive(Deserialize, Default)]
struct TopLevel {
    #[serde(rename = "Event")]
    event: Option<Event>,
    response: Option<Vec<TopLevel>>,
}

#[derive(Deserialize, Default)]
struct Event {
    uuid: Option<String>,
    #[serde(default)]
    info: String,
    distribution: Option<Value>,
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
    /// Kept as raw JSON and decoded one at a time as the reader is pulled.
    #[serde(rename = "Attribute", default)]
    attributes: Vec<Box<RawValue>>,
    #[serde(rename = "Object", default)]
    objects: Vec<MispObject>,
    #[serde(rename = "Orgc")]
    orgc: Option<Org>,
}

#[derive(Deserialize)]
struct Org {
    name: Option<String>,
}

#[derive(Deserialize)]
struct MispObject {
    #[serde(rename = "Attribute", default)]
    attributes: Vec<Box<RawValue>>,
}

/// The event whose attributes are being read.
struct Current {
    event: Event,
    name: String,
    attributes: std::iter::Enumerate<std::vec::IntoIter<Box<RawValue>>>,
}

#[derive(Deserialize)]
struct UuidOnly {
    uuid: Option<String>,
}

#[derive(Deserialize)]
struct Attribute {
    #[serde(rename = "type")]
    kind: String,
    value: String,
    #[serde(default)]
    comment: String,
    distribution: Option<Value>,
    #[serde(default)]
    deleted: Value,
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
    #[serde(default)]
    category: String,
    /// ISO 8601 (MISP 2.4.120 and later); null when not set.
    first_seen: Option<String>,
    /// Unix seconds, as a string or a number.
    timestamp: Option<Value>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

enum State {
    Start,
    List { first: bool },
    Done,
}

/// Reads MISP events as [`Entry`]s.
pub struct MispReader<R: Read> {
    scanner: Scanner<R>,
    state: State,
    options: ReadOptions,
    events: usize,
    pending: VecDeque<Entry>,
    queued: VecDeque<Event>,
    current: Option<Current>,
    ignored_tags: u64,
}

/// Starts reading MISP event JSON from `input`.
pub fn read<R: Read>(input: R, options: ReadOptions) -> MispReader<R> {
    MispReader {
        scanner: Scanner::new(input),
        state: State::Start,
        options,
        events: 0,
        pending: VecDeque::new(),
        queued: VecDeque::new(),
        current: None,
        ignored_tags: 0,
    }
}

impl<R: Read> Iterator for MispReader<R> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            if let Some(entry) = self.pending.pop_front() {
                return Some(entry);
            }
            if let Some(entry) = self.next_attribute() {
                return Some(entry);
            }
            if let Some(event) = self.queued.pop_front() {
                self.start(event);
                continue;
            }
            match self.step() {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(ScanError(reason)) => {
                    self.state = State::Done;
                    return Some(Entry::Fatal(RowError::new(Location::File, "json", reason)));
                }
            }
        }
    }
}

impl<R: Read> MispReader<R> {
    /// Tags that are neither `tlp:`, `liaison:` nor a Liaison label (ignored).
    pub fn ignored_tags(&self) -> u64 {
        self.ignored_tags
    }

    /// Reads the next event(s) into `queued` (or an error into `pending`);
    /// `false` at the end.
    fn step(&mut self) -> Result<bool, ScanError> {
        match self.state {
            State::Done => Ok(false),
            State::Start => match self.scanner.skip_ws()? {
                Some(b'[') => {
                    self.scanner.expect(b'[')?;
                    self.state = State::List { first: true };
                    Ok(true)
                }
                Some(b'{') => {
                    let mut bytes = Vec::new();
                    let size = self.scanner.value(Some(&mut bytes), MAX_EVENT_BYTES)?;
                    self.scanner.expect_end()?;
                    self.state = State::Done;
                    if size > MAX_EVENT_BYTES {
                        return Err(ScanError(format!(
                            "the event is {size} bytes; the limit is {MAX_EVENT_BYTES}"
                        )));
                    }
                    // The whole file is this one object: if it is no event, the
                    // file is not MISP event JSON.
                    self.queued.extend(events_of(&bytes).map_err(ScanError)?);
                    Ok(true)
                }
                _ => Err(ScanError(
                    "not MISP event JSON (an object or a list)".into(),
                )),
            },
            State::List { ref mut first } => {
                match self.scanner.next_element(first, MAX_EVENT_BYTES)? {
                    None => {
                        self.scanner.expect_end()?;
                        self.state = State::Done;
                        Ok(true)
                    }
                    Some(element) => {
                        self.element(element);
                        Ok(true)
                    }
                }
            }
        }
    }

    fn element(&mut self, element: Element) {
        let position = self.events;
        let error = |reason: String| {
            let location = Location::Misp {
                event: position.to_string(),
                attribute: 0,
                uuid: None,
            };
            Entry::Error(RowError::new(location, "event", reason))
        };
        let bytes = match element {
            Element::Bytes(bytes) => bytes,
            Element::TooLarge(size) => {
                self.events += 1;
                let reason = format!("is {size} bytes; the limit is {MAX_EVENT_BYTES}");
                self.pending.push_back(error(reason));
                return;
            }
        };
        match events_of(&bytes) {
            Ok(events) => self.queued.extend(events),
            Err(reason) => {
                self.events += 1;
                self.pending.push_back(error(reason));
            }
        }
    }

    fn start(&mut self, mut event: Event) {
        let name = event
            .uuid
            .clone()
            .unwrap_or_else(|| self.events.to_string());
        self.events += 1;
        let mut attributes = std::mem::take(&mut event.attributes);
        for object in std::mem::take(&mut event.objects) {
            attributes.extend(object.attributes);
        }
        self.current = Some(Current {
            event,
            name,
            attributes: attributes.into_iter().enumerate(),
        });
    }

    /// Decodes the current event's next attribute.
    fn next_attribute(&mut self) -> Option<Entry> {
        let mut current = self.current.take()?;
        // An exhausted event is dropped here (`current` stays `None`).
        let (index, raw) = current.attributes.next()?;
        let bytes = raw.get().as_bytes();
        let uuid = serde_json::from_slice::<UuidOnly>(bytes)
            .ok()
            .and_then(|u| u.uuid);
        let location = Location::Misp {
            event: current.name.clone(),
            attribute: index,
            uuid,
        };
        let entry = match decode::<Attribute>(bytes, "attribute") {
            Err((field, reason)) => Entry::Error(RowError::new(location, field, reason)),
            Ok(attribute) => match self.attribute(&current.event, location.clone(), attribute) {
                Ok(entry) => entry,
                Err((field, reason)) => Entry::Error(RowError::new(location, field, reason)),
            },
        };
        self.current = Some(current);
        Some(entry)
    }

    fn attribute(
        &mut self,
        event: &Event,
        location: Location,
        attribute: Attribute,
    ) -> Result<Entry, (&'static str, String)> {
        if truthy(&attribute.deleted) {
            return Ok(Entry::Skipped(Skipped {
                location,
                what: "a deleted attribute".into(),
            }));
        }
        let tags = || {
            attribute
                .tags
                .iter()
                .chain(event.tags.iter())
                .map(|t| t.name.as_str())
        };
        let tagged_kind = tags().find_map(|t| machine_tag(t, "kind"));
        let kind = match (attribute.kind.as_str(), tagged_kind) {
            ("text", Some(kind)) => kind.parse().map_err(|_| {
                (
                    "type",
                    format!("liaison:kind {} is not a known kind", quote(kind)),
                )
            })?,
            (BANK_ACCOUNT_TYPE, _) => Kind::BankAccount,
            (other, _) => match kind_for(other) {
                Some(kind) => kind,
                None => {
                    return Ok(Entry::Skipped(Skipped {
                        location,
                        what: format!("MISP type {}", quote(other)),
                    }))
                }
            },
        };
        let value = match attribute.kind.ends_with("|port") {
            true => attribute
                .value
                .split('|')
                .next()
                .unwrap_or_default()
                .to_string(),
            false => attribute.value.clone(),
        };
        let (kind, mut value) = refine(&attribute.kind, kind, &value);
        if kind == Kind::BankAccount && !value.contains(':') {
            let country = tags()
                .find_map(|t| machine_tag(t, "country"))
                .map(str::to_string)
                .or_else(|| self.options.default_country.clone())
                .ok_or(("value", "bank-account-nr has no country: add a liaison:country=\"CC\" tag or give a default country".to_string()))?;
            value = format!("{country}:{value}");
        }
        let mut item = ImportItem::new(location, kind, value);
        provenance(
            &mut item,
            &Found {
                producer: event.orgc.as_ref().and_then(|o| o.name.as_deref()),
                first_seen: attribute.first_seen.as_deref(),
                timestamp: attribute.timestamp.as_ref(),
                category: &attribute.category,
                tags: attribute.tags.iter().map(|t| t.name.as_str()),
            },
        );
        item.description = match attribute.comment.is_empty() {
            true => event.info.clone(),
            false => attribute.comment.clone(),
        };
        item.tlp = attribute
            .tags
            .iter()
            .find_map(|t| tlp_for_tag(&t.name))
            .or_else(|| event.tags.iter().find_map(|t| tlp_for_tag(&t.name)))
            .or_else(|| level(&attribute.distribution).and_then(tlp_for_distribution))
            .or_else(|| level(&event.distribution).and_then(tlp_for_distribution));
        for tag in attribute.tags.iter().chain(event.tags.iter()) {
            self.tag(&mut item, &tag.name)?;
        }
        Ok(Entry::Item(item))
    }

    /// Applies one tag to an item: labels and `liaison:` machine tags.
    fn tag(&mut self, item: &mut ImportItem, tag: &str) -> Result<(), (&'static str, String)> {
        let field = |e: RecordError| match e {
            RecordError::InvalidField { field, reason } => (field, reason),
            other => ("tag", other.to_string()),
        };
        if tlp_for_tag(tag).is_some() || tag.starts_with("tlp:") {
            return Ok(());
        }
        if let Some(label) = machine_tag(tag, "label")
            .or(Some(tag))
            .and_then(|l| l.parse().ok())
        {
            if !item.labels.contains(&label) {
                item.labels.push(label);
            }
            return Ok(());
        }
        if let Some(evaluation) = machine_tag(tag, "evaluation") {
            item.evaluation = Some(evaluation.parse().map_err(field)?);
        } else if let Some(code) = machine_tag(tag, "handling") {
            let code = code.parse().map_err(field)?;
            if !item.handling.contains(&code) {
                item.handling.push(code);
            }
        } else if let Some(note) = machine_tag(tag, "handling-note") {
            item.handling_note = note.to_string();
        } else if let Some(case) = machine_tag(tag, "case") {
            item.case_reference = case.to_string();
        } else if let Some(until) = machine_tag(tag, "valid-until") {
            item.validity = Some(Validity::UntilMs(
                parse_ms(until).map_err(|r| ("valid_until", r))?,
            ));
        } else if let Some(source) = machine_tag(tag, "source") {
            item.set_source(source);
        } else if !(tag.starts_with("liaison:kind=")
            || tag.starts_with("liaison:country=")
            // Derived from the value again on import: nothing is lost.
            || tag.starts_with("liaison:coin="))
        {
            self.ignored_tags += 1;
            item.not_carried.push(Loss::new(tag_loss(tag), tag));
        }
        Ok(())
    }
}

/// Keys one of which a bare event (without the `{"Event": …}` wrapper) has.
const EVENT_KEYS: [&str; 4] = ["Attribute", "Object", "info", "uuid"];

fn events_of(bytes: &[u8]) -> Result<Vec<Event>, String> {
    let top: TopLevel = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    collect(top, &mut events, bytes)?;
    Ok(events)
}

fn collect(top: TopLevel, events: &mut Vec<Event>, bytes: &[u8]) -> Result<(), String> {
    match (top.event, top.response) {
        (Some(event), _) => events.push(event),
        (None, Some(list)) => {
            for inner in list {
                collect(inner, events, bytes)?;
            }
        }
        // A bare event without the {"Event": …} wrapper.
        (None, None) => {
            let keys: serde_json::Map<String, Value> =
                serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            if !EVENT_KEYS.iter().any(|k| keys.contains_key(*k)) {
                return Err(format!(
                    "not a MISP event: no \"Event\", \"response\" or {} key",
                    EVENT_KEYS.join("/")
                ));
            }
            events.push(serde_json::from_slice(bytes).map_err(|e| e.to_string())?)
        }
    }
    Ok(())
}

/// A distribution level written as a number or a string.
fn level(value: &Option<Value>) -> Option<u8> {
    match value.as_ref()? {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() != Some(0),
        Value::String(s) => !matches!(s.as_str(), "" | "0" | "false"),
        _ => false,
    }
}
