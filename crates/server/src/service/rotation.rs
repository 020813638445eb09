//! A partner's TLS rotation, received on the Federation service: the statement is
//! verified against the calling partner's identity key, then its pin moves to the
//! new certificate while the old one stays valid until the grace period ends.
//! Logged in the audit log before it takes effect.

use std::sync::Arc;

use tonic::Status;

use crate::status::status;
use liaison_core::proto;
use liaison_core::record::NodeId;
use liaison_identity::identity::{verify_rotation, MAX_GRACE_MS};
use liaison_node::error::Error;
use liaison_node::node::Node;

/// Applies `signed` from `partner` (idempotent: a statement already applied is
/// acknowledged again). A refusal is logged against the partner: a statement
/// that does not apply is either a broken peer or an attempt to move a pin.
pub(super) async fn accept_rotation(
    node: &Arc<Node>,
    partner: NodeId,
    signed: &proto::SignedTlsRotation,
) -> Result<(), Status> {
    let result = apply_rotation(node, partner, signed).await;
    if let Err(status) = &result {
        tracing::warn!(partner = %partner.short(), code = ?status.code(), reason = %status.message(), "partner's TLS rotation refused");
    }
    result
}

async fn apply_rotation(
    node: &Arc<Node>,
    partner: NodeId,
    signed: &proto::SignedTlsRotation,
) -> Result<(), Status> {
    let verified = verify_rotation(signed, &partner)
        .map_err(Error::from)
        .map_err(status)?;
    let mut entry = node
        .partner_entry(&partner)
        .ok_or_else(|| Status::permission_denied("partner is no longer enrolled"))?;
    let new_pin = verified.bundle.tls_pin();
    if entry.tls_pin == new_pin {
        return Ok(());
    }
    if entry.tls_pin != verified.old_pin {
        return Err(status(Error::InvalidRequest(
            "old_cert_sha256: not the certificate enrolled here for this partner".into(),
        )));
    }
    // A refused pin must not reach the audit log as a rotation.
    node.check_partner_pin(&partner, &new_pin, "new_bundle")
        .map_err(status)?;
    let now = liaison_core::now_ms();
    let until = verified
        .old_valid_until_ms
        .clamp(now, now.saturating_add(MAX_GRACE_MS));
    node.audit(
        format!("partner {}", partner.to_hex()),
        "partner.tls_rotate",
        serde_json::json!({
            "partner": partner.to_hex(),
            "old_pin": entry.tls_pin,
            "new_pin": new_pin,
            "old_valid_until_ms": until,
        }),
    )
    .await
    .map_err(status)?;
    entry.previous_pin = Some(std::mem::replace(&mut entry.tls_pin, new_pin));
    entry.previous_pin_until_ms = until;
    entry.bundle = hex::encode(&verified.bundle.signed);
    entry.endpoints = verified.bundle.endpoints.clone();
    node.update_partner_entry(&partner, entry.clone())
        .map_err(status)?;
    node.store
        .put_partner(&partner, &entry)
        .await
        .map_err(Error::from)
        .map_err(status)?;
    tracing::info!(partner = %partner.short(), "partner rotated its TLS certificate; pin moved");
    // Its puller may be backing off after refusing the new certificate.
    if let Some(kick) = node.puller_kick(&partner) {
        kick.notify_one();
    }
    Ok(())
}
