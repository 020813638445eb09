//! `liaison.v1.Admin`: the node's identity and its partners. Admin certificates only;
//! every change is written to the audit log before it is acknowledged.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{partner_info, rotation_state, tlp_name};
use super::require_local;
use crate::status::status;
use liaison_core::proto;
use liaison_core::proto::admin_server::Admin;
use liaison_core::record::NodeId;
use liaison_identity::identity::{Bundle, Role};
use liaison_node::error::Error;
use liaison_node::node::Node;
use liaison_store::store::PartnerEntry;

pub struct AdminService {
    node: Arc<Node>,
}

impl AdminService {
    pub fn new(node: Arc<Node>) -> Self {
        AdminService { node }
    }

    async fn audit(
        &self,
        actor: &str,
        action: &'static str,
        detail: serde_json::Value,
    ) -> Result<(), Status> {
        self.node
            .audit(actor.to_string(), action, detail)
            .await
            .map_err(status)
    }

    pub fn own_bundle(node: &Node) -> Bundle {
        Bundle::create(
            &node.live_identity(),
            node.advertised_endpoints(),
            liaison_core::now_ms(),
        )
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    type BackupStream = super::ops::BackupStream;

    async fn backup(
        &self,
        request: Request<proto::BackupRequest>,
    ) -> Result<Response<Self::BackupStream>, Status> {
        let who = require_local(&self.node, &request, Role::Admin)?;
        let stream = super::ops::backup(self.node.clone(), who.describe()).await?;
        Ok(Response::new(stream))
    }

    async fn rotate_tls(
        &self,
        request: Request<proto::RotateTlsRequest>,
    ) -> Result<Response<proto::RotateTlsResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Admin)?;
        let force = request.get_ref().force;
        let done = self
            .node
            .rotate_tls_live(who.describe(), force)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RotateTlsResponse {
            old_pin: done.file.old_pin,
            new_pin: done.file.new_pin,
            old_valid_until_unix_ms: done.file.old_valid_until_ms,
            told: done.told,
            not_told: done.not_told,
            locked_out: done.locked_out,
        }))
    }

    async fn doctor(
        &self,
        request: Request<proto::DoctorRequest>,
    ) -> Result<Response<proto::DoctorReport>, Status> {
        require_local(&self.node, &request, Role::Admin)?;
        Ok(Response::new(super::ops::doctor(self.node.clone()).await))
    }

    async fn list_audit(
        &self,
        request: Request<proto::ListAuditRequest>,
    ) -> Result<Response<proto::ListAuditResponse>, Status> {
        require_local(&self.node, &request, Role::Admin)?;
        let answer = super::audit_read::list(self.node.clone(), request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    async fn audit_report(
        &self,
        request: Request<proto::AuditReportRequest>,
    ) -> Result<Response<proto::AuditReportResponse>, Status> {
        require_local(&self.node, &request, Role::Admin)?;
        let answer = super::audit_read::report(self.node.clone(), request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    async fn show_identity(
        &self,
        request: Request<proto::ShowIdentityRequest>,
    ) -> Result<Response<proto::IdentityInfo>, Status> {
        require_local(&self.node, &request, Role::Admin)?;
        let (unreadable, sample) = self.node.store.unreadable(20);
        Ok(Response::new(proto::IdentityInfo {
            name: self.node.identity.name.clone(),
            node_id: self.node.node_id().to_hex(),
            fingerprint: self.node.live_identity().fingerprint(),
            endpoints: self.node.advertised_endpoints(),
            records: self.node.store.record_count(),
            unreadable_records: unreadable,
            unreadable_sample: sample
                .iter()
                .map(|(id, reason)| format!("{id}: {reason}"))
                .collect(),
        }))
    }

    async fn export_identity(
        &self,
        request: Request<proto::ExportIdentityRequest>,
    ) -> Result<Response<proto::ExportIdentityResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Admin)?;
        self.audit(&who.describe(), "identity.export", serde_json::json!({}))
            .await?;
        Ok(Response::new(proto::ExportIdentityResponse {
            bundle: Self::own_bundle(&self.node).signed,
        }))
    }

    async fn add_partner(
        &self,
        request: Request<proto::AddPartnerRequest>,
    ) -> Result<Response<proto::PartnerInfo>, Status> {
        let who = require_local(&self.node, &request, Role::Admin)?;
        let request = request.into_inner();
        let bundle = Bundle::from_signed(&request.bundle)
            .map_err(Error::from)
            .map_err(status)?;
        if bundle.node_id == self.node.node_id() {
            return Err(status(Error::InvalidRequest(
                "this bundle is this node's own identity".into(),
            )));
        }
        if bundle.fingerprint() != request.confirmed_fingerprint.trim() {
            return Err(status(Error::InvalidRequest(format!(
                "fingerprint mismatch: the bundle's fingerprint is {}, the confirmed one was {:?}; compare it with the partner again",
                bundle.fingerprint(),
                request.confirmed_fingerprint
            ))));
        }
        let (kind, max_evaluation) = partner_terms(&request)?;
        if self.node.partner_entry(&bundle.node_id).is_some() {
            return Err(status(Error::Conflict(format!(
                "{} is already a partner; revoke it first to change its terms",
                bundle.name
            ))));
        }
        let max_tlp = tlp_name(&request.max_tlp).map_err(status)?;
        let mut entry = PartnerEntry::from_bundle(&bundle, max_tlp.as_str(), request.relay, None);
        entry.kind = kind;
        entry.max_evaluation = max_evaluation;
        // A refused pin must not reach the audit log as an enrollment.
        self.node
            .check_new_partner_pin(&bundle.node_id, &entry)
            .map_err(status)?;
        self.audit(
            &who.describe(),
            "partner.add",
            serde_json::json!({ "partner": entry.node_id, "name": entry.name, "max_tlp": entry.max_tlp, "relay": entry.relay, "fingerprint": bundle.fingerprint(), "kind": entry.kind, "max_evaluation": entry.max_evaluation }),
        ).await?;
        // Registering first refuses a pin already enrolled for someone else.
        self.node
            .register_partner(bundle.node_id, entry.clone())
            .map_err(status)?;
        if let Err(e) = self.node.store.put_partner(&bundle.node_id, &entry).await {
            self.node.unregister_partner(&bundle.node_id);
            return Err(status(Error::from(e)));
        }
        liaison_node::sync::start_puller(self.node.clone(), bundle.node_id);
        tracing::info!(partner = %bundle.node_id.short(), name = %entry.name, max_tlp = %entry.max_tlp, relay = entry.relay, "partner enrolled");
        let state = self
            .node
            .store
            .sync_state(&bundle.node_id)
            .map_err(Error::from)
            .map_err(status)?;
        Ok(Response::new(partner_info(
            &entry,
            &state,
            "connecting".into(),
            &bundle.tls_cert_der,
            &bundle.node_id,
            Default::default(),
        )))
    }

    async fn list_partners(
        &self,
        request: Request<proto::ListPartnersRequest>,
    ) -> Result<Response<proto::ListPartnersResponse>, Status> {
        require_local(&self.node, &request, Role::Admin)?;
        let mut partners = Vec::new();
        for (id, entry) in self
            .node
            .store
            .partners()
            .map_err(Error::from)
            .map_err(status)?
        {
            let state = self
                .node
                .store
                .sync_state(&id)
                .map_err(Error::from)
                .map_err(status)?;
            let cert = bundle_cert(&entry);
            let mut info = partner_info(
                &entry,
                &state,
                self.node.connection_state(&id),
                &cert,
                &id,
                self.node.partner_version(&id),
            );
            info.lag = crate::metrics::partner_lag(&id, state.cursor);
            info.rejected_by_reason = crate::metrics::rejected_by_reason_of(&id)
                .into_iter()
                .collect();
            info.rotation = rotation_state(
                &entry,
                self.node.rotation().as_deref(),
                &id,
                liaison_core::now_ms(),
            );
            partners.push(info);
        }
        let known_origins = self
            .node
            .store
            .known_origins()
            .map_err(Error::from)
            .map_err(status)?
            .into_iter()
            .map(|entry| {
                let id: Option<NodeId> = entry.node_id.parse().ok();
                proto::KnownOrigin {
                    blocked: entry.blocked,
                    fingerprint: id
                        .map(|id| {
                            liaison_identity::identity::fingerprint(&id, &bundle_cert(&entry))
                        })
                        .unwrap_or_default(),
                    name: entry.name,
                    node_id: entry.node_id,
                    known_via: entry.known_via.unwrap_or_default(),
                }
            })
            .collect();
        Ok(Response::new(proto::ListPartnersResponse {
            partners,
            known_origins,
        }))
    }

    async fn block_origin(
        &self,
        request: Request<proto::BlockOriginRequest>,
    ) -> Result<Response<proto::BlockOriginResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Admin)?;
        let id = parse_node_id(&request.get_ref().node_id).map_err(status)?;
        self.block(&who.describe(), id).await?;
        Ok(Response::new(proto::BlockOriginResponse {}))
    }

    async fn revoke_client(
        &self,
        request: Request<proto::RevokeClientRequest>,
    ) -> Result<Response<proto::RevokeClientResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Admin)?;
        let text = request.get_ref().cert_sha256.trim().to_lowercase();
        let pin: [u8; 32] = hex::decode(&text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::InvalidRequest("cert_sha256: not 64 hex digits".into()))
            .map_err(status)?;
        if pin == liaison_identity::tls::PinSet::pin_of(&self.node.live_tls.cert_der()) {
            return Err(status(Error::InvalidRequest(
                "that is this node's own TLS certificate".into(),
            )));
        }
        let revoked = self
            .node
            .store
            .revoked_clients()
            .map_err(Error::from)
            .map_err(status)?;
        if revoked.contains(&pin) {
            // Nothing changes, so nothing to log; the caller is told.
            return Ok(Response::new(proto::RevokeClientResponse {
                already_revoked: true,
            }));
        }
        self.audit(
            &who.describe(),
            "client.revoke",
            serde_json::json!({ "cert_sha256": text }),
        )
        .await?;
        self.node
            .store
            .revoke_client(pin)
            .await
            .map_err(Error::from)
            .map_err(status)?;
        self.node.pins.deny(pin);
        Ok(Response::new(proto::RevokeClientResponse {
            already_revoked: false,
        }))
    }

    async fn revoke_partner(
        &self,
        request: Request<proto::RevokePartnerRequest>,
    ) -> Result<Response<proto::RevokePartnerResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Admin)?;
        let id = parse_node_id(&request.get_ref().node_id).map_err(status)?;
        let Some(entry) = self.node.partner_entry(&id) else {
            return Err(status(Error::NotFound(format!("partner {id}"))));
        };
        self.audit(
            &who.describe(),
            "partner.revoke",
            serde_json::json!({ "partner": id.to_hex() }),
        )
        .await?;
        let was_connected =
            self.node.partner_state(&id) == liaison_node::partner_state::PartnerState::Connected;
        self.node.unregister_partner(&id);
        // Its next handshake gets a `certificate_revoked` alert, not the
        // `unknown_ca` of a node never enrolled, so its admin reads "revoked by
        // the partner" (until this node restarts; its puller then still knows
        // it was accepted before). Enrolling it again pins it, which wins.
        self.node
            .pins
            .deny_partner(liaison_identity::tls::PinSet::pin_of(&bundle_cert(&entry)));
        // Origins it introduced as a relay were trusted on its word: forget them
        // (blocked ones stay blocked); the partner's removal below flushes both.
        self.node
            .store
            .forget_origins_known_via(&id)
            .map_err(Error::from)
            .map_err(status)?;
        self.node
            .store
            .remove_partner(&id)
            .await
            .map_err(Error::from)
            .map_err(status)?;
        tracing::info!(partner = %id.short(), "partner revoked; its streams are closed");
        Ok(Response::new(proto::RevokePartnerResponse {
            was_connected,
        }))
    }
}

impl AdminService {
    /// Marks a known-via origin blocked; its records are refused from then on.
    async fn block(&self, who: &str, id: NodeId) -> Result<(), Status> {
        if self.node.partner_entry(&id).is_some() {
            return Err(status(Error::InvalidRequest(
                "this is an enrolled partner; revoke it instead".into(),
            )));
        }
        let mut entry = self
            .node
            .store
            .known_origin(&id)
            .map_err(Error::from)
            .map_err(status)?
            .ok_or_else(|| Error::NotFound(format!("known origin {id} (see `partner list`)")))
            .map_err(status)?;
        self.audit(
            who,
            "origin.block",
            serde_json::json!({ "origin": id.to_hex(), "name": entry.name }),
        )
        .await?;
        entry.blocked = true;
        self.node
            .store
            .put_known_origin(&id, &entry)
            .map_err(Error::from)
            .map_err(status)?;
        self.node
            .store
            .flush()
            .await
            .map_err(Error::from)
            .map_err(status)?;
        Ok(())
    }
}

fn parse_node_id(text: &str) -> Result<NodeId, Error> {
    text.parse()
        .map_err(|_| Error::InvalidRequest("node_id: not a 64-hex-digit node id".into()))
}

fn bundle_cert(entry: &PartnerEntry) -> Vec<u8> {
    hex::decode(&entry.bundle)
        .ok()
        .and_then(|bytes| Bundle::from_signed(&bytes).ok())
        .map(|b| b.tls_cert_der)
        .unwrap_or_default()
}

/// The partner kind and its terms (issue 15): only an agency relays; only a
/// platform has an evaluation cap.
fn partner_terms(request: &proto::AddPartnerRequest) -> Result<(String, String), Status> {
    use liaison_core::policy::PartnerKind;
    let kind: PartnerKind = request.kind.parse().map_err(Error::from).map_err(status)?;
    if kind != PartnerKind::Agency && request.relay {
        return Err(status(Error::InvalidRequest(format!(
            "relay: a partner of kind {kind} never relays; enroll it without --relay"
        ))));
    }
    let cap = request.max_evaluation.trim();
    let max_evaluation = match (kind, cap) {
        (PartnerKind::Platform, "") => liaison_core::record::Evaluation::UNEVALUATED.to_string(),
        (PartnerKind::Platform, cap) => cap
            .parse::<liaison_core::record::Evaluation>()
            .map_err(|e| {
                Error::InvalidRequest(e.to_string().replacen("evaluation", "max_evaluation", 1))
            })
            .map_err(status)?
            .to_string(),
        (_, "") => String::new(),
        (_, _) => {
            return Err(status(Error::InvalidRequest(
                "max_evaluation: only a platform partner has an evaluation cap".into(),
            )))
        }
    };
    Ok((kind.as_str().to_string(), max_evaluation))
}
