//! The listener: TLS handshakes in their own tasks (a slow client never blocks the
//! accept loop), the gRPC services on the accepted streams, sync tasks for every
//! partner, and a shutdown that reaches all of them and is bounded in time.
//!
//! [`run`] is the testable entry point: give it a bound listener and a shutdown
//! signal, like mini-redis's `server::run`.
//!
//! Work a stranger can cause before authenticating is bounded here: at most
//! `limits.max_handshakes` handshakes in flight (and `max_handshakes_per_prefix`
//! from one network), each sending its ClientHello within
//! `client_hello_timeout_ms` and done within `handshake_timeout_seconds`, and at
//! most `max_connections` open connections; `reserved_handshakes` more slots
//! are kept for expected addresses (local admin, partners). A connection over
//! any bound is closed at once, never queued (`gate`): the accept loop
//! (`accept`) must never wait for a slot.
//!
//! The same connections also carry HTTP/1.1 and HTTP/2 requests for the
//! standard endpoints ([`crate::http`]: TAXII 2.1, MISP feed), routed by path.

mod accept;
mod gate;
mod sources;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::Routes;
use tonic::transport::Server;

use liaison_identity::identity::NodeDir;
use liaison_node::error::{Error, Result};

use crate::config::NodeDirSetup;
use crate::http::HttpConfig;
use crate::service::{
    AdminService, AnalystService, FederationService, MAX_REQUEST_BYTES, MAX_SYNC_MESSAGE_BYTES,
};
use gate::Gate;
use liaison_core::proto::{
    admin_server::AdminServer, analyst_server::AnalystServer, federation_server::FederationServer,
};
use liaison_node::node::{Node, Shutdown};

const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_PENDING_CONNECTIONS: usize = 64;
/// Calls handled at once on one connection; more wait for a slot (HTTP/2 flow).
const CALLS_PER_CONNECTION: usize = 64;

/// Writes a bound address for scripts and tests that poll for it (port 0):
/// through a temporary file and a rename, so a reader sees either no file or the
/// whole address, never an empty or partial one.
pub(crate) fn write_address_file(path: &std::path::Path, address: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::write(&temporary, address)?;
    std::fs::rename(&temporary, path)
}

/// Opens the node in `dir` and serves on `listener` until `shutdown` fires; then
/// drains in-flight calls (bounded), lets the committer finish and flushes.
pub async fn run(dir: NodeDir, listener: TcpListener, shutdown: Shutdown) -> Result<()> {
    run_with_metrics(dir, listener, shutdown, None).await
}

/// [`run`], also serving Prometheus metrics on `metrics` when given.
pub async fn run_with_metrics(
    dir: NodeDir,
    listener: TcpListener,
    shutdown: Shutdown,
    metrics: Option<TcpListener>,
) -> Result<()> {
    crate::metrics::install_telemetry();
    let config = dir.load_config()?;
    let (node, committer) = Node::open(dir, config.node, shutdown.clone())?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Tls(e.to_string()))?;
    tracing::info!(
        name = %node.identity.name,
        node_id = %node.node_id(),
        fingerprint = %node.identity.fingerprint(),
        %address,
        records = node.store.record_count(),
        "node serving (TLS 1.3, client certificates required)"
    );
    node.set_bound_address(address.to_string());
    let address_file = node.dir.bound_address();
    write_address_file(&address_file, &address.to_string()).map_err(|e| {
        Error::InvalidRequest(format!("cannot write {}: {e}", address_file.display()))
    })?;
    let _ = node.audit.record(
        "node",
        "node.start",
        serde_json::json!({ "address": address.to_string() }),
    );
    for partner in node.partner_ids() {
        liaison_node::sync::start_puller(node.clone(), partner);
    }
    liaison_node::retention::start(node.clone(), node.config.purge_interval());
    liaison_node::lookup::ahead::start(node.clone());
    let metrics = metrics.map(|listener| {
        tokio::spawn(crate::metrics::serve(
            node.clone(),
            listener,
            shutdown.clone(),
        ))
    });
    liaison_node::accountability::heads::start(node.clone());
    serve(node.clone(), config.http, listener, shutdown).await?;
    if let Some(metrics) = metrics {
        // It ends on the same shutdown; its scrape collector holds the node.
        let _ = metrics.await;
    }
    // A signed checkpoint over everything logged up to the shutdown.
    let _ = node.audit.record(
        "node",
        "node.stop",
        serde_json::json!({ "address": address.to_string() }),
    );
    if let Err(e) = node.audit.seal() {
        tracing::error!(error = %e, "audit log not sealed at shutdown");
    }
    let store = node.store.clone();
    drop(node);
    // The committer stops once every handle is gone; wait (bounded) so queued
    // writes land, then flush whatever remains.
    if tokio::time::timeout(DRAIN_TIMEOUT, committer)
        .await
        .is_err()
    {
        tracing::warn!("committer still busy at shutdown; flushing what is written");
    }
    store.flush().await?;
    let _ = std::fs::remove_file(&address_file);
    tracing::info!("node stopped; database flushed");
    Ok(())
}

async fn serve(
    node: Arc<Node>,
    http: HttpConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<()> {
    let tls = liaison_identity::tls::server_config_live(
        &node.live_tls,
        &node.identity.ca_cert_der,
        node.pins.clone(),
    )?;
    let (tx, rx) = mpsc::channel(MAX_PENDING_CONNECTIONS);
    let gate = Gate::new(&node.config.limits);
    tokio::spawn(accept::watch_partner_endpoints(
        node.clone(),
        gate.clone(),
        shutdown.clone(),
    ));
    let accept_loop = tokio::spawn(accept::accept_connections(
        listener,
        Arc::new(tls),
        gate,
        tx,
        shutdown.clone(),
    ));

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AnalystServer<AnalystService>>().await;
    health
        .set_serving::<FederationServer<FederationService>>()
        .await;
    tokio::spawn(not_serving_after_failure(
        node.commits.failure(),
        health.clone(),
    ));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(liaison_core::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::Tls(format!("reflection setup: {e}")))?;
    let grpc = Routes::new(health_service)
        .add_service(reflection)
        .add_service(
            AnalystServer::new(AnalystService::new(node.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            AdminServer::new(AdminService::new(node.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            FederationServer::new(FederationService::new(node.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_SYNC_MESSAGE_BYTES),
        );
    // TAXII and the MISP feed (crate::http) share the port, TLS and limits;
    // their paths never collide with gRPC's `/package.Service/Method`.
    let routes = Routes::from(
        grpc.into_axum_router()
            .merge(crate::http::routes(node.clone(), &http)),
    )
    .prepare();
    let router = Server::builder()
        .tcp_nodelay(true)
        .accept_http1(true)
        .max_concurrent_streams(Some(node.config.limits.max_concurrent_streams))
        .concurrency_limit_per_connection(CALLS_PER_CONNECTION)
        .http2_keepalive_interval(Some(Duration::from_secs(20)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(crate::metrics::RpcMetricsLayer)
        .add_routes(routes);
    let mut stop = shutdown.clone();
    let server = router
        .serve_with_incoming_shutdown(ReceiverStream::new(rx), async move { stop.wait().await });
    tokio::pin!(server);
    let mut signalled = shutdown.clone();
    tokio::select! {
        result = &mut server => result.map_err(|e| Error::Tls(e.to_string()))?,
        _ = signalled.wait() => {
            if tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await.is_err() {
                tracing::warn!("in-flight calls did not finish within {DRAIN_TIMEOUT:?}; closing them");
            }
        }
    }
    accept_loop.abort();
    Ok(())
}

/// After a failed flush the node must not look healthy: every service, and the
/// server as a whole (""), goes NOT_SERVING. The committer logs the cause once.
async fn not_serving_after_failure(
    mut failure: tokio::sync::watch::Receiver<Option<String>>,
    health: tonic_health::server::HealthReporter,
) {
    if failure.wait_for(|f| f.is_some()).await.is_err() {
        return;
    }
    use tonic_health::ServingStatus::NotServing;
    health.set_service_status("", NotServing).await;
    health
        .set_not_serving::<AnalystServer<AnalystService>>()
        .await;
    health.set_not_serving::<AdminServer<AdminService>>().await;
    health
        .set_not_serving::<FederationServer<FederationService>>()
        .await;
}

#[cfg(test)]
mod tests {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_server::Health;
    use tonic_health::pb::HealthCheckRequest;

    use super::*;

    async fn status(service: &impl Health, name: &str) -> i32 {
        let request = tonic::Request::new(HealthCheckRequest {
            service: name.to_string(),
        });
        service.check(request).await.unwrap().into_inner().status
    }

    #[tokio::test]
    async fn a_flush_failure_turns_every_service_not_serving() {
        let health = tonic_health::server::HealthReporter::new();
        let service = tonic_health::server::HealthService::from_health_reporter(health.clone());
        health.set_serving::<AnalystServer<AnalystService>>().await;
        health
            .set_serving::<FederationServer<FederationService>>()
            .await;
        let (fail, failure) = tokio::sync::watch::channel(None);
        let watcher = tokio::spawn(not_serving_after_failure(failure, health));
        let federation = "liaison.v1.Federation";
        assert_eq!(
            status(&service, federation).await,
            ServingStatus::Serving as i32
        );
        fail.send_replace(Some("injected flush failure".into()));
        watcher.await.unwrap();
        for name in ["", "liaison.v1.Analyst", "liaison.v1.Admin", federation] {
            assert_eq!(
                status(&service, name).await,
                ServingStatus::NotServing as i32,
                "{name:?}"
            );
        }
    }
}
