//! `liaison.v1.Analyst`: publish, get and search, for the agency's own users.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{draft_from_publish, kind_from_wire, record_id, record_view};
use super::require_local;
use crate::error::Error;
use crate::identity::Role;
use crate::indicator::{self, Context, Normalized};
use crate::node::Node;
use crate::proto;
use crate::proto::analyst_server::Analyst;

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
                        "value {:?} is not a valid indicator of any kind; give --kind to see why",
                        request.value
                    ))),
                    false => Ok(found),
                }
            }
        }
    }
}

#[tonic::async_trait]
impl Analyst for AnalystService {
    async fn publish(
        &self,
        request: Request<proto::PublishRequest>,
    ) -> Result<Response<proto::PublishResponse>, Status> {
        let who = require_local(&self.node, &request, Role::Analyst)?;
        let draft = draft_from_publish(request.into_inner())?;
        let record = self.node.publish(draft).await?;
        let indicator = record.payload.indicator();
        tracing::info!(record = %record.id.short(), by = %who.describe(), "published");
        Ok(Response::new(proto::PublishResponse {
            record_id: record.id.to_hex(),
            sequence: record.payload.sequence,
            outside_known_ranges: indicator.map(|i| i.outside_known_ranges).unwrap_or(false),
            normalized_value: indicator.map(|i| i.value.clone()).unwrap_or_default(),
        }))
    }

    async fn get(
        &self,
        request: Request<proto::GetRequest>,
    ) -> Result<Response<proto::RecordView>, Status> {
        require_local(&self.node, &request, Role::Analyst)?;
        let id = record_id(&request.get_ref().record_id)?;
        let stored = self.node.store.get(&id).map_err(Error::from)?;
        match stored {
            Some(stored) => Ok(Response::new(record_view(&self.node, &stored))),
            None => Err(Error::NotFound(id.to_hex()).into()),
        }
    }

    async fn search(
        &self,
        request: Request<proto::SearchRequest>,
    ) -> Result<Response<proto::SearchResponse>, Status> {
        require_local(&self.node, &request, Role::Analyst)?;
        let queries = self.normalize_query(request.get_ref())?;
        let now = crate::now_ms();
        let mut records = Vec::new();
        for query in &queries {
            for id in self
                .node
                .store
                .lookup(query.kind, &query.value)
                .map_err(Error::from)?
            {
                let Some(stored) = self.node.store.get(&id).map_err(Error::from)? else {
                    continue;
                };
                let expired = stored
                    .record
                    .payload
                    .indicator()
                    .is_some_and(|i| i.valid_until_ms <= now);
                if !expired {
                    records.push(record_view(&self.node, &stored));
                }
            }
        }
        records.sort_by_key(|r| std::cmp::Reverse(r.created_unix_ms));
        Ok(Response::new(proto::SearchResponse {
            records,
            normalized_queries: queries
                .iter()
                .map(|q| format!("{}:{}", q.kind, q.value))
                .collect(),
        }))
    }
}
