//! Bulletins in the MISP feed (issue 15): one MISP event per bulletin this node
//! holds, its attributes the members visible here (held, live; revoked ones
//! `deleted`), `info` its title, tags its TLP (`tlp:…`), crime labels
//! (`liaison:label="…"`) and countries (`liaison:country="…"`). The event uuid
//! is derived from the bulletin's record id, so it is the same in every fetch;
//! a revoked bulletin's event gains the tag `liaison:revoked` and its timestamp
//! moves to the revocation's arrival, so MISP fetches it again.
//!
//! Must never name a member this node holds no opening for (members withheld
//! from this node are simply absent), and never serve an expired bulletin.

use serde_json::{json, Value};

use super::errors::HttpError;
use super::page::{self, Item, Scope};
use liaison_core::formats::misp::{MispWriter, REVOKED_TAG};
use liaison_core::formats::time::format_date;
use liaison_core::record::{Bulletin, RecordId};
use liaison_node::node::Node;

/// The `misp-event` name of a bulletin's event; its uuid is derived from it.
fn event_name(id: &RecordId) -> String {
    format!("{}:bulletin", id.to_hex())
}

/// A bulletin as a feed event, members resolved.
pub(super) struct BulletinEvent {
    pub uuid: String,
    name: String,
    pub info: String,
    /// The newest receipt time of the bulletin and its members: MISP fetches
    /// the event again when a member arrives after the bulletin.
    pub time: i64,
    pub tags: Vec<String>,
    pub items: Vec<Item>,
    /// The bulletin's valid-until: it leaves the feed then.
    pub valid_until_ms: i64,
}

fn tags(bulletin: &Bulletin) -> Vec<String> {
    let mut tags = vec![
        format!("tlp:{}", bulletin.tlp.as_str()),
        "liaison:bulletin".to_string(),
    ];
    tags.extend(
        bulletin
            .labels
            .iter()
            .map(|l| format!("liaison:label=\"{}\"", l.as_str())),
    );
    tags.extend(
        bulletin
            .countries
            .iter()
            .map(|c| format!("liaison:country=\"{c}\"")),
    );
    tags
}

/// Every live bulletin with at least one member visible here, as an event.
pub(super) fn events(node: &Node) -> Result<Vec<BulletinEvent>, HttpError> {
    let now = liaison_core::now_ms();
    let mut events = Vec::new();
    for id in node.store.bulletin_ids()? {
        let Some(stored) = node.store.get(&id)? else {
            continue;
        };
        let Some(bulletin) = stored.record.payload.bulletin() else {
            continue;
        };
        if bulletin.valid_until_ms <= now {
            continue;
        }
        let mut items = Vec::new();
        for opening in node.store.openings(&id)? {
            items.extend(page::served_by_id(
                node,
                Scope::All,
                &opening.record_id,
                now,
                false,
            )?);
        }
        if items.is_empty() {
            continue;
        }
        let mut time = items
            .iter()
            .map(|i| i.added_ms)
            .fold(stored.received_ms, i64::max);
        let mut tags = tags(bulletin);
        // Withdrawn by its origin: kept (MISP holds it already), marked so,
        // and changed as of the withdrawal (MISP fetches it again).
        if let Some(current) = node.store.current(&id)? {
            let item = page::with_revoked(node, current)?;
            if item.revoked {
                tags.push(REVOKED_TAG.to_string());
                time = time.max(item.added_ms);
            }
        }
        let name = event_name(&id);
        events.push(BulletinEvent {
            uuid: liaison_core::formats::stable_uuid("misp-event", name.as_bytes()).to_string(),
            name,
            info: bulletin.title.clone(),
            time,
            tags,
            items,
            valid_until_ms: bulletin.valid_until_ms,
        });
    }
    Ok(events)
}

/// The `Tag` list of a manifest entry or event head.
pub(super) fn tag_list(tags: &[String]) -> Value {
    Value::Array(tags.iter().map(|t| json!({ "name": t })).collect())
}

/// The manifest entry of a bulletin's event.
pub(super) fn manifest_entry(node: &Node, event: &BulletinEvent) -> Value {
    json!({
        "info": event.info,
        "date": format_date(event.time),
        "timestamp": (event.time / 1000).to_string(),
        "analysis": "2",
        "threat_level_id": "4",
        "Orgc": { "name": node.identity.name, "uuid": liaison_core::formats::stable_uuid("misp-org", node.node_id().as_bytes()).to_string() },
        "Tag": tag_list(&event.tags),
    })
}

/// The event file of a bulletin.
pub(super) fn event_body(node: &Node, event: &BulletinEvent) -> Result<Vec<u8>, HttpError> {
    let writer = MispWriter::begin_tagged(
        Vec::new(),
        &event.name,
        &event.info,
        event.time,
        &event.tags,
    )
    .map_err(HttpError::internal)?;
    write_items(node, writer, &event.items)
}

/// Writes served items as the event's attributes and closes it; the feed's
/// block events and the bulletin events share this.
pub(super) fn write_items(
    node: &Node,
    mut writer: MispWriter<Vec<u8>>,
    items: &[Item],
) -> Result<Vec<u8>, HttpError> {
    let names = page::origin_names(node, items);
    for item in items {
        let origin = item.stored.record.origin();
        let name = names.get(&origin).map(String::as_str).unwrap_or_default();
        writer
            .write(&item.export(name))
            .map_err(HttpError::internal)?;
    }
    writer.finish().map_err(HttpError::internal)
}
