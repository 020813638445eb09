//! The MISP feed: `/misp-feed/manifest.json`, `/misp-feed/{uuid}.json` and
//! `/misp-feed/hashes.csv`, in MISP's feed format, so a MISP instance
//! subscribes to the node with a client certificate.
//!
//! Events group records by change-log block: event `k` holds the indicators at
//! change-log positions `k·1000+1 ..= (k+1)·1000` (arrival order), so an event
//! is bounded (≤ 1000 attributes) and costs O(1000) to build, finished blocks
//! never change their membership, and the last block grows until full. An
//! event's date and timestamp are the receipt time of its newest record, so
//! MISP fetches it again when it grows. Attributes are exactly the MISP
//! export's ([`crate::formats::misp::MispWriter`]), revoked ones `deleted`.
//! Bulletins are extra events, one each (`misp_feed_bulletins`).
//! Must never serve past the durable change-log position.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::errors::HttpError;
use super::misp_feed_bulletins as bulletins;
use super::page::{self, Item, Scope};
use crate::formats::misp::{attribute_value, MispWriter};
use crate::formats::time::format_date;
use crate::node::Node;

/// Change-log positions per event.
const BLOCK: u64 = 1_000;

pub fn router() -> Router<Arc<Node>> {
    Router::new()
        .route("/misp-feed/manifest.json", get(manifest))
        .route("/misp-feed/hashes.csv", get(hashes))
        .route("/misp-feed/{file}", get(event))
}

/// The blocks holding anything durable: 0 ..= last.
fn blocks(node: &Node) -> std::ops::Range<u64> {
    0..node.commits.durable().div_ceil(BLOCK)
}

fn event_name(node: &Node, block: u64) -> String {
    format!("{}:feed-block:{block}", node.node_id().to_hex())
}

fn event_uuid(node: &Node, block: u64) -> String {
    crate::formats::stable_uuid("misp-event", event_name(node, block).as_bytes()).to_string()
}

/// The indicators of one block, in change-log order: those whose latest
/// position is in the block (a record logged again later is in a later block
/// only, so the feed lists each attribute once).
fn block_items(node: &Node, block: u64) -> Result<Vec<Item>, HttpError> {
    let end = ((block + 1) * BLOCK).min(node.commits.durable());
    let now = crate::now_ms();
    let mut items = Vec::new();
    for entry in node.store.log_after(block * BLOCK, end) {
        let (seq, id) = entry?;
        if let Some(current) = node.store.current_at(seq, &id)? {
            items.extend(page::served(node, Scope::All, current, now, false)?);
        }
    }
    Ok(items)
}

/// When the block's newest record still standing in it was logged there
/// (`None`: empty).
fn block_time(node: &Node, block: u64) -> Result<Option<i64>, HttpError> {
    let end = ((block + 1) * BLOCK).min(node.commits.durable());
    for entry in node.store.log_before(end + 1) {
        let (seq, id) = entry?;
        if seq <= block * BLOCK {
            break;
        }
        if let Some(current) = node.store.current_at(seq, &id)? {
            return Ok(Some(current.added_ms));
        }
    }
    Ok(None)
}

fn info(node: &Node, block: u64) -> String {
    format!(
        "Liaison {}: records {}–{} received",
        node.identity.name,
        block * BLOCK + 1,
        (block + 1) * BLOCK
    )
}

async fn manifest(State(node): State<Arc<Node>>, request: Request) -> Result<Response, HttpError> {
    let who = super::reader(&node, request.extensions())?;
    let work = node.clone();
    let manifest = super::blocking(move || {
        let mut manifest = Map::new();
        for block in blocks(&work) {
            let Some(time) = block_time(&work, block)? else {
                continue;
            };
            let entry = json!({
                "info": info(&work, block),
                "date": format_date(time),
                "timestamp": (time / 1000).to_string(),
                "analysis": "2",
                "threat_level_id": "4",
                "Orgc": { "name": work.identity.name, "uuid": crate::formats::stable_uuid("misp-org", work.node_id().as_bytes()).to_string() },
                "Tag": [],
            });
            manifest.insert(event_uuid(&work, block), entry);
        }
        for event in bulletins::events(&work)? {
            let entry = bulletins::manifest_entry(&work, &event);
            manifest.insert(event.uuid, entry);
        }
        Ok(manifest)
    })
    .await?;
    audit(&node, &who, "manifest.json", manifest.len()).await?;
    Ok(json_response(
        Value::Object(manifest).to_string().into_bytes(),
    ))
}

async fn event(
    State(node): State<Arc<Node>>,
    Path(file): Path<String>,
    request: Request,
) -> Result<Response, HttpError> {
    let who = super::reader(&node, request.extensions())?;
    let missing = || {
        HttpError::not_found(format!(
            "file: no event {} in this feed",
            crate::untrusted::quote(&file)
        ))
    };
    let uuid = file.strip_suffix(".json").ok_or_else(missing)?.to_string();
    let work = node.clone();
    let built = super::blocking(move || {
        // UUIDv5 ids do not invert; the feed has one block per 1000 changes,
        // so trying each is cheap (one SHA-1 per block).
        let Some(block) = blocks(&work).find(|b| event_uuid(&work, *b) == uuid) else {
            let events = bulletins::events(&work)?;
            let Some(event) = events.iter().find(|e| e.uuid == uuid) else {
                return Ok(None);
            };
            return Ok(Some((
                bulletins::event_body(&work, event)?,
                event.items.len(),
            )));
        };
        let items = block_items(&work, block)?;
        let time = block_time(&work, block)?.unwrap_or(0);
        let writer = MispWriter::begin(
            Vec::new(),
            &event_name(&work, block),
            &info(&work, block),
            time,
        )
        .map_err(HttpError::internal)?;
        let body = bulletins::write_items(&work, writer, &items)?;
        Ok(Some((body, items.len())))
    })
    .await?;
    let (body, count) = built.ok_or_else(missing)?;
    audit(&node, &who, &file, count).await?;
    Ok(json_response(body))
}

/// `md5(value),event uuid` per attribute: MISP's feed hashes file.
async fn hashes(State(node): State<Arc<Node>>, request: Request) -> Result<Response, HttpError> {
    let who = super::reader(&node, request.extensions())?;
    let work = node.clone();
    let (body, lines) = super::blocking(move || {
        let mut body = String::new();
        let mut lines = 0;
        for block in blocks(&work) {
            let uuid = event_uuid(&work, block);
            for item in block_items(&work, block)? {
                if let Some(indicator) = item.stored.record.payload.indicator() {
                    let digest = Md5::digest(attribute_value(indicator).as_bytes());
                    body.push_str(&format!("{},{uuid}\n", hex::encode(digest)));
                    lines += 1;
                }
            }
        }
        for event in bulletins::events(&work)? {
            for item in &event.items {
                if let Some(indicator) = item.stored.record.payload.indicator() {
                    let digest = Md5::digest(attribute_value(indicator).as_bytes());
                    body.push_str(&format!("{},{}\n", hex::encode(digest), event.uuid));
                    lines += 1;
                }
            }
        }
        Ok((body, lines))
    })
    .await?;
    audit(&node, &who, "hashes.csv", lines).await?;
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    Ok(response)
}

fn json_response(body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn audit(
    node: &Arc<Node>,
    who: &crate::tls::Principal,
    file: &str,
    objects: usize,
) -> Result<(), HttpError> {
    let detail = json!({ "collection": "misp-feed", "file": file, "objects": objects });
    super::audit_page(node, who, "misp_feed.page", detail).await
}
