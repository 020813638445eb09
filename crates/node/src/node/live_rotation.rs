//! `identity rotate-tls` while the node runs (issue 13): the new key and
//! certificate are made and put in force on disk as at start, then swapped into
//! the running node (every later handshake, served or made, uses them) and
//! announced to every partner at once, signed by the identity key; partners keep
//! accepting the old certificate for the grace period. No restart.
//!
//! A rotation inside the previous one's grace period is refused while a partner
//! has not acknowledged the previous one (`identity::check_rotation`), unless
//! forced; a forced one names the partners it locks out.
//!
//! Must never put a pair in force that does not match (checked before the swap),
//! nor announce a rotation that was not recorded on disk first.

use std::sync::Arc;
use std::time::Duration;

use super::Node;
use crate::error::{Error, Result};
use liaison_identity::identity::{NodeIdentity, Rotation, RotationFile};

/// How long the announcement waits for each partner before leaving it to the
/// puller's next connection.
const ANNOUNCE_DEADLINE: Duration = Duration::from_secs(10);

/// What a live rotation did.
pub struct LiveRotation {
    pub file: RotationFile,
    pub told: Vec<String>,
    pub not_told: Vec<String>,
    /// Partners a forced rotation locked out: they must enroll this node again.
    pub locked_out: Vec<String>,
}

impl Node {
    /// The last TLS rotation, while its old certificate is on disk.
    pub fn rotation(&self) -> Option<Arc<Rotation>> {
        self.rotation.read().ok().and_then(|r| r.clone())
    }

    /// This node's identity with the TLS certificate now in force (bundles,
    /// fingerprints).
    pub fn live_identity(&self) -> NodeIdentity {
        NodeIdentity {
            name: self.identity.name.clone(),
            signing_key: self.identity.signing_key.clone(),
            tls_cert_der: self.live_tls.cert_der(),
            tls_key_der: self.live_tls.key_der().to_vec(),
            ca_cert_der: self.identity.ca_cert_der.clone(),
        }
    }

    /// Rotates the TLS certificate without a restart; `actor` is logged.
    /// Refused while the previous rotation is in grace and a partner has not
    /// acknowledged it, unless `force`.
    pub async fn rotate_tls_live(
        self: &Arc<Self>,
        actor: String,
        force: bool,
    ) -> Result<LiveRotation> {
        let _one_at_a_time = self.rotating.lock().await;
        let partners: Vec<_> = self
            .partner_ids()
            .into_iter()
            .filter_map(|id| self.partner_entry(&id).map(|entry| (id, entry)))
            .collect();
        let locked_out = liaison_identity::identity::check_rotation(
            self.rotation().as_deref(),
            partners
                .iter()
                .map(|(id, entry)| liaison_identity::identity::Enrolled {
                    id: *id,
                    name: &entry.name,
                    added_ms: entry.added_ms,
                }),
            force,
        )?;
        if !locked_out.is_empty() {
            tracing::warn!(partners = ?locked_out, "forced TLS rotation: these partners never acknowledged the last one and must enroll this node again");
        }
        let dir = self.dir.clone();
        let agency = self.config.name.clone();
        let grace = self.config.rotation.tls_grace_seconds;
        let made = tokio::task::spawn_blocking(move || -> Result<_> {
            liaison_identity::identity::stage_tls_rotation(&dir, &agency)?;
            let file = liaison_identity::identity::promote_staged_tls(&dir, grace)?
                .ok_or_else(|| Error::Tls("rotation: the staged certificate disappeared".into()))?;
            let rotation = liaison_identity::identity::load_rotation(&dir)?
                .ok_or_else(|| Error::Tls("rotation: tls/previous.* missing".into()))?;
            let cert = liaison_identity::identity::read_pem_cert(&dir.tls_cert())?;
            let key = liaison_identity::identity::read_pem_key(&dir.tls_key())?;
            Ok((file, rotation, cert, key))
        })
        .await
        .map_err(|_| Error::ShuttingDown)??;
        let (file, rotation, cert, key) = made;
        self.live_tls.replace(&cert, &key)?;
        if let Ok(mut current) = self.rotation.write() {
            *current = Some(Arc::new(rotation));
        }
        self.audit(
            actor,
            "identity.rotate_tls",
            serde_json::json!({
                "old_pin": file.old_pin,
                "new_pin": file.new_pin,
                "live": true,
                "forced_lock_out": locked_out,
            }),
        )
        .await?;
        tracing::info!(new_pin = %file.new_pin, "new TLS certificate in force without a restart; telling partners");
        let (told, not_told) = crate::sync::announce_now(self, ANNOUNCE_DEADLINE).await;
        Ok(LiveRotation {
            file,
            told,
            not_told,
            locked_out,
        })
    }
}
