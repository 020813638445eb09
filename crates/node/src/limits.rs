//! Bounded work per caller: a token bucket per enrolled partner (Federation
//! calls) and per local client certificate (Analyst/Admin calls; analyst and
//! admin certificates have separate rates), and at most one open Pull stream per
//! partner (a newer stream replaces the older one).
//!
//! Keys are created only for callers the TLS layer and `service::caller` have
//! already authenticated, and the map of buckets is capped, so a stranger can
//! never grow it. This module must never block, sleep or queue a caller: over
//! the limit is an immediate, explained refusal.
//!
//! The token bucket is our own (~60 lines, deterministic tests with injected
//! time) rather than `governor`: that crate's keyed limiter pulls in `dashmap`,
//! `quanta`, `spinning_top`, `portable-atomic` and `futures-timer` for the same
//! job, and its map has no size bound of its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use liaison_core::record::NodeId;
use liaison_identity::identity::Role;

/// Most callers of one kind that hold a bucket at once; beyond it, idle
/// (refilled) buckets are forgotten first, then the least recently used.
pub const MAX_KEYS: usize = 4096;

/// The `[limits]` table of config.toml. Every field has a default that normal
/// use and the test suite never reach.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Sustained calls per second, per analyst certificate.
    pub client_calls_per_second: u32,
    /// Calls an analyst certificate may make at once before the rate applies.
    pub client_burst: u32,
    /// Sustained Federation calls (Search, Pull) per second, per partner.
    pub partner_calls_per_second: u32,
    /// Calls a partner may make at once before the rate applies.
    pub partner_burst: u32,
    /// Open connections (after the handshake) the node keeps at once.
    pub max_connections: usize,
    /// TLS handshakes in flight at once, from strangers (sources not reserved
    /// below).
    pub max_handshakes: usize,
    /// TLS handshakes in flight at once from one network: an IPv4 /24, an
    /// IPv6 /64, or the whole loopback 127.0.0.0/8. Also the most one address
    /// may hold of the reserved slots. (`max_handshakes_per_ip` is the older
    /// name, still read.)
    #[serde(alias = "max_handshakes_per_ip")]
    pub max_handshakes_per_prefix: usize,
    /// Handshake slots kept for enrolled partners' endpoint addresses,
    /// addresses that recently completed an authenticated handshake, and local
    /// admin use from 127.0.0.1 / ::1; strangers never take them.
    pub reserved_handshakes: usize,
    /// Milliseconds a new connection has to send its whole TLS ClientHello;
    /// a silent or dribbling connection is closed then.
    pub client_hello_timeout_ms: u64,
    /// Seconds a peer has to finish its TLS handshake.
    pub handshake_timeout_seconds: u64,
    /// HTTP/2 streams (calls) open at once on one connection.
    pub max_concurrent_streams: u32,
    /// Sustained calls per second, per admin certificate (bulk loads and the
    /// operator's tools use it; the default is above the node's publish rate).
    pub admin_calls_per_second: u32,
    /// Calls an admin certificate may make at once before the rate applies.
    pub admin_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            client_calls_per_second: 200,
            client_burst: 1000,
            partner_calls_per_second: 20,
            partner_burst: 100,
            max_connections: 1024,
            max_handshakes: 64,
            max_handshakes_per_prefix: 8,
            reserved_handshakes: 16,
            client_hello_timeout_ms: 1000,
            handshake_timeout_seconds: 5,
            max_concurrent_streams: 128,
            admin_calls_per_second: 5000,
            admin_burst: 10000,
        }
    }
}

impl LimitsConfig {
    /// Refuses values that would switch a limit off or stop all service.
    pub fn validate(&self) -> Result<(), String> {
        let counts = [
            (
                "limits.client_calls_per_second",
                self.client_calls_per_second as u64,
            ),
            (
                "limits.partner_calls_per_second",
                self.partner_calls_per_second as u64,
            ),
            ("limits.client_burst", self.client_burst as u64),
            (
                "limits.admin_calls_per_second",
                self.admin_calls_per_second as u64,
            ),
            ("limits.admin_burst", self.admin_burst as u64),
            ("limits.partner_burst", self.partner_burst as u64),
            ("limits.max_connections", self.max_connections as u64),
            ("limits.max_handshakes", self.max_handshakes as u64),
            (
                "limits.max_handshakes_per_prefix",
                self.max_handshakes_per_prefix as u64,
            ),
            (
                "limits.reserved_handshakes",
                self.reserved_handshakes as u64,
            ),
            (
                "limits.client_hello_timeout_ms",
                self.client_hello_timeout_ms,
            ),
            (
                "limits.handshake_timeout_seconds",
                self.handshake_timeout_seconds,
            ),
            (
                "limits.max_concurrent_streams",
                self.max_concurrent_streams as u64,
            ),
        ];
        match counts.iter().find(|(_, value)| *value == 0) {
            Some((field, _)) => Err(format!("{field}: must be at least 1")),
            None => Ok(()),
        }
    }

    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_seconds.max(1))
    }

    pub fn client_hello_timeout(&self) -> Duration {
        Duration::from_millis(self.client_hello_timeout_ms.max(1))
    }
}

/// A refused call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("rate limit: at most {per_second} calls/s (burst {burst}) for this {who}; retry after {} ms", retry_after.as_millis().max(1))]
pub struct RateLimited {
    pub who: &'static str,
    pub per_second: f64,
    pub burst: u32,
    pub retry_after: Duration,
}

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// One caller's tokens: refilled at the rate, up to the burst.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(rate.burst),
            updated: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(f64::from(rate.burst));
        self.updated = now;
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64(
            (1.0 - self.tokens) / rate.per_second,
        ))
    }

    fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut probe = *self;
        probe.refill(rate, now);
        probe.tokens >= f64::from(rate.burst)
    }
}

/// Token buckets by key, with a bounded number of keys.
pub struct KeyedLimiter<K> {
    who: &'static str,
    rate: Rate,
    max_keys: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Copy> KeyedLimiter<K> {
    pub fn new(who: &'static str, rate: Rate, max_keys: usize) -> Self {
        KeyedLimiter {
            who,
            rate,
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one call from `key` now.
    pub fn check(&self, key: K) -> Result<(), RateLimited> {
        self.check_at(key, Instant::now())
    }

    /// Admits one call from `key` at `now` (tests pass their own clock).
    pub fn check_at(&self, key: K, now: Instant) -> Result<(), RateLimited> {
        let rate = self.rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&key) && buckets.len() >= self.max_keys {
            // A refilled bucket is the same as a new one: forgetting it loses nothing.
            buckets.retain(|_, b| !b.is_full(rate, now));
            if buckets.len() >= self.max_keys {
                let oldest = buckets
                    .iter()
                    .min_by_key(|(_, b)| b.updated)
                    .map(|(k, _)| *k);
                if let Some(oldest) = oldest {
                    buckets.remove(&oldest);
                }
            }
        }
        let bucket = buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(rate, now));
        bucket.take(rate, now).map_err(|retry_after| RateLimited {
            who: self.who,
            per_second: rate.per_second,
            burst: rate.burst,
            retry_after,
        })
    }

    /// Keys holding a bucket now.
    pub fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A Pull stream's claim to be its partner's only one; it ends when a newer
/// stream from the same partner claims the slot.
pub struct PullClaim {
    generation: u64,
    current: watch::Receiver<u64>,
}

impl PullClaim {
    /// Resolves once a newer stream from the same partner has replaced this one.
    pub async fn replaced(&mut self) {
        loop {
            if *self.current.borrow_and_update() != self.generation {
                return;
            }
            if self.current.changed().await.is_err() {
                // The registry is gone with the node; shutdown ends the stream.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Everything a node bounds per caller.
pub struct Limits {
    pub config: LimitsConfig,
    clients: KeyedLimiter<[u8; 32]>,
    admins: KeyedLimiter<[u8; 32]>,
    partners: KeyedLimiter<NodeId>,
    pulls: Mutex<HashMap<NodeId, watch::Sender<u64>>>,
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Limits {
        let client = Rate {
            per_second: f64::from(config.client_calls_per_second),
            burst: config.client_burst,
        };
        let admin = Rate {
            per_second: f64::from(config.admin_calls_per_second),
            burst: config.admin_burst,
        };
        let partner = Rate {
            per_second: f64::from(config.partner_calls_per_second),
            burst: config.partner_burst,
        };
        Limits {
            config: config.clone(),
            clients: KeyedLimiter::new("certificate", client, MAX_KEYS),
            admins: KeyedLimiter::new("certificate", admin, MAX_KEYS),
            partners: KeyedLimiter::new("partner", partner, MAX_KEYS),
            pulls: Mutex::new(HashMap::new()),
        }
    }

    /// One Analyst/Admin call from the client certificate with this
    /// fingerprint, at the rate of the certificate's role.
    pub fn admit_client(&self, role: Role, fingerprint: [u8; 32]) -> Result<(), RateLimited> {
        match role {
            Role::Admin => self.admins.check(fingerprint),
            Role::Analyst => self.clients.check(fingerprint),
        }
    }

    /// One Federation call from an enrolled partner.
    pub fn admit_partner(&self, partner: NodeId) -> Result<(), RateLimited> {
        self.partners.check(partner)
    }

    /// Makes a new Pull stream the partner's only one: any older stream's
    /// claim resolves `replaced`.
    pub fn claim_pull(&self, partner: NodeId) -> PullClaim {
        let mut pulls = self.pulls.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pulls.entry(partner).or_insert_with(|| watch::channel(0).0);
        slot.send_modify(|g| *g += 1);
        let generation = *slot.borrow();
        PullClaim {
            generation,
            current: slot.subscribe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: f64, burst: u32) -> Rate {
        Rate { per_second, burst }
    }

    #[test]
    fn burst_then_rate_then_refill() {
        let limiter = KeyedLimiter::new("certificate", rate(2.0, 3), 16);
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check_at(1u8, t0).unwrap();
        }
        let refused = limiter.check_at(1u8, t0).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(500));
        let text = refused.to_string();
        assert!(
            text.starts_with(
                "rate limit: at most 2 calls/s (burst 3) for this certificate; retry after 500 ms"
            ),
            "{text}"
        );
        // Half a second later exactly one more token is there.
        let t1 = t0 + Duration::from_millis(500);
        limiter.check_at(1u8, t1).unwrap();
        assert!(limiter.check_at(1u8, t1).is_err());
        // A long pause refills to the burst, never beyond it.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            limiter.check_at(1u8, t2).unwrap();
        }
        assert!(limiter.check_at(1u8, t2).is_err());
    }

    #[test]
    fn keys_are_independent() {
        let limiter = KeyedLimiter::new("partner", rate(1.0, 1), 16);
        let t0 = Instant::now();
        limiter.check_at(1u8, t0).unwrap();
        assert!(limiter.check_at(1u8, t0).is_err());
        limiter.check_at(2u8, t0).unwrap();
    }

    #[test]
    fn the_key_map_stays_bounded_and_keeps_busy_callers() {
        let limiter = KeyedLimiter::new("certificate", rate(1.0, 2), 4);
        let t0 = Instant::now();
        // Key 0 exhausts its bucket; keys 1..=3 each take one token.
        limiter.check_at(0u32, t0).unwrap();
        limiter.check_at(0u32, t0).unwrap();
        for key in 1..=3 {
            limiter.check_at(key, t0).unwrap();
        }
        // Many more keys, later: idle buckets go first, the map never grows past 4.
        let t1 = t0 + Duration::from_millis(100);
        for key in 4..100 {
            let _ = limiter.check_at(key, t1);
            assert!(limiter.len() <= 4);
        }
        // At cap with no idle bucket the least recently used is dropped.
        assert_eq!(limiter.len(), 4);
    }

    #[tokio::test]
    async fn a_newer_pull_replaces_the_older_one_only_for_its_partner() {
        let limits = Limits::new(&LimitsConfig::default());
        let (a, b) = (NodeId([1; 32]), NodeId([2; 32]));
        let mut first = limits.claim_pull(a);
        let mut other = limits.claim_pull(b);
        let mut second = limits.claim_pull(a);
        tokio::time::timeout(Duration::from_secs(5), first.replaced())
            .await
            .expect("the older stream is told it was replaced");
        let quiet = Duration::from_millis(50);
        assert!(tokio::time::timeout(quiet, second.replaced())
            .await
            .is_err());
        assert!(tokio::time::timeout(quiet, other.replaced()).await.is_err());
    }

    #[test]
    fn config_defaults_and_validation() {
        let config = LimitsConfig::default();
        config.validate().unwrap();
        let bad = LimitsConfig {
            partner_calls_per_second: 0,
            ..LimitsConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .starts_with("limits.partner_calls_per_second:"));
        let bad = LimitsConfig {
            max_handshakes_per_prefix: 0,
            ..LimitsConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .starts_with("limits.max_handshakes_per_prefix:"));
        // The older name is still read.
        let old: LimitsConfig = toml::from_str("max_handshakes_per_ip = 3").unwrap();
        assert_eq!(old.max_handshakes_per_prefix, 3);
    }
}
