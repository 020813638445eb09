//! The search page's handler. A local search answers with the whole page. A
//! federated one (`federated=1`) answers with a streamed (chunked) HTML
//! document, which a browser renders as it arrives, script or not: the page
//! head and form at once, this node's records as soon as the node has them,
//! then the partners' sections, then the page end.
//!
//! A federated page is one call, `Analyst.SearchStream` (what `liaison search
//! VALUE --federated` asks): its first event is this node's answer, then one
//! event per partner as that partner answers, each written to the page as a
//! section the moment it arrives, then the end. A local search is the unary
//! `Analyst.Search`, as `liaison search VALUE`.
//!
//! This module must never ask a partner itself, hold an answer beyond the page
//! it streams, or decide what the analyst may see.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use maud::Markup;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use super::form::Fields;
use super::routes::Csrf;
use super::view::{error_box, search};
use super::Console;
use crate::cli::status::status_error;
use liaison_core::proto;
use liaison_core::proto::search_event::Event;

pub async fn search_handler(
    State(console): State<Arc<Console>>,
    Extension(Csrf(csrf)): Extension<Csrf>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let query = search::Query {
        q: fields.get("q").to_string(),
        kind: fields.get("kind").to_string(),
        federated: fields.flag("federated"),
        justification: fields.get("justification").to_string(),
        case: fields.get("case").to_string(),
    };
    if query.q.trim().is_empty() {
        return Html(search::search_page(&console.who, &query, None, &csrf).into_string())
            .into_response();
    }
    if !query.federated {
        let answer = run_search(&console, &query, false).await;
        return Html(search::search_page(&console.who, &query, Some(answer), &csrf).into_string())
            .into_response();
    }
    streamed(console, query, csrf)
}

/// The federated page as a stream of HTML chunks, written by a task that
/// stops when the browser goes away (and with it the node's call, which
/// cancels the partners' calls still outstanding).
fn streamed(console: Arc<Console>, query: search::Query, csrf: String) -> Response {
    let (sender, receiver) = mpsc::channel::<String>(4);
    tokio::spawn(async move {
        let written = write_page(&console, &query, &csrf, &sender).await;
        if written.is_err() {
            tracing::debug!("the browser left a streamed search page early");
        }
    });
    let body = Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(receiver)
            .map(|chunk| Ok::<_, Infallible>(Bytes::from(chunk))),
    );
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The browser is gone: nothing more to write.
struct Gone;

async fn send(sender: &mpsc::Sender<String>, chunk: impl Into<String>) -> Result<(), Gone> {
    sender.send(chunk.into()).await.map_err(|_| Gone)
}

fn text(markup: Markup) -> String {
    markup.into_string()
}

async fn write_page(
    console: &Console,
    query: &search::Query,
    csrf: &str,
    sender: &mpsc::Sender<String>,
) -> Result<(), Gone> {
    let (head, tail) = search::streamed_shell(&console.who, query);
    send(sender, head).await?;
    let mut events = match open_stream(console, query).await {
        Ok(events) => events,
        Err(message) => {
            send(sender, text(error_box(&message)) + &tail).await?;
            return Ok(());
        }
    };
    // The partners' sections are written as their events arrive; dropping
    // `events` (the browser left) ends the call.
    let mut partners = 0usize;
    let (mut opened, mut ended) = (false, false);
    loop {
        let next = match events.message().await {
            Ok(next) => next,
            Err(status) => {
                send(sender, text(error_box(&status_error(status).to_string()))).await?;
                break;
            }
        };
        let Some(proto::SearchEvent { event: Some(event) }) = next else {
            break;
        };
        match event {
            Event::Local(local) => {
                let local = proto::SearchResponse {
                    records: local.records,
                    normalized_queries: local.normalized_queries,
                    correlations: local.correlations,
                    partners: Vec::new(),
                };
                let mut chunk = String::from(search::RESULTS_OPEN);
                chunk.push_str(&text(search::local_part(&local, csrf)));
                chunk.push_str(&text(search::partners_heading()));
                chunk.push_str(&text(search::partners_waiting(console.deadline_ms)));
                send(sender, chunk).await?;
                opened = true;
            }
            Event::Partner(part) => {
                let Some(status) = part.status else { continue };
                let answer = proto::SearchResponse {
                    records: part.records,
                    ..Default::default()
                };
                partners += 1;
                send(sender, text(search::partner_section(&status, &answer))).await?;
            }
            Event::End(_) => {
                ended = true;
                break;
            }
        }
    }
    if ended && partners == 0 {
        send(sender, text(search::no_partner())).await?;
    }
    match opened {
        true => send(sender, format!("{}{tail}", search::RESULTS_CLOSE)).await,
        false => send(sender, tail).await,
    }
}

/// `Analyst.SearchStream`, federated, as `liaison search VALUE --federated`
/// asks it: one call for this node's records and the partners'.
async fn open_stream(
    console: &Console,
    query: &search::Query,
) -> Result<tonic::Streaming<proto::SearchEvent>, String> {
    let request = search_request(console, query, true)?;
    console
        .client
        .analyst()
        .search_stream(request)
        .await
        .map(|r| r.into_inner())
        .map_err(|status| status_error(status).to_string())
}

/// `Analyst.Search` as `liaison search` makes it (`--federated` when asked).
async fn run_search(
    console: &Console,
    query: &search::Query,
    federated: bool,
) -> Result<proto::SearchResponse, String> {
    let request = search_request(console, query, federated)?;
    console
        .client
        .analyst()
        .search(request)
        .await
        .map(|r| r.into_inner())
        .map_err(|status| status_error(status).to_string())
}

fn search_request(
    console: &Console,
    query: &search::Query,
    federated: bool,
) -> Result<proto::SearchRequest, String> {
    let kind = super::form::kind_code(&query.kind)?;
    let request = proto::SearchRequest {
        value: query.q.clone(),
        kind,
        default_country: String::new(),
        federated,
        justification: query.justification.clone(),
        case_reference: query.case.clone(),
        deadline_ms: console.deadline_ms,
    };
    Ok(request)
}
