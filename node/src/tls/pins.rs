//! The set of enrolled partners' TLS pins, shared by the handshake verifier and the
//! services. Updating it takes effect for the next handshake and the next call.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::record::NodeId;

#[derive(Clone, Default)]
pub struct PinSet {
    inner: Arc<RwLock<HashMap<[u8; 32], NodeId>>>,
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

    /// The partner whose enrolled certificate this is, if any.
    pub fn partner_for(&self, cert_der: &[u8]) -> Option<NodeId> {
        let pin = Self::pin_of(cert_der);
        self.inner
            .read()
            .ok()
            .and_then(|map| map.get(&pin).copied())
    }
}
