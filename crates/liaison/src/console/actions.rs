//! The record page and its actions: sight (`Analyst.Sight`, as `liaison
//! sight`), revoke (`Analyst.Revoke`, as `liaison revoke`, after a second form
//! step) and the record as a STIX 2.1 bundle (through `liaison export`'s own
//! verification and writer). Each is the analyst's own gRPC call; a POST is
//! answered with a 303 back to the record page, or with the page showing the
//! node's refusal in its own words.
//!
//! This module must never decide who may sight or revoke a record (the node
//! does), nor write a record to a file without verifying its signature.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;

use super::form::Fields;
use super::routes::{http_status, Csrf};
use super::view::{actions, record};
use super::Console;
use crate::cli::status::status_error;
use liaison_core::formats::Format;
use liaison_core::proto;

/// The record page's own address, once `id` is known to be a hex id (it goes
/// into a `Location` header).
fn record_path(id: &str) -> Option<String> {
    (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("/record/{id}"))
}

fn not_an_id(id: &str) -> Response {
    let message = format!(
        "record id: {} is not a hex record id",
        liaison_core::untrusted::quote(id)
    );
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The notice for `?done=…` after a redirect: fixed sentences, never the URL's text.
fn notice(fields: &Fields) -> Option<&'static str> {
    if fields.flag("published") {
        return Some("Published and signed.");
    }
    match fields.get("done") {
        "seen" => Some("Sighting recorded (seen)."),
        "false-positive" => Some("Sighting recorded (false positive)."),
        "expired" => Some("Sighting recorded (no longer in use)."),
        "revoked" => {
            Some("Revoked; the revocation travels to every partner that may hold the record.")
        }
        _ => None,
    }
}

async fn fetch(console: &Console, id: &str) -> Result<proto::RecordView, tonic::Status> {
    console
        .client
        .analyst()
        .get(proto::GetRequest {
            record_id: id.to_string(),
        })
        .await
        .map(|r| r.into_inner())
}

/// The record page, with a notice or the node's refusal of an action.
async fn show(
    console: &Console,
    csrf: &str,
    id: &str,
    code: StatusCode,
    outcome: record::Outcome<'_>,
) -> Response {
    match fetch(console, id).await {
        Ok(view) => (
            code,
            Html(record::record_page(&console.who, &view, outcome, csrf).into_string()),
        )
            .into_response(),
        Err(status) => {
            let code = http_status(&status);
            let message = match outcome.refusal {
                Some(refusal) => refusal.to_string(),
                None => status_error(status).to_string(),
            };
            let page = record::record_error(&console.who, id, &message);
            (code, Html(page.into_string())).into_response()
        }
    }
}

pub async fn record_handler(
    State(console): State<Arc<Console>>,
    Extension(Csrf(csrf)): Extension<Csrf>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let outcome = record::Outcome {
        notice: notice(&fields),
        refusal: None,
    };
    show(&console, &csrf, &id, StatusCode::OK, outcome).await
}

/// `POST /record/ID/sight` (`type` = seen | false-positive | expired, `note`).
pub async fn sight_handler(
    State(console): State<Arc<Console>>,
    Extension(Csrf(csrf)): Extension<Csrf>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(back) = record_path(&id) else {
        return not_an_id(&id);
    };
    let fields = Fields::parse(&String::from_utf8_lossy(&body));
    let kind = match fields.get("type") {
        "" => "seen",
        given => given,
    };
    let request = proto::SightRequest {
        record_id: id.clone(),
        note: fields.get("note").to_string(),
        r#type: kind.to_string(),
    };
    match console.client.analyst().sight(request).await {
        Ok(_) => {
            let done = match kind {
                "false-positive" | "expired" => kind,
                _ => "seen",
            };
            Redirect::to(&format!("{back}?done={done}")).into_response()
        }
        Err(status) => refused(&console, &csrf, &id, status).await,
    }
}

/// `POST /record/ID/revoke`: without `confirm=1` the confirmation page (the
/// reason and one explicit button); with it, the node's revocation.
pub async fn revoke_handler(
    State(console): State<Arc<Console>>,
    Extension(Csrf(csrf)): Extension<Csrf>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(back) = record_path(&id) else {
        return not_an_id(&id);
    };
    let fields = Fields::parse(&String::from_utf8_lossy(&body));
    if !fields.flag("confirm") {
        return match fetch(&console, &id).await {
            Ok(view) => Html(actions::revoke_confirm(&console.who, &csrf, &view).into_string())
                .into_response(),
            Err(status) => refused(&console, &csrf, &id, status).await,
        };
    }
    let request = proto::RevokeRequest {
        record_id: id.clone(),
        reason: fields.get("reason").to_string(),
    };
    match console.client.analyst().revoke(request).await {
        Ok(_) => Redirect::to(&format!("{back}?done=revoked")).into_response(),
        Err(status) => refused(&console, &csrf, &id, status).await,
    }
}

/// The record page with the node's refusal, in the node's words.
async fn refused(console: &Console, csrf: &str, id: &str, status: tonic::Status) -> Response {
    let code = http_status(&status);
    let message = status_error(status).to_string();
    let outcome = record::Outcome {
        notice: None,
        refusal: Some(&message),
    };
    show(console, csrf, id, code, outcome).await
}

/// `GET /record/ID/stix`: the record as a STIX 2.1 bundle file, written as
/// `liaison export --format stix` writes it.
pub async fn stix_handler(State(console): State<Arc<Console>>, Path(id): Path<String>) -> Response {
    let Some(_) = record_path(&id) else {
        return not_an_id(&id);
    };
    let view = match fetch(&console, &id).await {
        Ok(view) => view,
        Err(status) => {
            return (http_status(&status), status_error(status).to_string()).into_response()
        }
    };
    let me = super::pages::export_identity(&console).await;
    let bytes = match crate::cli::export::stream::one_record(&view, Format::Stix, &me) {
        Ok(bytes) => bytes,
        Err(e) => return (StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")).into_response(),
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/stix+json"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"liaison-record-{}.json\"",
        super::view::short(&view.record_id)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hex_id_goes_into_a_location() {
        assert_eq!(record_path("ab12").as_deref(), Some("/record/ab12"));
        assert!(record_path("ab\r\nSet-Cookie: x").is_none());
        assert!(record_path("//evil.example.org").is_none());
        assert!(record_path("").is_none());
    }

    #[test]
    fn a_notice_is_a_fixed_sentence() {
        assert!(notice(&Fields::parse("done=<script>")).is_none());
        assert!(notice(&Fields::parse("done=revoked")).is_some_and(|n| n.contains("Revoked")));
    }
}
