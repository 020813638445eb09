//! Where a new connection comes from, judged before it sends a byte: the
//! network it shares the handshake pool with (an IPv4 /24, an IPv6 /64, the
//! whole loopback /8), and whether its exact address is one the node expects
//! (reserved handshake slots).
//!
//! Expected addresses are ones a stranger cannot take cheaply: 127.0.0.1 and
//! ::1 (local admin use; packets from a loopback source never arrive from the
//! network), the enrolled partners' endpoints as resolved, and addresses that
//! recently completed a handshake, which needs a client certificate this node
//! accepts. An address is only ever as good as TCP's return-path check: a
//! stranger sharing it (NAT) shares its reservation; docs/THREAT_MODEL.md says
//! so. Pure bookkeeping: this module never resolves names nor does I/O.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// How long a completed handshake keeps its address expected.
const REMEMBER_FOR: Duration = Duration::from_secs(24 * 3600);
/// Most authenticated addresses remembered; the oldest is forgotten first.
const MAX_REMEMBERED: usize = 4096;

/// An IPv4-mapped IPv6 address as the IPv4 address it is, so a dual-stack
/// listener counts it once.
pub(super) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The network `ip` shares its handshake slots with. One host owns the
/// whole loopback /8, and a site usually gets a whole IPv6 /64, so neither
/// buys more slots by changing addresses within it.
pub(super) fn network(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V4(v4) if v4.is_loopback() => IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) if v6.is_loopback() => IpAddr::V6(v6),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

/// The addresses local tools use by default: only the node's own host can
/// send from them.
pub(super) fn is_local_admin(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

/// The addresses the node expects, beyond local admin use.
#[derive(Default)]
pub(super) struct Expected {
    endpoints: HashSet<IpAddr>,
    authenticated: HashMap<IpAddr, Instant>,
}

impl Expected {
    /// The enrolled partners' endpoint addresses, as last resolved.
    pub(super) fn set_endpoints(&mut self, endpoints: HashSet<IpAddr>) {
        self.endpoints = endpoints.into_iter().map(canonical).collect();
    }

    /// `ip` completed a handshake: its client certificate was accepted.
    pub(super) fn remember(&mut self, ip: IpAddr, now: Instant) {
        let ip = canonical(ip);
        if is_local_admin(ip) {
            return;
        }
        if self.authenticated.len() >= MAX_REMEMBERED && !self.authenticated.contains_key(&ip) {
            self.authenticated
                .retain(|_, at| now.saturating_duration_since(*at) < REMEMBER_FOR);
            let oldest = self
                .authenticated
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(ip, _)| *ip);
            if let (true, Some(oldest)) = (self.authenticated.len() >= MAX_REMEMBERED, oldest) {
                self.authenticated.remove(&oldest);
            }
        }
        self.authenticated.insert(ip, now);
    }

    /// Whether `ip` may use the reserved handshake slots.
    pub(super) fn expects(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = canonical(ip);
        is_local_admin(ip)
            || self.endpoints.contains(&ip)
            || self
                .authenticated
                .get(&ip)
                .is_some_and(|at| now.saturating_duration_since(*at) < REMEMBER_FOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_are_slash_24_slash_64_and_the_whole_loopback() {
        assert_eq!(network(ip("192.0.2.77")), ip("192.0.2.0"));
        assert_eq!(network(ip("::ffff:192.0.2.77")), ip("192.0.2.0"));
        assert_eq!(network(ip("127.0.0.17")), network(ip("127.9.8.7")));
        assert_eq!(network(ip("127.0.0.1")), ip("127.0.0.0"));
        assert_eq!(
            network(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(
            network(ip("2001:db8:1:2::1")),
            network(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn only_exact_local_partner_or_authenticated_addresses_are_expected() {
        let now = Instant::now();
        let mut expected = Expected::default();
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(expected.expects(ip(local), now), "{local}");
        }
        // Other loopback addresses are strangers: any local process can use them.
        assert!(!expected.expects(ip("127.0.0.2"), now));
        assert!(!expected.expects(ip("192.0.2.10"), now));
        expected.set_endpoints(HashSet::from([ip("192.0.2.10")]));
        assert!(expected.expects(ip("192.0.2.10"), now));
        assert!(expected.expects(ip("::ffff:192.0.2.10"), now));
        assert!(!expected.expects(ip("192.0.2.11"), now), "not its network");
        expected.remember(ip("2001:db8::5"), now);
        assert!(expected.expects(ip("2001:db8::5"), now));
        assert!(!expected.expects(ip("2001:db8::6"), now));
        assert!(!expected.expects(ip("2001:db8::5"), now + REMEMBER_FOR));
    }

    #[test]
    fn remembered_addresses_are_bounded_oldest_first() {
        let start = Instant::now();
        let mut expected = Expected::default();
        for n in 0..MAX_REMEMBERED as u32 + 10 {
            let address = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
            expected.remember(address, start + Duration::from_millis(n.into()));
        }
        assert_eq!(expected.authenticated.len(), MAX_REMEMBERED);
        let at = start + Duration::from_secs(1);
        assert!(
            !expected.expects(ip("10.0.0.0"), at),
            "the oldest went first"
        );
        assert!(expected.expects(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 4100u32)), at));
    }
}
