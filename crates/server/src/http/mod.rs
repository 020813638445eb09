//! The node's HTTP side: TAXII 2.1 (`/taxii2/`) and a MISP feed
//! (`/misp-feed/`), so stock tools (OpenCTI, MISP, SIEMs) read what the node
//! holds with no custom code. Served on the node's own port, TLS acceptor and
//! client certificates, beside gRPC: the server merges these routes into
//! tonic's router, and HTTP/1.1 and HTTP/2 are both accepted.
//!
//! Only the agency's own analysts and admins (local-CA certificates) read here;
//! a partner node's certificate gets 403 (partners sync over gRPC), strangers
//! never get past the handshake. Every request is admitted against the caller's
//! rate limit, like every gRPC call, and every page served is audited.
//! This module must never write to the store, nor serve a record past the
//! durable change-log position (see [`page`]).

mod errors;
mod misp_feed;
mod misp_feed_bulletins;
mod misp_feed_cache;
mod page;
mod query;
mod taxii;
mod taxii_objects;
mod taxii_reports;

pub use errors::{HttpError, TAXII_MEDIA};

use std::sync::Arc;

use axum::http::Extensions;
use serde::{Deserialize, Serialize};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use liaison_identity::tls::{principal_of, PinSet, Principal};
use liaison_node::node::Node;

/// `[http]` settings: which standard endpoints the node serves (both always
/// behind client certificates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// TAXII 2.1 read side at `/taxii2/`.
    pub taxii: bool,
    /// MISP feed at `/misp-feed/`.
    pub misp_feed: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            taxii: true,
            misp_feed: true,
        }
    }
}

/// The HTTP routes the configuration enables (none: an empty router).
pub fn routes(node: Arc<Node>, config: &HttpConfig) -> axum::Router {
    let mut router = axum::Router::new();
    if config.taxii {
        router = router.merge(taxii::router());
    }
    if config.misp_feed {
        router = router.merge(misp_feed::router());
    }
    router.with_state(node)
}

/// The caller of an HTTP request, from the connection's client certificate:
/// one of this agency's analysts or admins, admitted against its rate limit.
pub(crate) fn reader(node: &Node, extensions: &Extensions) -> Result<Principal, HttpError> {
    let info = extensions
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .ok_or_else(|| HttpError::forbidden("no TLS client certificate on this connection"))?;
    let certs = info.peer_certs();
    let chain = certs.as_deref().map(|v| v.as_slice());
    let principal = principal_of(chain, &node.pins, node.local_ca.as_ref())
        .map_err(|e| HttpError::forbidden(e.to_string()))?;
    match &principal {
        Principal::Partner(_) => Err(HttpError::forbidden(
            "partner nodes sync over gRPC; TAXII and the MISP feed are for this agency's analysts and admins",
        )),
        Principal::Local { role, .. } => {
            let leaf = chain.and_then(|c| c.first()).map(|c| c.as_ref());
            let fingerprint = PinSet::pin_of(leaf.unwrap_or_default());
            node.limits.admit_client(*role, fingerprint)?;
            Ok(principal)
        }
    }
}

/// Runs store reads off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HttpError> + Send + 'static,
) -> Result<T, HttpError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(HttpError::internal)?
}

/// Writes one audit entry for a page served; a page that cannot be audited is
/// not served.
pub(crate) async fn audit_page(
    node: &Arc<Node>,
    who: &Principal,
    action: &'static str,
    detail: serde_json::Value,
) -> Result<(), HttpError> {
    node.audit(who.describe(), action, detail)
        .await
        .map_err(HttpError::internal)
}
