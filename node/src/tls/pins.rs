//! The set of enrolled partners' TLS pins, and of revoked local client
//! certificates, shared by the handshake verifier and the services. Updating it
//! takes effect for the next handshake and the next call.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::record::NodeId;

#[derive(Clone, Default)]
pub struct PinSet {
    inner: Arc<RwLock<HashMap<[u8; 32], NodeId>>>,
    /// Local client certificates revoked by an admin (SHA-256 of the DER).
    denied: Arc<RwLock<HashSet<[u8; 32]>>>,
}

impl PinSet {
    pub fn pin_of(cert_der: &[u8]) -> [u8; 32] {
        Sha256::digest(cert_der).into()
    }

    pub fn insert(&self, pin: [u8; 32], node: NodeId) {
        if let Ok(mut map) = self.inner.write() {
            map.insert(pin, node);
        }
    }

    pub fn remove_node(&self, node: &NodeId) {
        if let Ok(mut map) = self.inner.write() {
            map.retain(|_, n| n != node);
        }
    }

    pub fn partner_for_pin(&self, pin: &[u8; 32]) -> Option<NodeId> {
        self.inner.read().ok().and_then(|map| map.get(pin).copied())
    }

    /// Refuses a local client certificate from now on (handshakes and calls).
    pub fn deny(&self, pin: [u8; 32]) {
        if let Ok(mut denied) = self.denied.write() {
            denied.insert(pin);
        }
    }

    /// Whether this certificate was revoked by an admin.
    pub fn is_denied(&self, cert_der: &[u8]) -> bool {
        let pin = Self::pin_of(cert_der);
        self.denied.read().map(|d| d.contains(&pin)).unwrap_or(true)
    }

    /// The partner whose enrolled certificate this is, if any.
    pub fn partner_for(&self, cert_der: &[u8]) -> Option<NodeId> {
        let pin = Self::pin_of(cert_der);
        self.inner
            .read()
            .ok()
            .and_then(|map| map.get(&pin).copied())
    }
}
