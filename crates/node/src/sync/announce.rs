//! Telling a partner about this node's TLS rotation, before pulling from it:
//! over the old certificate (which the partner still pins, or still accepts
//! during the grace period), a statement signed by the identity key. It must
//! never use the old certificate for anything but this announcement, nor after
//! its grace period.

use std::sync::Arc;

use crate::node::Node;
use crate::partner_state::{diagnose_error, diagnose_status, Diagnosis};
use liaison_core::proto::federation_client::FederationClient;
use liaison_core::record::NodeId;

/// Announces the rotation to `partner` until it acknowledges it (recorded in
/// `tls/rotation.json`, which a further rotation consults), while the old
/// certificate is within its grace period. An error keeps the puller backing
/// off and trying again.
pub(super) async fn announce_rotation(
    node: &Arc<Node>,
    partner: NodeId,
    address: &str,
    partner_cert: &[u8],
) -> Result<(), Diagnosis> {
    let Some(rotation) = node.rotation() else {
        return Ok(());
    };
    if !rotation.in_grace() || rotation.announced_to(&partner) {
        return Ok(());
    }
    let config = liaison_identity::tls::client_config(
        &rotation.old_cert_der,
        &rotation.old_key_der,
        partner_cert,
    )
    .map_err(|e| e.to_string())?;
    let channel = crate::channel::connect_now(address, config)
        .await
        .map_err(|e| format!("announcing the TLS rotation: {e}"))?
        .map_err(|e| {
            let mut named = diagnose_error(&e);
            named.detail = format!("announcing the TLS rotation: {}", named.detail);
            named
        })?;
    let bundle = liaison_identity::identity::Bundle::create(
        &node.live_identity(),
        node.advertised_endpoints(),
        liaison_core::now_ms(),
    );
    let statement =
        liaison_identity::identity::sign_rotation(&node.identity, &rotation.file, &bundle);
    let answer = FederationClient::new(channel)
        .announce_tls_rotation(statement)
        .await;
    match answer {
        Ok(_) => {
            tracing::info!(partner = %partner.short(), "partner told of the new TLS certificate")
        }
        // A partner on an older version cannot move its pin: it must enroll
        // this node again. Do not stop pulling from it over that.
        Err(status) if status.code() == tonic::Code::Unimplemented => {
            tracing::warn!(partner = %partner.short(), "partner cannot take a TLS rotation (older version): it must enroll this node again");
        }
        Err(s) => {
            let mut named = diagnose_status(&s);
            named.detail = format!("announcing the TLS rotation: {}", named.detail);
            return Err(named);
        }
    }
    let record = rotation.clone();
    tokio::task::spawn_blocking(move || record.mark_announced(partner))
        .await
        .map_err(|e| format!("recording the acknowledgement: {e}"))?
        .map_err(|e| format!("recording the acknowledgement: {e}"))?;
    Ok(())
}

/// Tells every partner of the rotation now (a live `identity rotate-tls`), in
/// parallel, each within `deadline`. Returns (told, not told with the reason);
/// a partner not told here is told by its puller at its next connection.
pub async fn announce_now(
    node: &Arc<Node>,
    deadline: std::time::Duration,
) -> (Vec<String>, Vec<String>) {
    let mut tasks = tokio::task::JoinSet::new();
    for partner in node.partner_ids() {
        let Some(entry) = node.partner_entry(&partner) else {
            continue;
        };
        let node = node.clone();
        tasks.spawn(async move {
            let address = entry.endpoints.first().cloned().unwrap_or_default();
            let told = match super::partner_cert(&entry.bundle) {
                None => Err(Diagnosis::local("partner bundle unreadable")),
                Some(cert) => tokio::time::timeout(
                    deadline,
                    announce_rotation(&node, partner, &address, &cert),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(Diagnosis::new(
                        crate::partner_state::PartnerState::Unreachable,
                        "no answer in time",
                    ))
                }),
            };
            (entry.name, told)
        });
    }
    let (mut told, mut not_told) = (Vec::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((name, Ok(()))) => told.push(name),
            Ok((name, Err(reason))) => not_told.push(format!("{name}: {reason}")),
            Err(e) => not_told.push(format!("announcement task failed: {e}")),
        }
    }
    told.sort();
    not_told.sort();
    (told, not_told)
}
