//! Admission of new TCP connections before and during the TLS handshake: the
//! handshake pool shared per network (`sources::network`), the slots reserved
//! for expected addresses (`sources::Expected`), the cap on open connections,
//! and the count of connections closed at once. Pure bookkeeping with
//! semaphores and a small map: it must never wait for a slot or queue a
//! connection.
//!
//! Why idle strangers cannot lock everyone out (issue 20 item 7): a connection
//! must send its whole ClientHello within `client_hello_timeout_ms` (`accept`),
//! so a silent one holds its slot about a second; one network holds at most
//! `max_handshakes_per_prefix` of the `max_handshakes` general slots; and
//! `reserved_handshakes` more are taken only by expected addresses (local
//! admin, partners' endpoints, recently authenticated), so a flood from
//! anywhere else, however many networks it has, never reaches them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::sources::{canonical, network, Expected};
use liaison_node::limits::LimitsConfig;

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
/// and a handshake slot until its handshake ends.
pub(super) struct Admitted {
    pub(super) connection: OwnedSemaphorePermit,
    pub(super) handshake: HandshakeSlot,
}

/// Who shares a bound: a network in the general pool, one exact address in
/// the reserved one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Share {
    Network(IpAddr),
    Reserved(IpAddr),
}

struct Inner {
    connections: Arc<Semaphore>,
    general: Arc<Semaphore>,
    reserved: Arc<Semaphore>,
    in_flight: Mutex<HashMap<Share, usize>>,
    share_max: usize,
    expected: Mutex<Expected>,
    hello_timeout: Duration,
    handshake_timeout: Duration,
}

/// The admission state, shared by the accept loop, the handshake tasks and
/// the partner-endpoint refresher.
#[derive(Clone)]
pub(super) struct Gate {
    inner: Arc<Inner>,
}

impl Gate {
    pub(super) fn new(limits: &LimitsConfig) -> Gate {
        Gate {
            inner: Arc::new(Inner {
                connections: Arc::new(Semaphore::new(limits.max_connections)),
                general: Arc::new(Semaphore::new(limits.max_handshakes)),
                reserved: Arc::new(Semaphore::new(limits.reserved_handshakes)),
                in_flight: Mutex::new(HashMap::new()),
                share_max: limits.max_handshakes_per_prefix,
                expected: Mutex::new(Expected::default()),
                hello_timeout: limits.client_hello_timeout(),
                handshake_timeout: limits.handshake_timeout(),
            }),
        }
    }

    pub(super) fn hello_timeout(&self) -> Duration {
        self.inner.hello_timeout
    }

    pub(super) fn handshake_timeout(&self) -> Duration {
        self.inner.handshake_timeout
    }

    fn expected(&self) -> std::sync::MutexGuard<'_, Expected> {
        self.inner
            .expected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The enrolled partners' endpoint addresses, as last resolved.
    pub(super) fn set_partner_endpoints(&self, endpoints: std::collections::HashSet<IpAddr>) {
        self.expected().set_endpoints(endpoints);
    }

    /// `ip` completed a handshake (its client certificate was accepted).
    pub(super) fn authenticated(&self, ip: IpAddr) {
        self.expected().remember(ip, Instant::now());
    }

    /// Takes the slots for a new connection from `ip`, or names the bound hit.
    /// An expected address takes a reserved slot first, then a general one.
    pub(super) fn admit(&self, ip: IpAddr) -> std::result::Result<Admitted, &'static str> {
        let ip = canonical(ip);
        let connection = self
            .inner
            .connections
            .clone()
            .try_acquire_owned()
            .map_err(|_| "max_connections")?;
        let expected = self.expected().expects(ip, Instant::now());
        if expected {
            if let Ok(handshake) = self.take(&self.inner.reserved, Share::Reserved(ip)) {
                return Ok(Admitted {
                    connection,
                    handshake,
                });
            }
        }
        let handshake = self
            .take(&self.inner.general, Share::Network(network(ip)))
            .map_err(|bound| match bound {
                "pool" => "max_handshakes",
                other => other,
            })?;
        Ok(Admitted {
            connection,
            handshake,
        })
    }

    fn take(
        &self,
        pool: &Arc<Semaphore>,
        share: Share,
    ) -> std::result::Result<HandshakeSlot, &'static str> {
        let permit = pool.clone().try_acquire_owned().map_err(|_| "pool")?;
        let mut in_flight = self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let count = in_flight.entry(share).or_insert(0);
        if *count >= self.inner.share_max {
            return Err("max_handshakes_per_prefix");
        }
        *count += 1;
        Ok(HandshakeSlot {
            _permit: permit,
            share,
            gate: self.inner.clone(),
        })
    }
}

/// A handshake in flight; gives its slots back when dropped.
pub(super) struct HandshakeSlot {
    _permit: OwnedSemaphorePermit,
    share: Share,
    gate: Arc<Inner>,
}

impl HandshakeSlot {
    /// Whether it holds one of the reserved slots.
    #[cfg(test)]
    fn reserved(&self) -> bool {
        matches!(self.share, Share::Reserved(_))
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut in_flight = self
            .gate
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = in_flight.get_mut(&self.share) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Only shares with a handshake in flight keep an entry.
                in_flight.remove(&self.share);
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

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn in_flight(gate: &Gate) -> usize {
        gate.inner.in_flight.lock().unwrap().len()
    }

    #[test]
    fn the_gate_bounds_handshakes_per_network_overall_and_connections() {
        let gate = Gate::new(&LimitsConfig {
            max_handshakes_per_prefix: 2,
            max_handshakes: 3,
            reserved_handshakes: 1,
            max_connections: 4,
            ..LimitsConfig::default()
        });
        let first = gate
            .admit(ip("192.0.2.1"))
            .expect("first from 192.0.2.0/24");
        // Another address in the same /24 shares its bound.
        let second = gate.admit(ip("192.0.2.99")).expect("second from the /24");
        assert_eq!(
            gate.admit(ip("192.0.2.200")).err(),
            Some("max_handshakes_per_prefix")
        );
        let third = gate.admit(ip("198.51.100.1")).expect("another network");
        assert_eq!(gate.admit(ip("203.0.113.1")).err(), Some("max_handshakes"));

        // A finished handshake frees its slots; the connection slot stays taken.
        let Admitted {
            connection: open,
            handshake,
        } = first;
        drop(handshake);
        let fourth = gate
            .admit(ip("192.0.2.1"))
            .expect("a slot for the /24 again");
        assert_eq!(gate.admit(ip("203.0.113.1")).err(), Some("max_connections"));
        drop((open, second, third, fourth));
        assert_eq!(in_flight(&gate), 0, "no entry outlives its handshakes");
        gate.admit(ip("203.0.113.1"))
            .expect("everything was given back");
    }

    #[test]
    fn a_flood_from_many_networks_leaves_the_reserved_slots_to_expected_addresses() {
        let gate = Gate::new(&LimitsConfig {
            max_handshakes_per_prefix: 2,
            max_handshakes: 4,
            reserved_handshakes: 3,
            ..LimitsConfig::default()
        });
        // Strangers from many IPv6 /64s fill the general pool, and no more.
        let mut flood = Vec::new();
        for n in 0..64u16 {
            if let Ok(admitted) = gate.admit(IpAddr::from([0x2001, 0xdb8, n, 0, 0, 0, 0, 1])) {
                flood.push(admitted);
            }
        }
        assert_eq!(flood.len(), 4);
        assert!(flood.iter().all(|a| !a.handshake.reserved()));
        // Other loopback addresses are strangers, sharing the loopback network.
        assert_eq!(gate.admit(ip("127.0.0.2")).err(), Some("max_handshakes"));

        // The local admin, a partner's endpoint and an address that once
        // authenticated still get in, each on a reserved slot.
        gate.set_partner_endpoints([ip("192.0.2.10")].into());
        gate.authenticated(ip("198.51.100.7"));
        let admin = gate.admit(ip("127.0.0.1")).expect("local admin");
        let partner = gate
            .admit(ip("::ffff:192.0.2.10"))
            .expect("partner endpoint");
        let analyst = gate
            .admit(ip("198.51.100.7"))
            .expect("authenticated before");
        assert!([&admin, &partner, &analyst]
            .iter()
            .all(|a| a.handshake.reserved()));
        // The reserved pool is bounded too.
        assert_eq!(gate.admit(ip("::1")).err(), Some("max_handshakes"));
        drop(admin);
        gate.admit(ip("::1")).expect("a reserved slot again");
    }

    #[test]
    fn one_expected_address_cannot_take_every_reserved_slot() {
        let gate = Gate::new(&LimitsConfig {
            max_handshakes_per_prefix: 2,
            max_handshakes: 2,
            reserved_handshakes: 4,
            ..LimitsConfig::default()
        });
        let held: Vec<_> = (0..4).map(|_| gate.admit(ip("127.0.0.1"))).collect();
        // Two reserved, then two general (the loopback network's share).
        assert_eq!(
            held.iter()
                .map(|a| a.as_ref().unwrap().handshake.reserved())
                .collect::<Vec<_>>(),
            [true, true, false, false]
        );
        assert!(gate.admit(ip("127.0.0.1")).is_err());
        gate.set_partner_endpoints([ip("192.0.2.10")].into());
        let partner = gate
            .admit(ip("192.0.2.10"))
            .expect("a partner still gets in");
        assert!(partner.handshake.reserved());
    }
}
