//! The per-connection cache of a verified local client (analyst or admin):
//! the local-CA chain check and the certificate parse cost about 50 µs, paid
//! once per TLS connection instead of on every call (issue 26).
//!
//! tonic hands every request of one connection the same `Arc` of the peer's
//! certificate chain, so that allocation names the connection. An entry holds a
//! `Weak` to it: while the entry exists the allocation cannot be reused by
//! another connection, and once the connection is gone the entry is dead and
//! pruned. Only local principals are cached; a partner's pin is looked up on
//! every call as before.
//!
//! This module must never skip the deny list: a certificate an admin revoked is
//! refused on the next call of a connection already open, cached or not. Nor
//! may an entry outlive its certificate's validity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rustls::pki_types::CertificateDer;

use liaison_core::record::NodeId;
use liaison_identity::tls::Principal;

type Chain = Vec<CertificateDer<'static>>;

/// What was verified for one connection.
#[derive(Clone)]
pub(super) struct Verified {
    pub principal: Principal,
    /// SHA-256 of the leaf (the rate limiter's key for this client).
    pub fingerprint: [u8; 32],
}

struct Entry {
    chain: Weak<Chain>,
    /// The node that verified it (several nodes may share a process).
    node: NodeId,
    not_after_ms: i64,
    verified: Verified,
}

/// Dead entries are pruned when the cache grows past this many.
const PRUNE_AT: usize = 1_024;

fn cache() -> &'static Mutex<HashMap<usize, Entry>> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Entry>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn key(chain: &Arc<Chain>) -> usize {
    Arc::as_ptr(chain) as usize
}

/// The principal verified earlier on this connection by `node`, if any and if
/// its certificate is still within its validity.
pub(super) fn cached(node: NodeId, chain: &Arc<Chain>, now_ms: i64) -> Option<Verified> {
    let map = cache().lock().unwrap_or_else(|e| e.into_inner());
    let entry = map.get(&key(chain))?;
    let same_connection = entry.chain.as_ptr() == Arc::as_ptr(chain);
    (same_connection && entry.node == node && now_ms < entry.not_after_ms)
        .then(|| entry.verified.clone())
}

/// Remembers a local principal verified for this connection.
pub(super) fn remember(node: NodeId, chain: &Arc<Chain>, not_after_ms: i64, verified: Verified) {
    let mut map = cache().lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= PRUNE_AT {
        map.retain(|_, e| e.chain.strong_count() > 0);
    }
    map.insert(
        key(chain),
        Entry {
            chain: Arc::downgrade(chain),
            node,
            not_after_ms,
            verified,
        },
    );
}

/// Drops this connection's entry (its certificate was refused).
pub(super) fn forget(chain: &Arc<Chain>) {
    let mut map = cache().lock().unwrap_or_else(|e| e.into_inner());
    map.remove(&key(chain));
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_identity::identity::Role;

    fn verified() -> Verified {
        Verified {
            principal: Principal::Local {
                role: Role::Analyst,
                name: "Analyst Example".into(),
            },
            fingerprint: [3; 32],
        }
    }

    #[test]
    fn an_entry_serves_only_its_connection_its_node_and_its_validity() {
        let node = NodeId([1; 32]);
        let chain: Arc<Chain> = Arc::new(vec![CertificateDer::from(vec![1, 2, 3])]);
        let other: Arc<Chain> = Arc::new(vec![CertificateDer::from(vec![1, 2, 3])]);
        remember(node, &chain, 10_000, verified());
        assert!(cached(node, &chain, 9_999).is_some());
        assert!(cached(node, &other, 9_999).is_none(), "another connection");
        assert!(
            cached(NodeId([2; 32]), &chain, 9_999).is_none(),
            "another node"
        );
        assert!(
            cached(node, &chain, 10_000).is_none(),
            "certificate expired"
        );
        forget(&chain);
        assert!(cached(node, &chain, 0).is_none());
    }
}
