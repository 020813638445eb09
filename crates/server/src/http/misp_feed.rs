//! The MISP feed: `/misp-feed/manifest.json`, `/misp-feed/{uuid}.json` and
//! `/misp-feed/hashes.csv`, in MISP's feed format, so a MISP instance
//! subscribes to the node with a client certificate.
//!
//! Events group records by change-log block: event `k` holds the indicators
//! whose latest change-log position is in `k·1000+1 ..= (k+1)·1000` (arrival
//! order), so an event is bounded (≤ 1000 attributes) and costs O(1000) to
//! build, and the last block grows until full. A record logged again (a
//! partner's, after our "seen" sighting) moves to the later block: the feed
//! lists each attribute once. An event's date and timestamp are when anything
//! in its block last changed (a record logged there, or one leaving it), so
//! MISP fetches it again then. Attributes are exactly the MISP export's
//! ([`liaison_core::formats::misp::MispWriter`]), revoked ones `deleted`, `to_ids: false`, tagged
//! `liaison:revoked`, with the revocation's time as their `timestamp`; a
//! revocation stays in the block of the record it withdraws (MISP keeps an
//! attribute in its event) and moves that event's timestamp. Bulletins
//! are extra events, one each (`misp_feed_bulletins`).
//!
//! The manifest, `hashes.csv` and the bulletin events come from the feed's
//! kept state ([`misp_feed_cache`]), updated from what changed: a request costs
//! O(blocks), never a read of every record; a block's event is built on request
//! (O(1000)). Must never serve past the durable change-log position.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Map, Value};

use super::errors::HttpError;
use super::misp_feed_bulletins as bulletins;
use super::misp_feed_cache::{self, FeedCache, BLOCK};
use super::page::{self, Item, Scope};
use liaison_core::formats::misp::MispWriter;
use liaison_core::formats::time::format_date;
use liaison_node::node::Node;

pub fn router() -> Router<Arc<Node>> {
    Router::new()
        .route("/misp-feed/manifest.json", get(manifest))
        .route("/misp-feed/hashes.csv", get(hashes))
        .route("/misp-feed/{file}", get(event))
        .layer(Extension(Arc::new(FeedCache::default())))
}

fn event_name(node: &Node, block: u64) -> String {
    format!("{}:feed-block:{block}", node.node_id().to_hex())
}

pub(super) fn event_uuid(node: &Node, block: u64) -> String {
    liaison_core::formats::stable_uuid("misp-event", event_name(node, block).as_bytes()).to_string()
}

/// The indicators of one block, in change-log order: those whose latest
/// position is in the block (a record logged again later is in a later block
/// only, so the feed lists each attribute once).
fn block_items(node: &Node, block: u64) -> Result<Vec<Item>, HttpError> {
    let end = ((block + 1) * BLOCK).min(node.commits.durable());
    let now = liaison_core::now_ms();
    let mut items = Vec::new();
    for entry in node.store.log_after(block * BLOCK, end) {
        let (seq, id) = entry?;
        if let Some(current) = node.store.current_at(seq, &id)? {
            items.extend(page::served(node, Scope::All, current, now, false)?);
        }
    }
    Ok(items)
}

fn info(node: &Node, block: u64) -> String {
    format!(
        "Liaison {}: records {}–{} received",
        node.identity.name,
        block * BLOCK + 1,
        (block + 1) * BLOCK
    )
}

/// The feed as of now, from the shared cache (off the async workers).
async fn view(
    node: &Arc<Node>,
    cache: &Arc<FeedCache>,
) -> Result<misp_feed_cache::View, HttpError> {
    let (node, cache) = (node.clone(), cache.clone());
    super::blocking(move || cache.view(&node)).await
}

async fn manifest(
    State(node): State<Arc<Node>>,
    Extension(cache): Extension<Arc<FeedCache>>,
    request: Request,
) -> Result<Response, HttpError> {
    let who = super::reader(&node, request.extensions())?;
    let view = view(&node, &cache).await?;
    let org = json!({ "name": node.identity.name, "uuid": liaison_core::formats::stable_uuid("misp-org", node.node_id().as_bytes()).to_string() });
    let mut manifest = Map::new();
    for (block, entry) in view.blocks.iter().enumerate() {
        let Some(time) = entry.time else {
            continue;
        };
        let block = block as u64;
        let entry = json!({
            "info": info(&node, block),
            "date": format_date(time),
            "timestamp": (time / 1000).to_string(),
            "analysis": "2",
            "threat_level_id": "4",
            "Orgc": org,
            "Tag": [],
        });
        manifest.insert(event_uuid(&node, block), entry);
    }
    for event in view.bulletins.iter() {
        manifest.insert(event.uuid.clone(), event.manifest.clone());
    }
    audit(&node, &who, "manifest.json", manifest.len()).await?;
    Ok(json_response(
        Value::Object(manifest).to_string().into_bytes(),
    ))
}

async fn event(
    State(node): State<Arc<Node>>,
    Extension(cache): Extension<Arc<FeedCache>>,
    Path(file): Path<String>,
    request: Request,
) -> Result<Response, HttpError> {
    let who = super::reader(&node, request.extensions())?;
    let missing = || {
        HttpError::not_found(format!(
            "file: no event {} in this feed",
            liaison_core::untrusted::quote(&file)
        ))
    };
    let uuid = file.strip_suffix(".json").ok_or_else(missing)?.to_string();
    let view = view(&node, &cache).await?;
    let (body, count) = match view.uuids.get(&uuid) {
        Some(&block) => {
            let time = view.blocks.get(block as usize).and_then(|b| b.time);
            let work = node.clone();
            // One block: at most BLOCK records read, whatever the feed's size.
            super::blocking(move || {
                let items = block_items(&work, block)?;
                let writer = MispWriter::begin(
                    Vec::new(),
                    &event_name(&work, block),
                    &info(&work, block),
                    time.unwrap_or(0),
                )
                .map_err(HttpError::internal)?;
                let body = bulletins::write_items(&work, writer, &items)?;
                Ok((Bytes::from(body), items.len()))
            })
            .await?
        }
        None => {
            let event = view
                .bulletins
                .iter()
                .find(|e| e.uuid == uuid)
                .ok_or_else(missing)?;
            (event.body.clone(), event.attributes)
        }
    };
    audit(&node, &who, &file, count).await?;
    Ok(json_response(body))
}

/// `md5(value),event uuid` per attribute: MISP's feed hashes file, streamed
/// from the cached blocks' lines (nothing is read from the store here).
async fn hashes(
    State(node): State<Arc<Node>>,
    Extension(cache): Extension<Arc<FeedCache>>,
    request: Request,
) -> Result<Response, HttpError> {
    let who = super::reader(&node, request.extensions())?;
    let view = view(&node, &cache).await?;
    let mut lines = 0;
    let mut chunks: Vec<Bytes> = Vec::with_capacity(view.blocks.len() + view.bulletins.len());
    for block in view.blocks.iter() {
        lines += block.attributes;
        chunks.push(block.lines.clone());
    }
    for event in view.bulletins.iter() {
        lines += event.attributes;
        chunks.push(event.lines.clone());
    }
    audit(&node, &who, "hashes.csv", lines).await?;
    let stream = tokio_stream::iter(
        chunks
            .into_iter()
            .filter(|c| !c.is_empty())
            .map(Ok::<_, std::io::Error>),
    );
    let mut response = Body::from_stream(stream).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    Ok(response)
}

fn json_response(body: impl Into<Bytes>) -> Response {
    let mut response = body.into().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn audit(
    node: &Arc<Node>,
    who: &liaison_identity::tls::Principal,
    file: &str,
    objects: usize,
) -> Result<(), HttpError> {
    let detail = json!({ "collection": "misp-feed", "file": file, "objects": objects });
    super::audit_page(node, who, "misp_feed.page", detail).await
}
