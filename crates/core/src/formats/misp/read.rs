//! Reading MISP event JSON: one event (`{"Event": {…}}`), a list of them, a
//! REST search answer (`{"response": [...]}`), or a feed directory
//! ([`feed_files`] lists its event files; each is read with [`read`]).
//!
//! A list is streamed one event at a time; one event is loaded whole (MISP puts
//! event tags after or before the attributes, and every attribute needs them),
//! so memory is bounded by [`MAX_EVENT_BYTES`] per event. Its attributes stay
//! raw JSON until pulled, then are decoded one by one, so a malformed attribute
//! costs only itself.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{
    kind_for, machine_tag, tlp_for_distribution, tlp_for_tag, BANK_ACCOUNT_TYPE, DOMAIN_IP_TYPE,
};
use crate::formats::json_stream::{decode, Element, ScanError, Scanner};
use crate::formats::time::parse_ms;
use crate::formats::{Entry, ImportItem, Location, ReadOptions, RowError, Skipped, Validity};
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
}

#[derive(Deserialize)]
struct MispObject {
    #[serde(default)]
    name: String,
    #[serde(rename = "Attribute", default)]
    attributes: Vec<Box<RawValue>>,
}

/// An attribute still raw, with the name of the object it is in (if any).
type RawAttribute = (Box<RawValue>, Option<Arc<str>>);

/// The event whose attributes are being read.
struct Current {
    event: Event,
    name: String,
    attributes: std::iter::Enumerate<std::vec::IntoIter<RawAttribute>>,
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
    /// Its role in its object (e.g. `iban` in a `bank-account` object).
    object_relation: Option<String>,
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
                    return Some(Entry::Error(RowError::new(Location::File, "json", reason)));
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
                    self.element(match size > MAX_EVENT_BYTES {
                        true => Element::TooLarge(size),
                        false => Element::Bytes(bytes),
                    });
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
        let mut attributes: Vec<RawAttribute> = std::mem::take(&mut event.attributes)
            .into_iter()
            .map(|raw| (raw, None))
            .collect();
        for object in std::mem::take(&mut event.objects) {
            let name: Arc<str> = Arc::from(object.name.as_str());
            attributes.extend(
                object
                    .attributes
                    .into_iter()
                    .map(|raw| (raw, Some(name.clone()))),
            );
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
        let (index, (raw, object)) = current.attributes.next()?;
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
            Ok(attribute) => match self.attribute(
                &current.event,
                location.clone(),
                attribute,
                object.as_deref(),
            ) {
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
        object: Option<&str>,
    ) -> Result<Entry, (&'static str, String)> {
        let skipped = |what: String| {
            let context = match (object, &attribute.object_relation) {
                (Some(name), Some(relation)) => {
                    format!(" (object {}, relation {})", quote(name), quote(relation))
                }
                (Some(name), None) => format!(" (object {})", quote(name)),
                _ => String::new(),
            };
            Ok(Entry::Skipped(Skipped {
                location: location.clone(),
                what: format!("{what}{context}"),
            }))
        };
        if truthy(&attribute.deleted) {
            return skipped("a deleted attribute".into());
        }
        let tags = || {
            attribute
                .tags
                .iter()
                .chain(event.tags.iter())
                .map(|t| t.name.as_str())
        };
        let tagged_kind = tags().find_map(|t| machine_tag(t, "kind"));
        let halves = match (attribute.kind.as_str(), tagged_kind) {
            ("text", Some(kind)) => vec![(
                kind.parse().map_err(|_| {
                    (
                        "type",
                        format!("liaison:kind {} is not a known kind", quote(kind)),
                    )
                })?,
                attribute.value.clone(),
            )],
            (BANK_ACCOUNT_TYPE, _) => vec![(Kind::BankAccount, attribute.value.clone())],
            (DOMAIN_IP_TYPE, _) => {
                let (domain, ip) = composite(&attribute.value, "domain|address")?;
                vec![
                    (Kind::Domain, domain.to_string()),
                    (Kind::Ip, ip.to_string()),
                ]
            }
            (other, _) => match kind_for(other) {
                Some(kind) => vec![(kind, attribute.value.clone())],
                None => return skipped(format!("MISP type {}", quote(other))),
            },
        };
        let mut entries = Vec::with_capacity(halves.len());
        for (kind, value) in halves {
            let item = self.item(event, &attribute, location.clone(), kind, value)?;
            entries.push(Entry::Item(item));
        }
        let mut entries = entries.into_iter();
        let first = entries.next().ok_or(("type", "no value".to_string()))?;
        self.pending.extend(entries);
        Ok(first)
    }

    /// One item of an attribute: its value (a `…|port` type's port moved to
    /// the description, a scheme-less URL read as `http://`), description,
    /// marking and tags.
    fn item(
        &mut self,
        event: &Event,
        attribute: &Attribute,
        location: Location,
        kind: Kind,
        mut value: String,
    ) -> Result<ImportItem, (&'static str, String)> {
        let mut port = None;
        if attribute.kind.ends_with("|port") {
            let (host, number) = composite(&value, "host|port")?;
            match number.parse::<u16>() {
                Ok(n) if n > 0 => port = Some(n),
                _ => {
                    return Err((
                        "value",
                        format!("port {} is not a number 1-65535", quote(number)),
                    ))
                }
            }
            value = host.to_string();
        }
        let mut notes = Vec::new();
        if kind == Kind::Url && !value.contains("://") {
            // MISP lets a url attribute be written without its scheme.
            value = format!("http://{}", value.trim());
            notes.push("url: no scheme; http:// assumed".to_string());
        }
        if kind == Kind::BankAccount && !value.contains(':') {
            let country = attribute
                .tags
                .iter()
                .chain(event.tags.iter())
                .find_map(|t| machine_tag(&t.name, "country"))
                .map(str::to_string)
                .or_else(|| self.options.default_country.clone())
                .ok_or(("value", "bank-account-nr has no country: add a liaison:country=\"CC\" tag or give a default country".to_string()))?;
            value = format!("{country}:{value}");
        }
        let mut item = ImportItem::new(location, kind, value);
        item.notes = notes;
        item.description = match attribute.comment.is_empty() {
            true => event.info.clone(),
            false => attribute.comment.clone(),
        };
        if let Some(port) = port {
            item.description = match item.description.trim().is_empty() {
                true => format!("port {port}"),
                false => format!("{} (port {port})", item.description.trim()),
            };
        }
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
        Ok(item)
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
        } else if !(tag.starts_with("liaison:kind=") || tag.starts_with("liaison:country=")) {
            self.ignored_tags += 1;
        }
        Ok(())
    }
}

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
        (None, None) => events.push(serde_json::from_slice(bytes).map_err(|e| e.to_string())?),
    }
    Ok(())
}

/// The two halves of a composite value `left|right` (both non-empty).
fn composite<'a>(
    value: &'a str,
    shape: &str,
) -> Result<(&'a str, &'a str), (&'static str, String)> {
    match value.split_once('|') {
        Some((left, right)) if !left.trim().is_empty() && !right.trim().is_empty() => {
            Ok((left.trim(), right.trim()))
        }
        _ => Err(("value", format!("{} is not {shape}", quote(value)))),
    }
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
