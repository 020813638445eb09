//! TAXII 2.1 read side: discovery, the one API root, its collections (one per
//! TLP level plus one with everything), and the routing of the object
//! endpoints ([`super::taxii_objects`]). Owns the media types, the `Accept`
//! check and the collection ids; must never answer a request before
//! [`super::reader`] admitted its caller.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::errors::{HttpError, TAXII_MEDIA};
use super::page::Scope;
use super::taxii_objects;
use liaison_core::record::Tlp;
use liaison_node::node::Node;

/// The API root's path; the only one.
pub const API_ROOT: &str = "/taxii2/api/";
/// The media type of the objects collections hold.
pub const STIX_MEDIA: &str = "application/stix+json;version=2.1";
/// Largest response body a client should expect (a full page, generously).
const MAX_CONTENT_LENGTH: u64 = 64 * 1024 * 1024;

pub fn router() -> Router<Arc<Node>> {
    let c = "/taxii2/api/collections/{collection}";
    Router::new()
        .route("/taxii2/", get(discovery))
        .route(API_ROOT, get(api_root))
        .route("/taxii2/api/collections/", get(collections))
        .route(&format!("{c}/"), get(collection))
        .route(&format!("{c}/objects/"), get(taxii_objects::objects))
        .route(
            &format!("{c}/objects/{{object}}/"),
            get(taxii_objects::object),
        )
        .route(
            &format!("{c}/objects/{{object}}/versions/"),
            get(taxii_objects::versions),
        )
        .route(&format!("{c}/manifest/"), get(taxii_objects::manifest))
        .route("/taxii2/{*rest}", get(unknown))
}

/// A collection: which indicators it holds.
#[derive(Debug, Clone)]
pub struct Collection {
    pub id: String,
    pub scope: Scope,
}

impl Collection {
    fn all() -> Vec<Collection> {
        let mut all = vec![Collection::new(Scope::All)];
        all.extend(Tlp::ALL.iter().map(|t| Collection::new(Scope::Tlp(*t))));
        all
    }

    fn new(scope: Scope) -> Collection {
        let name = match scope {
            Scope::All => "all".to_string(),
            Scope::Tlp(tlp) => tlp.as_str().to_string(),
        };
        let id =
            liaison_core::formats::stable_uuid("taxii-collection", name.as_bytes()).to_string();
        Collection { id, scope }
    }

    /// The collection with this id, or 404.
    pub fn find(id: &str) -> Result<Collection, HttpError> {
        Collection::all()
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| {
                HttpError::not_found(format!(
                    "collection: no collection {} on this API root",
                    liaison_core::untrusted::quote(id)
                ))
            })
    }

    fn resource(&self) -> Value {
        let (title, description) = match self.scope {
            Scope::All => (
                "All indicators".to_string(),
                "Every indicator this node holds, its agency's and its partners', at every TLP level."
                    .to_string(),
            ),
            Scope::Tlp(tlp) => (
                format!("TLP:{tlp}"),
                format!("The indicators marked TLP:{tlp} this node holds."),
            ),
        };
        json!({
            "id": self.id,
            "title": title,
            "description": description,
            "can_read": true,
            "can_write": false,
            "media_types": [STIX_MEDIA],
        })
    }
}

/// The TAXII `Accept` check: a TAXII 2.1 (or any JSON) media type, else 406.
pub fn check_accept(headers: &HeaderMap) -> Result<(), HttpError> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    let text = accept
        .to_str()
        .map_err(|_| HttpError::not_acceptable("(not text)"))?;
    match text.split(',').any(acceptable) {
        true => Ok(()),
        false => Err(HttpError::not_acceptable(text)),
    }
}

fn acceptable(range: &str) -> bool {
    let mut parts = range.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default().to_ascii_lowercase();
    match media.as_str() {
        "*/*" | "application/*" | "application/json" => true,
        "application/taxii+json" => parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("version") => v.trim() == "2.1",
            _ => true,
        }),
        _ => false,
    }
}

/// A TAXII JSON response with the TAXII media type.
pub fn taxii_response(body: &Value) -> Response {
    let mut response = body.to_string().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA));
    response
}

/// Admits the caller and checks `Accept`: every TAXII handler starts here.
pub fn admit(
    node: &Node,
    request: &Request,
) -> Result<liaison_identity::tls::Principal, HttpError> {
    let who = super::reader(node, request.extensions())?;
    check_accept(request.headers())?;
    Ok(who)
}

async fn discovery(State(node): State<Arc<Node>>, request: Request) -> Result<Response, HttpError> {
    admit(&node, &request)?;
    let root = match host(&request) {
        Some(host) => format!("https://{host}{API_ROOT}"),
        None => API_ROOT.to_string(),
    };
    Ok(taxii_response(&json!({
        "title": format!("Liaison node of {}", node.identity.name),
        "description": "TAXII 2.1 read access to the indicators this node holds (client certificates of this agency only).",
        "default": root,
        "api_roots": [root],
    })))
}

/// The host the client addressed (HTTP/2 authority or Host header), when it
/// is a plain host\[:port\]; echoed back only to that client.
fn host(request: &Request) -> Option<String> {
    let host = request
        .uri()
        .authority()
        .map(|a| a.to_string())
        .or_else(|| {
            let value = request.headers().get(header::HOST)?;
            value.to_str().ok().map(str::to_string)
        })?;
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    (plain && !host.is_empty() && host.len() <= 255).then_some(host)
}

async fn api_root(State(node): State<Arc<Node>>, request: Request) -> Result<Response, HttpError> {
    admit(&node, &request)?;
    Ok(taxii_response(&json!({
        "title": format!("Liaison: {}", node.identity.name),
        "description": "Indicators held by this node, one collection per TLP level and one with all.",
        "versions": [TAXII_MEDIA],
        "max_content_length": MAX_CONTENT_LENGTH,
    })))
}

async fn collections(
    State(node): State<Arc<Node>>,
    request: Request,
) -> Result<Response, HttpError> {
    admit(&node, &request)?;
    // Analysts and admins of this agency read everything the node holds (as
    // the Analyst List call does), so both roles see every collection.
    let collections: Vec<Value> = Collection::all().iter().map(Collection::resource).collect();
    Ok(taxii_response(&json!({ "collections": collections })))
}

async fn collection(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, HttpError> {
    admit(&node, &request)?;
    Ok(taxii_response(&Collection::find(&id)?.resource()))
}

async fn unknown(State(node): State<Arc<Node>>, request: Request) -> Result<Response, HttpError> {
    admit(&node, &request)?;
    Err(HttpError::not_found(format!(
        "path: {} is not a TAXII endpoint here",
        liaison_core::untrusted::quote(request.uri().path())
    )))
}
