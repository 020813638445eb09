//! Reading MISP event JSON: one event (`{"Event": {…}}`), a list of them, a
//! REST search answer (`{"response": [...]}`), or a feed directory
//! ([`feed_files`] lists its event files; each is read with [`read`]).
//!
//! A list is streamed one event at a time; one event is loaded whole (MISP puts
//! event tags after or before the attributes, and every attribute needs them),
//! so memory is bounded by [`MAX_EVENT_BYTES`] per event. Its attributes stay
//! raw JSON until pulled, then are decoded one by one, so a malformed attribute
//! costs only itself ([`super::attribute`] reads each).
//!
//! Provenance: a `liaison:source` tag, else the event's `Orgc` name, becomes the
//! item's source; the attribute's `first_seen`, else its `timestamp`, its
//! first-seen time. A category in [`super::CATEGORY_LABELS`] becomes a label.
//! Galaxy, taxonomy and other tags, and categories that name no label, are
//! listed in the item's `not_carried`. A file (or a single event) that is not
//! MISP event JSON is an [`Entry::Fatal`].

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::attribute::Attribute;
use crate::formats::json_stream::{decode, Element, ScanError, Scanner};
use crate::formats::{Entry, Location, ReadOptions, RowError};

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
pub(super) struct Event {
    uuid: Option<String>,
    #[serde(default)]
    pub(super) info: String,
    pub(super) distribution: Option<Value>,
    #[serde(rename = "Tag", default)]
    pub(super) tags: Vec<Tag>,
    /// Kept as raw JSON and decoded one at a time as the reader is pulled.
    #[serde(rename = "Attribute", default)]
    attributes: Vec<Box<RawValue>>,
    #[serde(rename = "Object", default)]
    objects: Vec<MispObject>,
    #[serde(rename = "Orgc")]
    pub(super) orgc: Option<Org>,
}

#[derive(Deserialize)]
pub(super) struct Org {
    pub(super) name: Option<String>,
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
pub(super) struct Tag {
    pub(super) name: String,
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
    pub(super) options: ReadOptions,
    events: usize,
    pub(super) pending: VecDeque<Entry>,
    queued: VecDeque<Event>,
    current: Option<Current>,
    pub(super) ignored_tags: u64,
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
