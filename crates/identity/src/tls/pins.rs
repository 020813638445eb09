//! The set of enrolled partners' TLS pins, and of revoked local client
//! certificates, shared by the handshake verifier and the services. Updating it
//! takes effect for the next handshake and the next call.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use liaison_core::record::NodeId;

#[derive(Clone, Default)]
pub struct PinSet {
    inner: Arc<RwLock<HashMap<[u8; 32], NodeId>>>,
    /// Certificates refused at the handshake with `certificate_revoked`: local
    /// client certificates revoked by an admin, and revoked partners' (SHA-256).
    denied: Arc<RwLock<HashSet<[u8; 32]>>>,
    /// Of those, the partners' (their calls are told the enrollment was revoked).
    revoked_partners: Arc<RwLock<HashSet<[u8; 32]>>>,
    /// Pins that stop being valid at a time (ms): a partner's certificate
    /// replaced by a TLS rotation, accepted until the end of its grace period.
    expiring: Arc<RwLock<HashMap<[u8; 32], i64>>>,
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
            let pins: Vec<[u8; 32]> = map
                .iter()
                .filter(|(_, n)| *n == node)
                .map(|(pin, _)| *pin)
                .collect();
            map.retain(|_, n| n != node);
            if let Ok(mut expiring) = self.expiring.write() {
                for pin in pins {
                    expiring.remove(&pin);
                }
            }
        }
    }

    /// Pins `pin` for `node` until `until_ms` only (a rotated-out certificate).
    pub fn insert_until(&self, pin: [u8; 32], node: NodeId, until_ms: i64) {
        if let Ok(mut expiring) = self.expiring.write() {
            expiring.insert(pin, until_ms);
        }
        self.insert(pin, node);
    }

    /// Whether a pin's grace period is over (pins without one never expire).
    fn expired(&self, pin: &[u8; 32]) -> bool {
        self.expiring
            .read()
            .map(|e| {
                e.get(pin)
                    .is_some_and(|until| *until <= liaison_core::now_ms())
            })
            .unwrap_or(true)
    }

    pub fn partner_for_pin(&self, pin: &[u8; 32]) -> Option<NodeId> {
        if self.expired(pin) {
            return None;
        }
        self.inner.read().ok().and_then(|map| map.get(pin).copied())
    }

    /// Refuses a local client certificate from now on (handshakes and calls).
    pub fn deny(&self, pin: [u8; 32]) {
        if let Ok(mut denied) = self.denied.write() {
            denied.insert(pin);
        }
    }

    /// Refuses a revoked partner's certificate from now on, with the alert and
    /// words of a revocation (not those of a stranger). Enrolling it again pins
    /// it, and a pin is checked first.
    pub fn deny_partner(&self, pin: [u8; 32]) {
        self.deny(pin);
        if let Ok(mut revoked) = self.revoked_partners.write() {
            revoked.insert(pin);
        }
    }

    /// Whether this is the certificate of a partner whose enrollment was revoked.
    pub fn is_revoked_partner(&self, cert_der: &[u8]) -> bool {
        let pin = Self::pin_of(cert_der);
        self.revoked_partners
            .read()
            .map(|r| r.contains(&pin))
            .unwrap_or(false)
    }

    /// Whether this certificate was revoked by an admin.
    pub fn is_denied(&self, cert_der: &[u8]) -> bool {
        let pin = Self::pin_of(cert_der);
        self.denied.read().map(|d| d.contains(&pin)).unwrap_or(true)
    }

    /// The partner whose enrolled certificate this is, if any.
    pub fn partner_for(&self, cert_der: &[u8]) -> Option<NodeId> {
        self.partner_for_pin(&Self::pin_of(cert_der))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_out_pin_is_refused_after_its_grace_period() {
        let pins = PinSet::default();
        let node = NodeId([7; 32]);
        pins.insert([1; 32], node);
        pins.insert_until([2; 32], node, liaison_core::now_ms() + 60_000);
        pins.insert_until([3; 32], node, liaison_core::now_ms() - 1);
        assert_eq!(pins.partner_for_pin(&[1; 32]), Some(node));
        assert_eq!(pins.partner_for_pin(&[2; 32]), Some(node));
        assert_eq!(pins.partner_for_pin(&[3; 32]), None);
        pins.remove_node(&node);
        assert_eq!(pins.partner_for_pin(&[2; 32]), None);
    }
}
