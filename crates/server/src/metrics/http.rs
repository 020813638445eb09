//! The metrics endpoint: plain HTTP/1.1, `GET /metrics` answers the Prometheus
//! text format, anything else 404. No TLS and no authentication, which is why
//! the docs say to bind it to loopback or a monitoring network.
//!
//! Each connection is bounded (header read timeout, one task, dropped at
//! shutdown). This module must never expose records, names or anything a
//! scrape could use to learn what the node holds beyond the counts.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use liaison_node::node::{Node, Shutdown};

/// The text format's content type (version 0.0.4).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Longest a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the node's metrics on `listener` until `shutdown` fires. Writes the
/// bound address to DIR/metrics.addr (for tests and scripts using port 0).
pub async fn serve(node: Arc<Node>, listener: TcpListener, mut shutdown: Shutdown) {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let address_file = node.dir.root.join("metrics.addr");
    if let Err(e) = crate::server::write_address_file(&address_file, &address) {
        tracing::warn!(error = %e, file = %address_file.display(), "cannot write the metrics address file");
    }
    tracing::info!(%address, "metrics endpoint serving GET /metrics (plain HTTP: keep it on loopback or a monitoring network)");
    let registry = Arc::new(super::registry(Some(node)));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => break,
        };
        let registry = registry.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(registry.clone(), request));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = stop.wait() => {}
            }
        });
    }
    let _ = std::fs::remove_file(&address_file);
}

async fn answer(
    registry: Arc<prometheus_client::registry::Registry>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => {
            // Scrape-time figures read the store: keep them off the reactor.
            let text = tokio::task::spawn_blocking(move || super::render(&registry))
                .await
                .unwrap_or_default();
            Response::builder()
                .header("content-type", CONTENT_TYPE)
                .body(Full::new(Bytes::from(text)))
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"only GET /metrics here\n"))),
    };
    Ok(response.unwrap_or_default())
}
