//! `liaison.v1.Analyst`: publish, get, search (local and federated, whole or
//! streamed; see `search`), correlate, revoke and sight, for the agency's own users.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::convert::{draft_from_publish, record_id, stored_view};
use super::require_local;
use super::search;
use crate::status::status;
use liaison_core::indicator::{self, Context, Normalized};
use liaison_core::proto;
use liaison_core::proto::analyst_server::Analyst;
use liaison_core::record::kind_from_wire;
use liaison_identity::identity::Role;
use liaison_identity::tls::Principal;
use liaison_node::correlation::{correlate, live_records};
use liaison_node::error::Error;
use liaison_node::federated::{Purpose, DEFAULT_DEADLINE};
use liaison_node::node::Node;

/// Longest deadline an analyst may ask a federated search to wait.
const MAX_DEADLINE: Duration = Duration::from_secs(30);

pub struct AnalystService {
    node: Arc<Node>,
}

impl AnalystService {
    pub fn new(node: Arc<Node>) -> Self {
        AnalystService { node }
    }

    fn normalize_query(&self, request: &proto::SearchRequest) -> Result<Vec<Normalized>, Error> {
        let country = Some(request.default_country.trim().to_string())
            .filter(|c| !c.is_empty())
            .or_else(|| Some(self.node.config.default_country.clone()).filter(|c| !c.is_empty()));
        let context = Context {
            default_country: country,
        };
        match kind_from_wire(request.kind)? {
            Some(kind) => Ok(vec![indicator::normalize(kind, &request.value, &context)?]),
            None => {
                let found = indicator::normalize_any(&request.value, &context);
                match found.is_empty() {
                    true => Err(Error::InvalidRequest(format!(
                        "value: {} is not a valid indicator of any kind; give --kind to see why",
                        liaison_core::untrusted::quote(&request.value)
                    ))),
                    false => Ok(found),
                }
            }
        }
    }

    /// The checks and records both search calls make before answering
    /// (`search::begin`); refused before anything is looked at, so a refused
    /// search leaves no trace but the refusal.
    async fn begin_search(
        &self,
        request: Request<proto::SearchRequest>,
    ) -> Result<search::Begun, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        // Background work (sync, filter builds) yields while the local part
        // runs; the partners' answers are network, not CPU, and run after it.
        let _searching = self.node.foreground.enter();
        let request = request.into_inner();
        let purpose = Purpose {
            analyst: analyst_name(&who),
            justification: request.justification.clone(),
            case_reference: request.case_reference.clone(),
        };
        if request.federated {
            purpose.check(&self.node.config).map_err(status)?;
        }
        let queries = self.normalize_query(&request).map_err(status)?;
        let local = self.local_views(&queries).map_err(status)?;
        search::begin(
            &self.node,
            &who,
            purpose,
            &request,
            queries,
            deadline(&request),
            local,
        )
        .await
        .map_err(status)
    }

    /// A consultation by one of the agency's users: queued, never delays the answer.
    fn consulted(&self, who: &Principal, action: &str, detail: serde_json::Value) {
        self.node.audit.note(&who.describe(), action, detail);
    }

    fn local_views(&self, queries: &[Normalized]) -> Result<Vec<proto::RecordView>, Error> {
        let mut views = Vec::new();
        for query in queries {
            views.extend(
                live_records(&self.node, query)?
                    .iter()
                    .map(|stored| stored_view(&self.node, stored)),
            );
        }
        Ok(views)
    }
}

fn deadline(request: &proto::SearchRequest) -> Duration {
    match request.deadline_ms {
        0 => DEFAULT_DEADLINE,
        ms => Duration::from_millis(u64::from(ms)).min(MAX_DEADLINE),
    }
}

fn analyst_name(principal: &Principal) -> String {
    match principal {
        Principal::Local { name, .. } => name.clone(),
        Principal::Partner(id) => id.to_hex(),
    }
}

#[tonic::async_trait]
impl Analyst for AnalystService {
    type PublishBatchStream = super::bulk::PublishBatchStream;

    async fn publish_batch(
        &self,
        request: Request<tonic::Streaming<proto::PublishBatchRequest>>,
    ) -> Result<Response<Self::PublishBatchStream>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        tracing::info!(by = %who.describe(), "bulk publish stream opened");
        Ok(Response::new(super::bulk::publish_batch(
            self.node.clone(),
            request.into_inner(),
        )))
    }

    async fn list(
        &self,
        request: Request<proto::ListRequest>,
    ) -> Result<Response<proto::ListResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let node = self.node.clone();
        let request = request.into_inner();
        let filter = serde_json::json!({
            "kind": request.kind, "label": request.label, "case_reference": request.case_reference,
            "origin": request.origin, "since_unix_ms": request.since_unix_ms,
        });
        let page = tokio::task::spawn_blocking(move || super::bulk::list(&node, &request))
            .await
            .map_err(|_| status(Error::ShuttingDown))?
            .map_err(status)?;
        self.consulted(
            &who,
            "list",
            serde_json::json!({ "filter": filter, "results": page.records.len() }),
        );
        Ok(Response::new(page))
    }

    async fn publish(
        &self,
        request: Request<proto::PublishRequest>,
    ) -> Result<Response<proto::PublishResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let request = request.into_inner();
        let strict = request.strict;
        let draft = draft_from_publish(request).map_err(status)?;
        let (record, warninglists) = self.node.publish(draft, strict).await.map_err(status)?;
        let indicator = record.payload.indicator();
        tracing::info!(record = %record.id.short(), by = %who.describe(), "published");
        Ok(Response::new(proto::PublishResponse {
            record_id: record.id.to_hex(),
            sequence: record.payload.sequence,
            outside_known_ranges: indicator.map(|i| i.outside_known_ranges).unwrap_or(false),
            normalized_value: indicator.map(|i| i.value.clone()).unwrap_or_default(),
            warninglists,
        }))
    }

    async fn get(
        &self,
        request: Request<proto::GetRequest>,
    ) -> Result<Response<proto::RecordView>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let id = record_id(&request.get_ref().record_id).map_err(status)?;
        let stored = self
            .node
            .store
            .get(&id)
            .map_err(Error::from)
            .map_err(status)?;
        let detail =
            serde_json::json!({ "record": id.to_hex(), "results": usize::from(stored.is_some()) });
        self.consulted(&who, "get", detail);
        match stored {
            Some(stored) => Ok(Response::new(stored_view(&self.node, &stored))),
            None => Err(status(Error::NotFound(id.to_hex()))),
        }
    }

    async fn search(
        &self,
        request: Request<proto::SearchRequest>,
    ) -> Result<Response<proto::SearchResponse>, Status> {
        let begun = self.begin_search(request).await?;
        Ok(Response::new(
            search::collected(self.node.clone(), begun).await,
        ))
    }

    type SearchStreamStream = search::SearchEventStream;

    async fn search_stream(
        &self,
        request: Request<proto::SearchRequest>,
    ) -> Result<Response<Self::SearchStreamStream>, Status> {
        let begun = self.begin_search(request).await?;
        Ok(Response::new(search::stream(self.node.clone(), begun)))
    }

    async fn correlate(
        &self,
        request: Request<proto::SearchRequest>,
    ) -> Result<Response<proto::CorrelateResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let queries = self.normalize_query(request.get_ref()).map_err(status)?;
        let correlations = queries
            .iter()
            .map(|q| correlate(&self.node, q))
            .collect::<Result<Vec<_>, _>>()
            .map_err(status)?;
        let detail = serde_json::json!({
            "queries": queries.iter().map(|q| format!("{}:{}", q.kind, q.value)).collect::<Vec<_>>(),
            "results": correlations.len(),
        });
        self.consulted(&who, "correlate", detail);
        Ok(Response::new(proto::CorrelateResponse { correlations }))
    }

    async fn revoke(
        &self,
        request: Request<proto::RevokeRequest>,
    ) -> Result<Response<proto::RevokeResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let request = request.into_inner();
        let target = record_id(&request.record_id).map_err(status)?;
        if request.reason.trim().is_empty() {
            return Err(status(Error::InvalidRequest(
                "reason: say why the record is withdrawn".into(),
            )));
        }
        let revocation = self
            .node
            .revoke(target, request.reason)
            .await
            .map_err(status)?;
        tracing::info!(record = %target.short(), by = %who.describe(), "revoked");
        Ok(Response::new(proto::RevokeResponse {
            revocation_id: revocation.id.to_hex(),
        }))
    }

    async fn sight(
        &self,
        request: Request<proto::SightRequest>,
    ) -> Result<Response<proto::SightResponse>, Status> {
        require_local(&self.node, &request, Role::Analyst)?;
        let request = request.into_inner();
        let target = record_id(&request.record_id).map_err(status)?;
        let kind: liaison_core::record::SightingType = request
            .r#type
            .parse()
            .map_err(Error::from)
            .map_err(status)?;
        let sighting = self
            .node
            .sight(target, request.note, kind)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::SightResponse {
            sighting_id: sighting.id.to_hex(),
        }))
    }

    async fn lookup(
        &self,
        request: Request<proto::LookupRequest>,
    ) -> Result<Response<proto::LookupResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let request = request.into_inner();
        let as_search = proto::SearchRequest {
            value: request.value,
            kind: request.kind,
            default_country: request.default_country,
            ..Default::default()
        };
        let mut candidates = self.normalize_query(&as_search).map_err(status)?;
        // Each reading costs one evaluation at every partner.
        candidates.truncate(liaison_node::lookup::query::MAX_READINGS);
        // A partner counts one evaluation per reading; so does the share.
        let evaluations = candidates.len() as u32;
        self.node
            .lookup
            .shares
            .take(
                &who.describe(),
                evaluations,
                self.node.config.lookup.analyst_daily_share,
                liaison_core::now_ms(),
            )
            .map_err(Error::from)
            .map_err(status)?;
        let partners = liaison_node::lookup::query::lookup(&self.node, &candidates).await;
        let detail = serde_json::json!({
            "analyst": analyst_name(&who),
            "queries": candidates.iter().map(|q| format!("{}:{}", q.kind.as_str(), q.value)).collect::<Vec<_>>(),
            "hits": partners.iter().filter(|p| p.hit).map(|p| p.partner.to_hex()).collect::<Vec<_>>(),
        });
        self.node
            .audit(analyst_name(&who), "lookup.ask", detail)
            .await
            .map_err(status)?;
        let partners = partners
            .into_iter()
            .map(|p| proto::LookupPartner {
                node_id: p.partner.to_hex(),
                name: liaison_node::names::origin_name(&self.node, &p.partner),
                hit: p.hit,
                quota_left: p.quota_left,
                status: p.status,
                detail: p.detail,
            })
            .collect();
        Ok(Response::new(proto::LookupResponse { partners }))
    }

    async fn add_warninglist(
        &self,
        request: Request<proto::AddWarninglistRequest>,
    ) -> Result<Response<proto::WarninglistResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let added = liaison_node::warninglist::add(
            &self.node.store,
            &self.node.config.default_country,
            request.into_inner(),
        )
        .await
        .map_err(status)?;
        let detail = serde_json::json!({ "entries": added.entries.len() });
        self.node
            .audit(who.describe(), "warninglist.add", detail)
            .await
            .map_err(status)?;
        Ok(Response::new(added))
    }

    async fn list_warninglist(
        &self,
        request: Request<proto::ListWarninglistRequest>,
    ) -> Result<Response<proto::WarninglistResponse>, Status> {
        require_local(&self.node, &request, Role::Analyst)?;
        Ok(Response::new(
            liaison_node::warninglist::list(&self.node.store).map_err(status)?,
        ))
    }

    async fn remove_warninglist(
        &self,
        request: Request<proto::RemoveWarninglistRequest>,
    ) -> Result<Response<proto::WarninglistResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let removed = liaison_node::warninglist::remove(
            &self.node.store,
            &self.node.config.default_country,
            request.into_inner(),
        )
        .await
        .map_err(status)?;
        let detail = serde_json::json!({ "entries": removed.entries.len() });
        self.node
            .audit(who.describe(), "warninglist.remove", detail)
            .await
            .map_err(status)?;
        Ok(Response::new(removed))
    }

    async fn publish_bulletin(
        &self,
        request: Request<proto::PublishBulletinRequest>,
    ) -> Result<Response<proto::PublishResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let draft = liaison_node::bulletin::rpc::draft_from_request(request.into_inner())
            .map_err(status)?;
        let members = draft.members.len();
        let record = self.node.publish_bulletin(draft).await.map_err(status)?;
        let detail = serde_json::json!({ "record": record.id.to_hex(), "members": members });
        self.node
            .audit(who.describe(), "bulletin.publish", detail)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::PublishResponse {
            record_id: record.id.to_hex(),
            sequence: record.payload.sequence,
            ..Default::default()
        }))
    }

    async fn list_bulletins(
        &self,
        request: Request<proto::ListBulletinsRequest>,
    ) -> Result<Response<proto::ListBulletinsResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let listed = liaison_node::bulletin::rpc::list(&self.node).map_err(status)?;
        let detail = serde_json::json!({ "results": listed.bulletins.len() });
        self.consulted(&who, "bulletin.list", detail);
        Ok(Response::new(listed))
    }

    async fn get_bulletin(
        &self,
        request: Request<proto::GetRequest>,
    ) -> Result<Response<proto::BulletinView>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let view = liaison_node::bulletin::rpc::get(&self.node, &request.get_ref().record_id)
            .map_err(status)?;
        self.consulted(
            &who,
            "bulletin.get",
            serde_json::json!({ "record": view.record_id }),
        );
        Ok(Response::new(view))
    }
}
