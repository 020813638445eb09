//! The accept loop and each connection's TLS handshake, in its own task: the
//! whole ClientHello within `client_hello_timeout_ms`, the rest of the
//! handshake within `handshake_timeout_seconds`, the gate's slots held until
//! it ends. Also keeps the gate's view of the partners' endpoint addresses.
//!
//! It must never wait for a slot in the accept loop (`gate` answers at once),
//! nor resolve a name there (the refresher does, in its own task).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use super::gate::{Admitted, Counted, Gate, Refusals};
use liaison_node::node::{Node, Shutdown};

/// How often the partners' endpoint names are resolved again.
const ENDPOINT_REFRESH: Duration = Duration::from_secs(10);
/// Longest wait for one endpoint name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) type Accepted = std::result::Result<TlsStream<Counted>, std::io::Error>;

pub(super) async fn accept_connections(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    gate: Gate,
    tx: mpsc::Sender<Accepted>,
    mut shutdown: Shutdown,
) {
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
        let (tls, gate, tx) = (tls.clone(), gate.clone(), tx.clone());
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
            let started = Instant::now();
            let hello = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
            let start = match tokio::time::timeout(gate.hello_timeout(), hello).await {
                Ok(Ok(start)) => start,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    // Routine under a flood of idle connections: not logged at info.
                    tracing::debug!(%peer, "no TLS ClientHello in time; closed");
                    return;
                }
            };
            let rest = gate.handshake_timeout().saturating_sub(started.elapsed());
            let result = tokio::time::timeout(rest, start.into_stream(tls).into_fallible()).await;
            drop(handshake);
            match result {
                Ok(Ok(stream)) => {
                    // The handshake required a client certificate this node accepts.
                    gate.authenticated(peer.ip());
                    let _ = tx.send(Ok(stream)).await;
                }
                Ok(Err((e, stream))) => {
                    tracing::info!(%peer, error = %e, "TLS handshake refused");
                    close_after_alert(stream).await;
                }
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// Longest a refused connection is kept open for its alert to be read.
const ALERT_LINGER: Duration = Duration::from_secs(1);

/// Closes a refused connection so that the client reads our TLS alert (which
/// names the refusal: `certificate_revoked`, `unknown_ca` …). In TLS 1.3 the
/// client has finished its handshake before we check its certificate and is
/// already sending its first request; closing with that unread would make our
/// kernel reset the connection and the client lose the alert. So: FIN after
/// the alert, then read and discard until the client closes, bounded in time
/// and bytes (the connection keeps its `max_connections` slot meanwhile).
async fn close_after_alert(mut stream: Counted) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let drain = async {
        let mut scratch = [0u8; 4096];
        let mut left = 64 * 1024usize;
        while left > 0 {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(ALERT_LINGER, drain).await;
}

/// Keeps the gate's set of partner endpoint addresses current (enrollments,
/// removals, rotations, changed DNS) until shutdown.
pub(super) async fn watch_partner_endpoints(node: Arc<Node>, gate: Gate, mut shutdown: Shutdown) {
    loop {
        let endpoints: Vec<String> = node
            .partner_ids()
            .iter()
            .filter_map(|id| node.partner_entry(id))
            .flat_map(|entry| entry.endpoints)
            .collect();
        gate.set_partner_endpoints(resolve(&endpoints).await);
        tokio::select! {
            _ = tokio::time::sleep(ENDPOINT_REFRESH) => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// The addresses `host:port` endpoints stand for; a name that does not
/// resolve in time is skipped (its partner competes in the general pool).
async fn resolve(endpoints: &[String]) -> HashSet<IpAddr> {
    let mut addresses = HashSet::new();
    for endpoint in endpoints {
        if let Ok(socket) = endpoint.parse::<std::net::SocketAddr>() {
            addresses.insert(socket.ip());
            continue;
        }
        match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(endpoint.as_str()))
            .await
        {
            Ok(Ok(found)) => addresses.extend(found.map(|socket| socket.ip())),
            _ => tracing::debug!(%endpoint, "partner endpoint did not resolve"),
        }
    }
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literal_endpoints_resolve_without_a_lookup() {
        let found = resolve(&[
            "192.0.2.10:7400".to_string(),
            "[2001:db8::1]:7400".to_string(),
            "not an endpoint".to_string(),
        ])
        .await;
        let expected: HashSet<IpAddr> = ["192.0.2.10", "2001:db8::1"]
            .iter()
            .map(|ip| ip.parse().unwrap())
            .collect();
        assert_eq!(found, expected);
    }
}
