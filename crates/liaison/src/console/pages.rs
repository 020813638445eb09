//! The handlers of the Records, Partners and Audit pages. Records and
//! Partners are the analyst's own gRPC calls (`Analyst.List`,
//! `Admin.ListPartners`), exactly as `liaison list`, `export` and
//! `partner list` make them; the Audit page reads the node directory's audit
//! log as `liaison audit list` and `audit verify` do, so it exists only for a
//! console started with `--dir` (the node's admin certificate and files).
//!
//! This module must never decide what a caller may see (the node refuses, and
//! the page shows the refusal), cache answers, or load more than one page of
//! records.

use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tokio_stream::StreamExt;

use super::form::Fields;
use super::view::{audit, partners, records};
use super::Console;
use crate::cli::records::RecordFilter;
use crate::cli::status::status_error;
use liaison_core::formats::Format;
use liaison_core::indicator::Kind;
use liaison_core::proto;
use liaison_core::record::Label;

/// Records per page unless the URL says (`size`), and the most it may say.
const RECORDS_PAGE: u32 = 25;
const AUDIT_PAGE: usize = 50;
const MOST_PER_PAGE: usize = 500;

fn size(fields: &Fields, default: usize) -> usize {
    fields
        .get("size")
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or(default)
        .min(MOST_PER_PAGE)
}

fn record_filters(fields: &Fields) -> records::Filters {
    records::Filters {
        kind: fields.get("kind").trim().to_string(),
        label: fields.get("label").trim().to_string(),
        case: fields.get("case").to_string(),
        origin: fields.get("origin").trim().to_string(),
        since: fields.get("since").trim().to_string(),
        size: u32::try_from(size(fields, RECORDS_PAGE as usize)).unwrap_or(RECORDS_PAGE),
        page: fields.get("page").to_string(),
        trail: fields.all("trail"),
    }
}

/// The URL's filters as `list` takes them, the origin resolved to a full node
/// id as the CLI resolves `--origin`.
async fn record_filter(
    console: &Console,
    filters: &records::Filters,
) -> Result<RecordFilter, String> {
    let given = |s: &String| (!s.is_empty()).then(|| s.clone());
    let kind = given(&filters.kind)
        .map(|k| Kind::from_str(&k).map_err(|e| format!("kind: {e}")))
        .transpose()?;
    let label = given(&filters.label)
        .map(|l| Label::from_str(&l).map_err(|e| format!("label: {e}")))
        .transpose()?;
    let origin = match given(&filters.origin) {
        Some(origin) => Some(
            crate::cli::ids::resolve(&console.client, "origin", &origin)
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    Ok(RecordFilter {
        kind,
        label,
        case_reference: given(&filters.case),
        origin,
        since: given(&filters.since),
    })
}

pub async fn records_handler(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
) -> Html<String> {
    let filters = record_filters(&Fields::parse(query.as_deref().unwrap_or("")));
    let answer = list_page(&console, &filters).await;
    Html(records::records_page(&console.who, &filters, answer).into_string())
}

async fn list_page(
    console: &Console,
    filters: &records::Filters,
) -> Result<proto::ListResponse, String> {
    let filter = record_filter(console, filters).await?;
    let mut request = filter
        .list_request()
        .map_err(|e| e.to_string().replace("--since", "since"))?;
    request.limit = filters.size;
    request.page_token = filters.page.clone();
    console
        .client
        .analyst()
        .list(request)
        .await
        .map(|r| r.into_inner())
        .map_err(|status| status_error(status).to_string())
}

/// `/records/export?format=stix|csv&…filters`: the filtered set as a file
/// download, streamed page by page as `liaison export` writes it.
pub async fn export_handler(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let (format, extension, mime) = match fields.get("format") {
        "stix" => (Format::Stix, "json", "application/stix+json"),
        "csv" => (Format::Csv, "csv", "text/csv; charset=utf-8"),
        other => {
            let message = format!(
                "format: {} is not an export format here; use stix or csv",
                liaison_core::untrusted::quote(other)
            );
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let filter = match record_filter(&console, &record_filters(&fields)).await {
        Ok(filter) => filter,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    if let Err(e) = filter.list_request() {
        return (
            StatusCode::BAD_REQUEST,
            e.to_string().replace("--since", "since"),
        )
            .into_response();
    }
    let me = export_identity(&console).await;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let streaming = console.clone();
    tokio::spawn(async move {
        let done = crate::cli::export::stream::export_to_channel(
            &streaming.client,
            &filter,
            format,
            &me,
            sender,
        )
        .await;
        if let Err(e) = done {
            tracing::warn!(error = %e, "console export ended early");
        }
    });
    let body = Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(receiver)
            .map(|chunk| Ok::<_, Infallible>(Bytes::from(chunk))),
    );
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"liaison-export.{extension}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Who names an export (its bundle / event id). An analyst certificate may not
/// read the node's identity: the export is then named after the console's
/// holder instead.
pub(super) async fn export_identity(console: &Console) -> proto::IdentityInfo {
    match console
        .client
        .admin()
        .show_identity(proto::ShowIdentityRequest {})
        .await
    {
        Ok(me) => me.into_inner(),
        Err(_) => proto::IdentityInfo {
            name: console.who.clone(),
            ..Default::default()
        },
    }
}

pub async fn partners_handler(State(console): State<Arc<Console>>) -> Response {
    let answer = console
        .client
        .admin()
        .list_partners(proto::ListPartnersRequest {})
        .await;
    let (code, answer) = match answer {
        Ok(list) => (StatusCode::OK, Ok(list.into_inner())),
        Err(status) => (
            match status.code() {
                tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
                    StatusCode::FORBIDDEN
                }
                _ => StatusCode::BAD_GATEWAY,
            },
            Err(status_error(status).to_string()),
        ),
    };
    (
        code,
        Html(partners::partners_page(&console.who, answer).into_string()),
    )
        .into_response()
}

pub async fn audit_handler(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let filters = audit::Filters {
        action: fields.get("action").trim().to_string(),
        actor: fields.get("actor").trim().to_string(),
        since: fields.get("since").trim().to_string(),
        size: size(&fields, AUDIT_PAGE),
        page: fields.get("page").parse().unwrap_or(0),
    };
    let Some(dir) = console.dir.clone() else {
        let message = "The audit trail is read from the node's directory, as `liaison audit` reads it: \
                       start the console with --dir NODE_DIR (the node's admin certificate) to see it.";
        let page = audit::audit_page(&console.who, &filters, Err(message.to_string()));
        return (StatusCode::FORBIDDEN, Html(page.into_string())).into_response();
    };
    let wanted = filters.clone();
    // The log is a file read front to back: off the async threads.
    let found = tokio::task::spawn_blocking(move || read_audit(&dir, &wanted))
        .await
        .unwrap_or_else(|e| Err(format!("reading the audit log failed: {e}")));
    Html(audit::audit_page(&console.who, &filters, found).into_string()).into_response()
}

fn read_audit(
    dir: &liaison_identity::identity::NodeDir,
    filters: &audit::Filters,
) -> Result<audit::Found, String> {
    let given = |s: &String| (!s.is_empty()).then(|| s.clone());
    let filter = crate::cli::audit::EntryFilter {
        since: given(&filters.since),
        until: None,
        actor: given(&filters.actor),
        partner: None,
        action: given(&filters.action),
    }
    .resolve(dir)
    .map_err(|e| e.to_string().replace("--since", "since"))?;
    let verified = crate::cli::audit::verify_lines(dir, None, None).map_err(|e| format!("{e:#}"));
    let entries = liaison_store::audit::query::select(&dir.audit_log(), &filter)
        .map(|all| {
            let total = all.len();
            let page: Vec<_> = all
                .into_iter()
                .rev()
                .skip(filters.page.saturating_mul(filters.size))
                .take(filters.size)
                .collect();
            (page, total)
        })
        .map_err(|e| e.to_string());
    Ok(audit::Found { verified, entries })
}
