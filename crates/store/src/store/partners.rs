//! Enrolled partners, our sync position in each partner's change log, and
//! whether each partner has accepted us. Takes no decision on what a refusal means
//! (that is `liaison_node::partner_state`).

use serde::{Deserialize, Serialize};

use super::db::Store;
use super::error::StoreError;
use super::keys::{self, corrupt};
use liaison_core::record::NodeId;

/// A partner as enrolled by an admin. The signed bundle is kept verbatim so that
/// the node can hand it on when relaying the partner's records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartnerEntry {
    pub name: String,
    /// Hex node id (Ed25519 key).
    pub node_id: String,
    /// Hex of the encoded SignedBundle.
    pub bundle: String,
    /// Hex SHA-256 of the partner's TLS certificate (the TLS pin).
    pub tls_pin: String,
    pub endpoints: Vec<String>,
    /// Highest TLP marking the partner may receive from us.
    pub max_tlp: String,
    pub relay: bool,
    pub added_ms: i64,
    /// Set when the identity reached us through a relaying partner (not enrolled).
    #[serde(default)]
    pub known_via: Option<String>,
    /// A known-via origin an admin blocked: its records are refused.
    #[serde(default)]
    pub blocked: bool,
    /// Hex SHA-256 of the certificate a TLS rotation replaced, still accepted
    /// until `previous_pin_until_ms` (the grace period).
    #[serde(default)]
    pub previous_pin: Option<String>,
    #[serde(default)]
    pub previous_pin_until_ms: i64,
    /// "agency" (or empty, before partner kinds), "ngo" or "platform" (policy::PartnerKind).
    #[serde(default)]
    pub kind: String,
    /// For a platform: the best evaluation its records are shown with (e.g. "C3").
    #[serde(default)]
    pub max_evaluation: String,
}

impl PartnerEntry {
    /// The previous pin and when its grace ends, while `now_ms` is inside it:
    /// the partner rotated its certificate and the old one is still accepted.
    pub fn previous_pin_in_grace(&self, now_ms: i64) -> Option<(&str, i64)> {
        let pin = self.previous_pin.as_deref()?;
        (self.previous_pin_until_ms > now_ms).then_some((pin, self.previous_pin_until_ms))
    }

    /// An entry for a verified bundle: an enrolled partner (`known_via` None) or
    /// a third-party origin learned through the relay `known_via`.
    pub fn from_bundle(
        bundle: &liaison_identity::identity::Bundle,
        max_tlp: &str,
        relay: bool,
        known_via: Option<String>,
    ) -> PartnerEntry {
        PartnerEntry {
            name: bundle.name.clone(),
            node_id: bundle.node_id.to_hex(),
            bundle: hex::encode(&bundle.signed),
            tls_pin: bundle.tls_pin(),
            endpoints: bundle.endpoints.clone(),
            max_tlp: max_tlp.to_string(),
            relay,
            added_ms: liaison_core::now_ms(),
            known_via,
            blocked: false,
            previous_pin: None,
            previous_pin_until_ms: 0,
            kind: String::new(),
            max_evaluation: String::new(),
        }
    }
}

/// What is kept of a revoked partner: the name the admin enrolled it under,
/// so the records it sent before the revocation still say whose they are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RevokedPartner {
    pub name: String,
    pub revoked_ms: i64,
}

/// Where we are in a partner's change log, and what it has sent us.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncState {
    pub cursor: u64,
    pub received: u64,
    pub rejected: u64,
    #[serde(default)]
    pub last_rejection: String,
    /// Records waiting in the pending set (store/pending.rs).
    #[serde(default)]
    pub pending: u64,
    /// Next pending entry number.
    #[serde(default)]
    pub pending_next: u64,
}

impl SyncState {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Store {
    /// Writes a partner entry durably.
    pub async fn put_partner(&self, id: &NodeId, entry: &PartnerEntry) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(entry).map_err(|e| StoreError::Io(e.to_string()))?;
        self.tree().insert(keys::partner(id), bytes)?;
        self.flush().await
    }

    /// Removes a partner and its sync state durably; returns whether it existed.
    /// Its name stays (see [`Store::revoked_partner`]): the records it sent
    /// remain, and people must still be told whose they are.
    pub async fn remove_partner(&self, id: &NodeId) -> Result<bool, StoreError> {
        let mut batch = sled::Batch::default();
        let existed = match self.partner(id)? {
            Some(entry) => {
                let revoked = RevokedPartner {
                    name: entry.name,
                    revoked_ms: liaison_core::now_ms(),
                };
                let bytes =
                    serde_json::to_vec(&revoked).map_err(|e| StoreError::Io(e.to_string()))?;
                batch.insert(keys::revoked_partner(id), bytes);
                true
            }
            None => false,
        };
        batch.remove(keys::partner(id));
        batch.remove(keys::sync_state(id));
        // Enrolled again later, it has not accepted us yet.
        batch.remove(keys::accepted_us(id));
        for entry in self.tree().scan_prefix(keys::pending_prefix(id)) {
            batch.remove(entry?.0);
        }
        self.apply_gated(batch)?;
        self.flush().await?;
        Ok(existed)
    }

    /// The partner enrolled under `id`, if any.
    pub fn partner(&self, id: &NodeId) -> Result<Option<PartnerEntry>, StoreError> {
        let key = keys::partner(id);
        match self.tree().get(&key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt(&key, &e.to_string())),
            None => Ok(None),
        }
    }

    /// What is kept of a partner once revoked, if `id` was one.
    pub fn revoked_partner(&self, id: &NodeId) -> Result<Option<RevokedPartner>, StoreError> {
        let key = keys::revoked_partner(id);
        match self.tree().get(&key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt(&key, &e.to_string())),
            None => Ok(None),
        }
    }

    pub fn partners(&self) -> Result<Vec<(NodeId, PartnerEntry)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tree().scan_prefix([keys::PARTNER]) {
            let (key, value) = entry?;
            let id = NodeId::from_slice(&key[1..]).map_err(|_| corrupt(&key, "bad partner key"))?;
            let partner =
                serde_json::from_slice(&value).map_err(|e| corrupt(&key, &e.to_string()))?;
            out.push((id, partner));
        }
        Ok(out)
    }

    /// Remembers, durably, that the partner `id` accepted our certificate (a
    /// sync stream opened). Kept until the partner is removed here, so that a
    /// refusal after a restart still reads as "revoked by the partner".
    pub async fn mark_accepted_us(&self, id: &NodeId) -> Result<(), StoreError> {
        let key = keys::accepted_us(id);
        if self.tree().get(&key)?.is_some() {
            return Ok(());
        }
        self.tree()
            .insert(key, &liaison_core::now_ms().to_be_bytes()[..])?;
        self.flush().await
    }

    /// Whether the partner `id` has accepted our certificate since it was enrolled here.
    pub fn accepted_us(&self, id: &NodeId) -> Result<bool, StoreError> {
        Ok(self.tree().get(keys::accepted_us(id))?.is_some())
    }

    pub fn sync_state(&self, id: &NodeId) -> Result<SyncState, StoreError> {
        let key = keys::sync_state(id);
        match self.tree().get(&key)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| corrupt(&key, &e.to_string()))
            }
            None => Ok(SyncState::default()),
        }
    }
}

impl Store {
    /// Remembers a third-party origin whose bundle a relaying partner handed over.
    pub fn put_known_origin(&self, id: &NodeId, entry: &PartnerEntry) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(entry).map_err(|e| StoreError::Io(e.to_string()))?;
        self.tree().insert(keys::known_origin(id), bytes)?;
        Ok(())
    }

    pub fn known_origin(&self, id: &NodeId) -> Result<Option<PartnerEntry>, StoreError> {
        let key = keys::known_origin(id);
        match self.tree().get(&key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt(&key, &e.to_string())),
            None => Ok(None),
        }
    }

    /// Forgets the origins learned through a partner that is being revoked
    /// (blocked ones stay blocked).
    pub fn forget_origins_known_via(&self, partner: &NodeId) -> Result<(), StoreError> {
        let via = partner.to_hex();
        for entry in self.tree().scan_prefix([keys::KNOWN_ORIGIN]) {
            let (key, value) = entry?;
            let known: PartnerEntry =
                serde_json::from_slice(&value).map_err(|e| corrupt(&key, &e.to_string()))?;
            if known.known_via.as_deref() == Some(via.as_str()) && !known.blocked {
                self.tree().remove(key)?;
            }
        }
        Ok(())
    }

    pub fn known_origins(&self) -> Result<Vec<PartnerEntry>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tree().scan_prefix([keys::KNOWN_ORIGIN]) {
            let (key, value) = entry?;
            out.push(serde_json::from_slice(&value).map_err(|e| corrupt(&key, &e.to_string()))?);
        }
        Ok(out)
    }
}

impl Store {
    /// Remembers, durably, that a local client certificate is revoked.
    pub async fn revoke_client(&self, cert_sha256: [u8; 32]) -> Result<(), StoreError> {
        self.tree().insert(
            [&[keys::REVOKED_CLIENT][..], &cert_sha256].concat(),
            &[][..],
        )?;
        self.flush().await
    }

    pub fn revoked_clients(&self) -> Result<Vec<[u8; 32]>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tree().scan_prefix([keys::REVOKED_CLIENT]) {
            let (key, _) = entry?;
            out.push(
                key[1..]
                    .try_into()
                    .map_err(|_| corrupt(&key, "revoked client key is not 33 bytes"))?,
            );
        }
        Ok(out)
    }
}
