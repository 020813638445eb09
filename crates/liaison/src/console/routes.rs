//! The console's HTTP surface: the token exchange, the session and CSRF checks
//! and the security headers on every response (one middleware), and one
//! handler per page. Every page that reads or writes records is the analyst's
//! own gRPC call to the node, with the console's client certificate: the node
//! enforces policy and audits exactly as for the CLI.
//!
//! This module must never hold records, cache answers or decide what the
//! analyst may see or do; that is the node's.

use std::str::FromStr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::form::Fields;
use super::view::publish;
use super::Console;
use crate::cli::status::status_error;
use liaison_core::indicator::Kind;
use liaison_core::proto;

/// The stylesheet and script, compiled into the binary (no CDN, no build step).
const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
/// Largest form body accepted (a publish form is a few KB).
const MAX_FORM_BYTES: usize = 256 * 1024;
use super::import::UPLOAD_BODY_LIMIT;

/// Only this origin's own files; no inline script or style, no framing, forms
/// post only here.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The CSRF token of the request's session, for handlers that render forms.
#[derive(Clone)]
pub(super) struct Csrf(pub(super) String);

pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(start))
        .route("/search", get(super::search_stream::search_handler))
        .route("/record/{id}", get(super::actions::record_handler))
        .route("/record/{id}/sight", post(super::actions::sight_handler))
        .route("/record/{id}/revoke", post(super::actions::revoke_handler))
        .route("/record/{id}/stix", get(super::actions::stix_handler))
        .route("/publish", get(publish_form).post(publish_submit))
        .route(
            "/import",
            get(super::import::form_handler).post(super::import::submit_handler),
        )
        .route("/import/job", get(super::import::job_handler))
        .route("/import/job.json", get(super::import::progress_handler))
        .route("/import/rejects.csv", get(super::import::rejects_handler))
        .route("/records", get(super::pages::records_handler))
        .route("/records/export", get(super::pages::export_handler))
        .route("/bulletins", get(super::collab::bulletins_handler))
        .route(
            "/bulletins/new",
            get(super::collab::compose_form).post(super::collab::compose_submit),
        )
        .route("/bulletin/{id}", get(super::collab::bulletin_handler))
        .route("/lookup", get(super::collab::lookup_handler))
        .route("/partners", get(super::pages::partners_handler))
        .route("/audit", get(super::pages::audit_handler))
        .route("/audit/export", get(super::pages::audit_export_handler))
        .route("/audit/report", get(super::pages::audit_report_handler))
        .route(
            "/static/console.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }),
        )
        .route(
            "/static/console.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    JS,
                )
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page in the console\n") })
        .layer(axum::middleware::from_fn_with_state(console.clone(), guard))
        // Outermost: lets the guard's multipart reader take a whole upload
        // (the guard itself caps every body first).
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BODY_LIMIT))
        .with_state(console)
}

/// Every request passes here: the start token is let through to `/` only;
/// anything else needs the session cookie (401 without), and a POST needs the
/// session's CSRF token in its form (403 without). A POST body is capped
/// before it is read (413): a form at 256 KiB, a multipart upload at the
/// Import page's limit; an upload is read here into an [`Upload`](super::upload::Upload)
/// extension, so its CSRF token is checked before any handler sees the file.
/// Every response, refusals included, carries the security headers.
async fn guard(State(console): State<Arc<Console>>, request: Request, next: Next) -> Response {
    let mut response = admit(&console, request, next).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn admit(console: &Console, request: Request, next: Next) -> Response {
    let exchanging = request.uri().path() == "/"
        && !Fields::parse(request.uri().query().unwrap_or(""))
            .get("token")
            .is_empty();
    if exchanging {
        return next.run(request).await;
    }
    let cookies = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ");
    let csrf = match console.sessions.access(&cookies) {
        super::session::Access::Live(csrf) => csrf,
        super::session::Access::Expired => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "Your console session expired (it ends after a while without use, and after \
                 its maximum lifetime). Restart `liaison console` and open the new address it \
                 prints (a token works once).",
            )
        }
        super::session::Access::None => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "No console session. Open the address `liaison console` printed (with its token) in this browser; \
                 a token works once, so restart the console for a new one.",
            )
        }
    };
    let (mut parts, body) = request.into_parts();
    if parts.method == Method::POST {
        let upload = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let (limit, too_large) = match upload {
            true => (
                UPLOAD_BODY_LIMIT,
                format!(
                    "The file is larger than the console's upload limit ({} MiB). Nothing was \
                     imported; import it with `liaison import FILE`, which takes any size.",
                    super::import::UPLOAD_LIMIT / (1024 * 1024)
                ),
            ),
            false => (MAX_FORM_BYTES, "The form is too large.".to_string()),
        };
        let announced = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if announced.is_some_and(|n| n > limit) {
            return refused(StatusCode::PAYLOAD_TOO_LARGE, &too_large);
        }
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return refused(StatusCode::PAYLOAD_TOO_LARGE, &too_large);
        };
        let given = match upload {
            true => {
                let mut form = Request::new(Body::from(bytes.clone()));
                *form.headers_mut() = parts.headers.clone();
                *form.extensions_mut() = parts.extensions.clone();
                match super::upload::read_upload(form).await {
                    Ok(upload) => {
                        let fields = upload.fields.clone();
                        parts.extensions.insert(upload);
                        fields
                    }
                    Err(message) => return refused(StatusCode::BAD_REQUEST, &message),
                }
            }
            false => Fields::parse(&String::from_utf8_lossy(&bytes)),
        };
        if !super::session::same_secret(given.get("csrf"), &csrf) {
            return refused(
                StatusCode::FORBIDDEN,
                "This form has no valid CSRF token (it did not come from this console's own page). Nothing was done.",
            );
        }
        parts.extensions.insert(Csrf(csrf));
        let body = match upload {
            true => Body::empty(),
            false => Body::from(bytes),
        };
        return next.run(Request::from_parts(parts, body)).await;
    }
    parts.extensions.insert(Csrf(csrf));
    next.run(Request::from_parts(parts, body)).await
}

fn refused(status: StatusCode, message: &str) -> Response {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "Liaison console" } }
            body { h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) } p { (message) } } }
    };
    (status, Html(page.into_string())).into_response()
}

/// `/?token=…`: the one-time token becomes the session cookie, then the
/// search page (a redirect, so the token leaves the address bar and history).
async fn start(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let token = Fields::parse(query.as_deref().unwrap_or(""))
        .get("token")
        .to_string();
    let has_session = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| console.sessions.csrf_for(c))
        .is_some();
    if token.is_empty() && has_session {
        return Redirect::to("/search").into_response();
    }
    match console.sessions.redeem(&token) {
        Ok(session) => {
            let cookie = console.sessions.set_cookie(&session);
            let mut response = Redirect::to("/search").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(super::session::TokenRefusal::AlreadyUsed) if has_session => {
            Redirect::to("/search").into_response()
        }
        Err(super::session::TokenRefusal::AlreadyUsed) => refused(
            StatusCode::UNAUTHORIZED,
            "This token was already used (it works once). Restart `liaison console` for a new address.",
        ),
        Err(super::session::TokenRefusal::Wrong) => refused(
            StatusCode::UNAUTHORIZED,
            "Wrong token. Open the exact address `liaison console` printed.",
        ),
    }
}

/// The HTTP status a page shows for the node's refusal of the one thing it asked.
pub(super) fn http_status(status: &tonic::Status) -> StatusCode {
    match status.code() {
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => StatusCode::FORBIDDEN,
        tonic::Code::AlreadyExists | tonic::Code::FailedPrecondition => StatusCode::CONFLICT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn kind_of(fields: &Fields) -> Kind {
    Kind::from_str(fields.get("kind")).unwrap_or(Kind::Phone)
}

async fn publish_form(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
    RawQuery(query): RawQuery,
) -> Html<String> {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let kind = kind_of(&fields);
    Html(publish::publish_page(&console.who, &csrf, kind, &Fields::default(), None).into_string())
}

async fn publish_submit(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&String::from_utf8_lossy(&body));
    let kind = kind_of(&fields);
    // The node checks its warninglists before it signs, and a `strict` publish
    // of a listed value is refused with nothing stored: that is the check. So
    // the first submit is strict, and only the analyst's explicit second
    // submit ("publish anyway") is not.
    let asked_strict = fields.flag("strict");
    let strict = asked_strict || !fields.flag("anyway");
    match publish_call(&console, kind, &fields, strict).await {
        Ok(record_id) => Redirect::to(&format!("/record/{record_id}?published=1")).into_response(),
        Err(message) if !asked_strict && publish::warninglisted(&message) => {
            let page = publish::warning_page(&console.who, &csrf, kind, &fields, &message);
            Html(page.into_string()).into_response()
        }
        Err(message) => {
            let refusal = publish::Refusal::from_message(message);
            let page = publish::publish_page(&console.who, &csrf, kind, &fields, Some(&refusal));
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response()
        }
    }
}

/// The analyst's publish, as the CLI's `publish` builds it.
async fn publish_call(
    console: &Console,
    kind: Kind,
    fields: &Fields,
    strict: bool,
) -> Result<String, String> {
    let markings = Markings::read(console, fields).await?;
    let request = proto::PublishRequest {
        kind: i32::from(kind.code()),
        value: fields.get("value").to_string(),
        default_country: fields.get("country").trim().to_string(),
        labels: fields.all("labels"),
        tlp: markings.tlp,
        handling: markings.handling,
        handling_note: fields.get("handling_note").to_string(),
        evaluation: fields.get("evaluation").trim().to_string(),
        valid_days: markings.valid_days,
        description: fields.get("description").to_string(),
        case_reference: fields.get("case").to_string(),
        recipients: markings.recipients,
        supersedes: String::new(),
        valid_until_unix_ms: 0,
        strict,
        source: String::new(),
        first_seen_unix_ms: 0,
    };
    console
        .client
        .analyst()
        .publish(request)
        .await
        .map(|r| r.into_inner().record_id)
        .map_err(|status| status_error(status).to_string())
}

/// The markings a publish and a bulletin form share, read as the CLI reads
/// its flags (TLP, handling codes, days, recipients resolved to node ids); the
/// node checks what they mean.
pub(super) struct Markings {
    pub tlp: i32,
    pub handling: Vec<i32>,
    pub valid_days: u32,
    pub recipients: Vec<String>,
}

impl Markings {
    pub(super) async fn read(console: &Console, fields: &Fields) -> Result<Markings, String> {
        let handling = fields
            .all("handling")
            .iter()
            .map(|h| {
                liaison_core::record::HandlingCode::from_str(h)
                    .map(|code| liaison_core::record::handling_to_wire(code) as i32)
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tlp = liaison_core::record::Tlp::from_str(match fields.get("tlp") {
            "" => "green",
            t => t,
        })
        .map_err(|e| e.to_string())?;
        let valid_days = match fields.get("valid_days").trim() {
            "" => 0,
            days => days.parse::<u32>().map_err(|_| {
                format!(
                    "valid_days: {} is not a whole number of days",
                    liaison_core::untrusted::quote(days)
                )
            })?,
        };
        let recipients = split_list(fields.get("recipients"));
        let recipients = crate::cli::ids::resolve_all(&console.client, "recipients", &recipients)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Markings {
            tlp: liaison_core::record::tlp_to_wire(tlp) as i32,
            handling,
            valid_days,
            recipients,
        })
    }
}

/// A text box holding several items, separated by commas, spaces or lines.
pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\r', '\t'])
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.trim().to_string())
        .collect()
}
