//! The search page's handler. A local search answers with the whole page. A
//! federated one (`federated=1`) answers with a streamed (chunked) HTML
//! document, which a browser renders as it arrives, script or not: the page
//! head and form at once, this node's records as soon as the node has them,
//! then the partners' sections, then the page end.
//!
//! The calls are the CLI's: `liaison search VALUE` for this node's records and
//! `liaison search VALUE --federated` for the partners, made at the same time.
//! The node's `Analyst.Search` is one answer for every partner together (a
//! unary call), so the partners' sections arrive together once the node has
//! heard from all of them or its deadline passed; sections per partner as each
//! answers would need a streaming call on the wire.
//!
//! This module must never ask a partner itself, hold an answer beyond the page
//! it streams, or decide what the analyst may see.

use std::convert::Infallible;
use std::str::FromStr;
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
use liaison_core::indicator::Kind;
use liaison_core::proto;

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
/// stops when the browser goes away.
fn streamed(console: Arc<Console>, query: search::Query, csrf: String) -> Response {
    let (sender, receiver) = mpsc::channel::<String>(4);
    tokio::spawn(async move {
        let partners = {
            let (console, query) = (console.clone(), query.clone());
            tokio::spawn(async move { run_search(&console, &query, true).await })
        };
        let written = write_page(&console, &query, &csrf, &sender, partners).await;
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
    partners: tokio::task::JoinHandle<Result<proto::SearchResponse, String>>,
) -> Result<(), Gone> {
    let (head, tail) = search::streamed_shell(&console.who, query);
    if send(sender, head).await.is_err() {
        partners.abort();
        return Err(Gone);
    }
    let local = match run_search(console, query, false).await {
        Ok(local) => local,
        Err(message) => {
            // The same value would be refused for the partners too.
            partners.abort();
            send(sender, text(error_box(&message)) + &tail).await?;
            return Ok(());
        }
    };
    let mut chunk = String::from(search::RESULTS_OPEN);
    chunk.push_str(&text(search::local_part(&local, csrf)));
    chunk.push_str(&text(search::partners_heading()));
    chunk.push_str(&text(search::partners_waiting(console.deadline_ms)));
    if send(sender, chunk).await.is_err() {
        partners.abort();
        return Err(Gone);
    }
    let answer = partners
        .await
        .unwrap_or_else(|e| Err(format!("the federated search ended early: {e}")));
    match answer {
        Err(message) => send(sender, text(error_box(&message))).await?,
        Ok(response) if response.partners.is_empty() => {
            send(sender, text(search::no_partner())).await?
        }
        Ok(response) => {
            for partner in &response.partners {
                send(sender, text(search::partner_section(partner, &response))).await?;
            }
        }
    }
    send(sender, format!("{}{tail}", search::RESULTS_CLOSE)).await
}

/// `Analyst.Search` as `liaison search` makes it (`--federated` when asked).
async fn run_search(
    console: &Console,
    query: &search::Query,
    federated: bool,
) -> Result<proto::SearchResponse, String> {
    let kind = match query.kind.as_str() {
        "" => 0,
        name => i32::from(
            Kind::from_str(name)
                .map_err(|e| format!("kind: {e}"))?
                .code(),
        ),
    };
    let request = proto::SearchRequest {
        value: query.q.clone(),
        kind,
        default_country: String::new(),
        federated,
        justification: query.justification.clone(),
        case_reference: query.case.clone(),
        deadline_ms: console.deadline_ms,
    };
    console
        .client
        .analyst()
        .search(request)
        .await
        .map(|r| r.into_inner())
        .map_err(|status| status_error(status).to_string())
}
