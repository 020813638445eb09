//! The handlers of the Records, Partners and Audit pages. Each is the
//! console certificate's own gRPC call (`Analyst.List`, `Admin.ListPartners`,
//! `Admin.ListAudit`, `Admin.AuditReport`), exactly as `liaison list`,
//! `export`, `partner list` make theirs; the audit calls answer with what
//! `liaison audit list`, `verify` and `report` print on the node's machine, so
//! the Audit page works with an admin client certificate (`--client`) as with
//! `--dir`.
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

fn audit_filters(fields: &Fields) -> audit::Filters {
    audit::Filters {
        action: fields.get("action").trim().to_string(),
        actor: fields.get("actor").trim().to_string(),
        partner: fields.get("partner").trim().to_string(),
        since: fields.get("since").trim().to_string(),
        until: fields.get("until").trim().to_string(),
        size: size(fields, AUDIT_PAGE),
        page: fields.get("page").parse().unwrap_or(0),
        before: fields.get("before").parse().unwrap_or(0),
    }
}

fn list_audit_request(filters: &audit::Filters) -> proto::ListAuditRequest {
    proto::ListAuditRequest {
        action: filters.action.clone(),
        actor: filters.actor.clone(),
        partner: filters.partner.clone(),
        since: filters.since.clone(),
        until: filters.until.clone(),
        limit: u32::try_from(filters.size).unwrap_or(u32::MAX),
        before_seq: filters.before,
        offset: u32::try_from(filters.page.saturating_mul(filters.size)).unwrap_or(u32::MAX),
        verify: false,
    }
}

/// The HTTP status for the node's refusal of an admin read.
fn refusal_code(status: &tonic::Status) -> StatusCode {
    match status.code() {
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => StatusCode::FORBIDDEN,
        tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// `/audit`: the node's `Admin.ListAudit`, as the console's own certificate
/// (an admin's; the node refuses an analyst's and the page shows why).
pub async fn audit_handler(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
) -> Response {
    let filters = audit_filters(&Fields::parse(query.as_deref().unwrap_or("")));
    let mut request = list_audit_request(&filters);
    request.verify = true;
    let (code, found) = match console.client.admin().list_audit(request).await {
        Ok(found) => (StatusCode::OK, Ok(found.into_inner())),
        Err(status) => (refusal_code(&status), Err(status_error(status).to_string())),
    };
    let page = audit::audit_page(&console.who, &filters, found);
    (code, Html(page.into_string())).into_response()
}

/// `/audit/export?…filters`: the filtered entries as CSV, oldest first, in the
/// columns of `liaison audit export --format csv` (the same writer).
pub async fn audit_export_handler(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut filters = audit_filters(&Fields::parse(query.as_deref().unwrap_or("")));
    filters.size = MOST_PER_PAGE;
    filters.page = 0;
    let mut entries = Vec::new();
    loop {
        let answer = console
            .client
            .admin()
            .list_audit(list_audit_request(&filters))
            .await;
        let page = match answer {
            Ok(page) => page.into_inner(),
            Err(status) => {
                return (refusal_code(&status), status_error(status).to_string()).into_response()
            }
        };
        let last = page.entries.len() < filters.size;
        // Newest first per page; each next page lies below the oldest seen.
        filters.before = page.entries.last().map_or(0, |e| e.seq);
        entries.extend(page.entries.into_iter().map(store_entry));
        if last || filters.before <= 1 {
            break;
        }
    }
    entries.reverse();
    let mut bytes = Vec::new();
    if let Err(e) = liaison_store::audit::query::write_csv(&entries, &mut bytes) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response();
    }
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"liaison-audit.csv\""),
    );
    response
}

/// An entry as the node sent it, back in the log's own shape for the CSV writer.
fn store_entry(e: proto::AuditEntry) -> liaison_store::audit::Entry {
    liaison_store::audit::Entry {
        seq: e.seq,
        time_ms: e.time_unix_ms,
        actor: e.actor,
        action: e.action,
        detail: serde_json::from_str(&e.detail_json)
            .unwrap_or(serde_json::Value::String(e.detail_json)),
        prev: e.prev,
        hash: e.hash,
    }
}

/// `/audit/report?partner=…&since=…`: the node's `Admin.AuditReport`.
pub async fn audit_report_handler(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let partner = fields.get("partner").trim().to_string();
    let since = fields.get("since").trim().to_string();
    if partner.is_empty() {
        let page = audit::report_page(
            &console.who,
            &partner,
            &since,
            Err("Give a partner: its node id or a unique prefix of it.".into()),
        );
        return Html(page.into_string()).into_response();
    }
    let answer = console
        .client
        .admin()
        .audit_report(proto::AuditReportRequest {
            partner: partner.clone(),
            since: since.clone(),
        })
        .await;
    let (code, found) = match answer {
        Ok(report) => (
            StatusCode::OK,
            serde_json::from_str(&report.into_inner().report_json)
                .map_err(|e| format!("the node's report did not read as JSON: {e}")),
        ),
        Err(status) => (refusal_code(&status), Err(status_error(status).to_string())),
    };
    let page = audit::report_page(&console.who, &partner, &since, found);
    (code, Html(page.into_string())).into_response()
}
