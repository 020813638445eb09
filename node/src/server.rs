//! The listener: TLS handshakes in their own tasks (a slow client never blocks the
//! accept loop), the gRPC services on the accepted streams, sync tasks for every
//! partner, and a shutdown that reaches all of them and is bounded in time.
//!
//! [`run`] is the testable entry point: give it a bound listener and a shutdown
//! signal, like mini-redis's `server::run`.
//!
//! Work a stranger can cause before authenticating is bounded here: at most
//! `limits.max_handshakes` handshakes in flight (and `max_handshakes_per_ip` from
//! one address), each for at most `handshake_timeout_seconds`, and at most
//! `max_connections` open connections. A connection over any bound is closed at
//! once, never queued. This module must never wait for a slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::Server;

use crate::error::{Error, Result};
use crate::identity::NodeDir;
use crate::limits::LimitsConfig;
use crate::node::{Node, Shutdown};
use crate::proto::{
    admin_server::AdminServer, analyst_server::AnalystServer, federation_server::FederationServer,
};
use crate::service::{
    AdminService, AnalystService, FederationService, MAX_REQUEST_BYTES, MAX_SYNC_MESSAGE_BYTES,
};

const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_PENDING_CONNECTIONS: usize = 64;
/// Calls handled at once on one connection; more wait for a slot (HTTP/2 flow).
const CALLS_PER_CONNECTION: usize = 64;
/// Least time between two warnings about refused connections.
const REFUSAL_WARN_EVERY: Duration = Duration::from_secs(60);

/// Opens the node in `dir` and serves on `listener` until `shutdown` fires; then
/// drains in-flight calls (bounded), lets the committer finish and flushes.
pub async fn run(dir: NodeDir, listener: TcpListener, shutdown: Shutdown) -> Result<()> {
    let (node, committer) = Node::open(dir, shutdown.clone())?;
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
    std::fs::write(&address_file, address.to_string()).map_err(|e| {
        Error::InvalidRequest(format!("cannot write {}: {e}", address_file.display()))
    })?;
    let _ = node.audit.record(
        "node",
        "node.start",
        serde_json::json!({ "address": address.to_string() }),
    );
    for partner in node.partner_ids() {
        crate::sync::start_puller(node.clone(), partner);
    }
    crate::retention::start(node.clone(), node.config.purge_interval());
    serve(node.clone(), listener, shutdown).await?;
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

async fn serve(node: Arc<Node>, listener: TcpListener, shutdown: Shutdown) -> Result<()> {
    let identity = &node.identity;
    let tls = crate::tls::server_config(
        &identity.tls_cert_der,
        &identity.tls_key_der,
        &identity.ca_cert_der,
        node.pins.clone(),
    )?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let (tx, rx) = mpsc::channel(MAX_PENDING_CONNECTIONS);
    let gate = Gate::new(&node.config.limits);
    let accept_loop = tokio::spawn(accept_connections(
        listener,
        acceptor,
        gate,
        tx,
        shutdown.clone(),
    ));

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AnalystServer<AnalystService>>().await;
    health
        .set_serving::<FederationServer<FederationService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::Tls(format!("reflection setup: {e}")))?;
    let router = Server::builder()
        .tcp_nodelay(true)
        .max_concurrent_streams(Some(node.config.limits.max_concurrent_streams))
        .concurrency_limit_per_connection(CALLS_PER_CONNECTION)
        .http2_keepalive_interval(Some(Duration::from_secs(20)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .add_service(health_service)
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

type Accepted = std::result::Result<TlsStream<Counted>, std::io::Error>;

async fn accept_connections(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    gate: Gate,
    tx: mpsc::Sender<Accepted>,
    mut shutdown: Shutdown,
) {
    let timeout = gate.handshake_timeout;
    let mut refusals = Refusals::default();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => return,
        };
        let admitted = match gate.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(bound) => {
                // Dropping the socket closes it now; nothing is queued.
                tracing::debug!(%peer, bound, "connection refused");
                refusals.count(bound);
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Admitted {
                connection,
                handshake,
            } = admitted;
            let stream = Counted {
                inner: tcp,
                _permit: connection,
            };
            let result = tokio::time::timeout(timeout, acceptor.accept(stream)).await;
            drop(handshake);
            match result {
                Ok(Ok(stream)) => {
                    let _ = tx.send(Ok(stream)).await;
                }
                Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// Counts connections closed at once and warns about them now and then.
#[derive(Default)]
struct Refusals {
    total: u64,
    since_warning: u64,
    warned: Option<std::time::Instant>,
}

impl Refusals {
    fn count(&mut self, bound: &'static str) {
        self.total += 1;
        self.since_warning += 1;
        let due = self
            .warned
            .is_none_or(|at| at.elapsed() >= REFUSAL_WARN_EVERY);
        if due {
            tracing::warn!(
                refused = self.since_warning,
                total = self.total,
                bound,
                "closing new connections at once: a connection limit is reached (see [limits] in config.toml)"
            );
            self.warned = Some(std::time::Instant::now());
            self.since_warning = 0;
        }
    }
}

/// The slots a connection holds: one of `max_connections` for its whole life,
/// and a handshake slot (global and per source address) until its handshake ends.
struct Admitted {
    connection: OwnedSemaphorePermit,
    handshake: HandshakeSlot,
}

struct Gate {
    connections: Arc<Semaphore>,
    handshakes: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_ip_max: usize,
    handshake_timeout: Duration,
}

impl Gate {
    fn new(limits: &LimitsConfig) -> Gate {
        Gate {
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            handshakes: Arc::new(Semaphore::new(limits.max_handshakes)),
            per_ip: Arc::new(Mutex::new(HashMap::new())),
            per_ip_max: limits.max_handshakes_per_ip,
            handshake_timeout: limits.handshake_timeout(),
        }
    }

    /// Takes the slots for a new connection from `ip`, or names the bound hit.
    fn admit(&self, ip: IpAddr) -> std::result::Result<Admitted, &'static str> {
        let connection = self
            .connections
            .clone()
            .try_acquire_owned()
            .map_err(|_| "max_connections")?;
        let global = self
            .handshakes
            .clone()
            .try_acquire_owned()
            .map_err(|_| "max_handshakes")?;
        {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
            let count = per_ip.entry(ip).or_insert(0);
            if *count >= self.per_ip_max {
                return Err("max_handshakes_per_ip");
            }
            *count += 1;
        }
        Ok(Admitted {
            connection,
            handshake: HandshakeSlot {
                _global: global,
                ip,
                per_ip: self.per_ip.clone(),
            },
        })
    }
}

/// A handshake in flight; gives its slots back when dropped.
struct HandshakeSlot {
    _global: OwnedSemaphorePermit,
    ip: IpAddr,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Only addresses with a handshake in flight keep an entry.
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream that holds its `max_connections` slot until the connection is
/// dropped. It keeps tonic's TCP connect info, so `Request::peer_certs()` still
/// sees the client certificate through the TLS layer.
pub struct Counted {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl Connected for Counted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.inner.connect_info()
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_bounds_handshakes_per_address_overall_and_connections() {
        let gate = Gate::new(&LimitsConfig {
            max_handshakes_per_ip: 2,
            max_handshakes: 3,
            max_connections: 4,
            ..LimitsConfig::default()
        });
        let ip = |n: u8| IpAddr::from([192, 0, 2, n]);
        let first = gate.admit(ip(1)).expect("first from .1");
        let second = gate.admit(ip(1)).expect("second from .1");
        assert_eq!(gate.admit(ip(1)).err(), Some("max_handshakes_per_ip"));
        let third = gate.admit(ip(2)).expect("first from .2");
        assert_eq!(gate.admit(ip(3)).err(), Some("max_handshakes"));

        // A finished handshake frees its slots; the connection slot stays taken.
        let Admitted {
            connection: open,
            handshake,
        } = first;
        drop(handshake);
        let fourth = gate.admit(ip(1)).expect("a slot for .1 again");
        assert_eq!(gate.admit(ip(3)).err(), Some("max_connections"));
        drop((open, second, third, fourth));
        assert!(
            gate.per_ip.lock().unwrap().is_empty(),
            "no entry outlives its handshakes"
        );
        gate.admit(ip(3)).expect("everything was given back");
    }
}
