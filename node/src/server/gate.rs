//! Admission of new TCP connections before and during the TLS handshake: the
//! bounded handshake pool (overall and per source address), the cap on open
//! connections, and the count of connections closed at once. Pure bookkeeping
//! with semaphores and a small map: it must never wait for a slot or queue a
//! connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::limits::LimitsConfig;

/// Least time between two warnings about refused connections.
const REFUSAL_WARN_EVERY: Duration = Duration::from_secs(60);

/// Counts connections closed at once and warns about them now and then.
#[derive(Default)]
pub(super) struct Refusals {
    total: u64,
    since_warning: u64,
    warned: Option<std::time::Instant>,
}

impl Refusals {
    pub(super) fn count(&mut self, bound: &'static str) {
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
pub(super) struct Admitted {
    pub(super) connection: OwnedSemaphorePermit,
    pub(super) handshake: HandshakeSlot,
}

pub(super) struct Gate {
    connections: Arc<Semaphore>,
    handshakes: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_ip_max: usize,
    pub(super) handshake_timeout: Duration,
}

impl Gate {
    pub(super) fn new(limits: &LimitsConfig) -> Gate {
        Gate {
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            handshakes: Arc::new(Semaphore::new(limits.max_handshakes)),
            per_ip: Arc::new(Mutex::new(HashMap::new())),
            per_ip_max: limits.max_handshakes_per_ip,
            handshake_timeout: limits.handshake_timeout(),
        }
    }

    /// Takes the slots for a new connection from `ip`, or names the bound hit.
    pub(super) fn admit(&self, ip: IpAddr) -> std::result::Result<Admitted, &'static str> {
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
pub(super) struct HandshakeSlot {
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
    pub(super) inner: TcpStream,
    pub(super) _permit: OwnedSemaphorePermit,
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
