//! A partner's TLS rotation in the live registry: its new pin at once, its old
//! one only until the grace period ends. Never pins a certificate already
//! enrolled for another partner, nor this node's own.

use super::Node;
use crate::error::{Error, Result};
use liaison_core::record::NodeId;
use liaison_identity::tls::PinSet;
use liaison_store::store::PartnerEntry;

impl Node {
    /// The pin `pin_hex` may be enrolled for partner `id` unless it is another
    /// partner's certificate or this node's own. Called before anything is
    /// recorded (the audit log says what was done, not what was tried) and
    /// again when the pin is inserted. `what` names the bundle in the error.
    pub fn check_partner_pin(&self, id: &NodeId, pin_hex: &str, what: &str) -> Result<[u8; 32]> {
        let pin: [u8; 32] = hex::decode(pin_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::InvalidRequest(format!("{what}: malformed TLS pin")))?;
        if self
            .pins
            .partner_for_pin(&pin)
            .is_some_and(|other| other != *id)
        {
            return Err(Error::Conflict(format!(
                "{what}: its TLS certificate is already enrolled for another partner"
            )));
        }
        if pin == PinSet::pin_of(&self.live_tls.cert_der()) {
            return Err(Error::InvalidRequest(format!(
                "{what}: carries this node's own TLS certificate"
            )));
        }
        Ok(pin)
    }

    /// [`Node::check_partner_pin`] for a partner being enrolled.
    pub fn check_new_partner_pin(&self, id: &NodeId, entry: &PartnerEntry) -> Result<[u8; 32]> {
        self.check_partner_pin(id, &entry.tls_pin, &format!("{}'s bundle", entry.name))
    }

    /// Keeps a partner's rotated-out certificate pinned until its grace ends.
    pub(super) fn pin_previous(&self, id: &NodeId, entry: &PartnerEntry) {
        let previous = entry
            .previous_pin_in_grace(liaison_core::now_ms())
            .and_then(|(pin, until)| Some((hex::decode(pin).ok()?, until)))
            .and_then(|(bytes, until)| Some((<[u8; 32]>::try_from(bytes).ok()?, until)));
        if let Some((pin, until)) = previous {
            self.pins.insert_until(pin, *id, until);
        }
    }

    /// Replaces a partner's entry after a TLS rotation: the new pin at once,
    /// the old one until its grace ends; its cached channel is dropped so the
    /// next call pins the new certificate.
    pub fn update_partner_entry(&self, id: &NodeId, entry: PartnerEntry) -> Result<()> {
        let pin = self.check_partner_pin(id, &entry.tls_pin, "new_bundle")?;
        self.pins.insert(pin, *id);
        self.pin_previous(id, &entry);
        if let Ok(mut partners) = self.partners.lock() {
            if let Some(live) = partners.get_mut(id) {
                live.entry = entry;
                live.channel = None;
            }
        }
        Ok(())
    }
}
