//! Federated search, the asking side: the normalised query goes to every
//! enrolled partner in parallel; each answer is verified record by record; the
//! whole search ends at the deadline, whoever has not answered by then is
//! reported as timed out. One slow or dead partner never delays the answer.
//! Each partner's answer is handed on as it arrives ([`fan_out`]), so a caller
//! can show it at once or collect them all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::node::Node;
use crate::partner_state::{diagnose_status, Diagnosis, PartnerState};
use liaison_core::indicator::Normalized;
use liaison_core::proto;
use liaison_core::proto::federation_client::FederationClient;
use liaison_core::proto::MAX_SYNC_MESSAGE_BYTES;
use liaison_core::record::{Envelope, NodeId, VerifiedRecord};

pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(2);

/// Who asks and why; the answering agency logs it.
#[derive(Clone, Debug)]
pub struct Purpose {
    pub analyst: String,
    pub justification: String,
    pub case_reference: String,
}

impl Purpose {
    /// Refuses a federated search without a reason when the node's config
    /// requires one (`require_justification`, on by default): the partners log
    /// the justification with the query, and their logging rules expect one.
    pub fn check(&self, config: &crate::config::NodeConfig) -> Result<(), crate::error::Error> {
        if config.require_justification && self.justification.trim().is_empty() {
            return Err(crate::error::Error::InvalidRequest(
                "justification: required for a federated search (say why you ask: `liaison search VALUE --federated --justification \"TEXT\"`, or the SearchRequest's justification field; every partner asked logs it). An admin can lift the requirement with require_justification = false in config.toml".into(),
            ));
        }
        Ok(())
    }
}

/// One partner's answer, as it arrives: its status row (answered with the
/// number of records, or why not) and the verified records it gave.
pub struct PartnerAnswer {
    pub partner: NodeId,
    pub status: proto::PartnerStatus,
    pub records: Vec<VerifiedRecord>,
}

/// How many answers may wait between the fan-out and whoever reads them.
pub const ANSWER_BUFFER: usize = 4;

/// Asks every enrolled partner in parallel and sends each one's answer on
/// `answers` as it arrives; at the deadline, one "timed out" answer for each
/// partner still silent. Exactly one answer per partner. Returns when all are
/// sent, or as soon as the reader goes away: the outstanding calls are then
/// cancelled (dropping the set aborts them), so nobody is asked for nothing.
pub async fn fan_out(
    node: &Arc<Node>,
    queries: &[Normalized],
    purpose: Purpose,
    deadline: Duration,
    answers: tokio::sync::mpsc::Sender<PartnerAnswer>,
) {
    let request = proto::FederatedQuery {
        queries: queries
            .iter()
            .map(|q| proto::federated_query::Query {
                kind: i32::from(q.kind.code()),
                value: q.value.clone(),
            })
            .collect(),
        analyst: purpose.analyst,
        justification: purpose.justification,
        case_reference: purpose.case_reference,
    };
    let started = Instant::now();
    let mut asks = JoinSet::new();
    let partners = node.partner_ids();
    for partner in partners.iter().copied() {
        let node = node.clone();
        let request = request.clone();
        let queries = queries.to_vec();
        asks.spawn(async move { (partner, ask(&node, partner, request, &queries).await) });
    }
    let mut answered = Vec::with_capacity(partners.len());
    let ended = tokio::time::sleep(deadline);
    tokio::pin!(ended);
    loop {
        let next = tokio::select! {
            next = asks.join_next() => next,
            () = &mut ended => break,
            () = answers.closed() => return,
        };
        let Some(Ok((partner, answer))) = next else {
            break;
        };
        let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let mut status = status_row(node, partner, latency_ms);
        let records = match answer {
            Ok(records) => {
                status.status = "answered".into();
                status.records = records.len() as u32;
                records
            }
            Err(failure) => {
                let failure = node.diagnose(&partner, failure);
                status.status = failure.state.search_status().into();
                status.detail = failure.to_string();
                Vec::new()
            }
        };
        let answer = PartnerAnswer {
            partner,
            status,
            records,
        };
        // A reader slower than the answers must not hold the other partners'
        // calls past the deadline: the send races it too, and a partner whose
        // answer could not be handed on in time is reported as timed out.
        tokio::select! {
            sent = answers.send(answer) => match sent {
                Ok(()) => answered.push(partner),
                Err(_) => return,
            },
            () = &mut ended => break,
        }
    }
    asks.abort_all();
    for partner in partners {
        if answered.contains(&partner) {
            continue;
        }
        let mut status = status_row(
            node,
            partner,
            u32::try_from(deadline.as_millis()).unwrap_or(u32::MAX),
        );
        status.status = "timed out".into();
        let answer = PartnerAnswer {
            partner,
            status,
            records: Vec::new(),
        };
        if answers.send(answer).await.is_err() {
            return;
        }
    }
}

/// A call that failed because its connection ended, not because the partner
/// answered: worth one retry on a new connection.
fn connection_was_closed(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Cancelled | tonic::Code::Unavailable
    ) && diagnose_status(status).state == PartnerState::Unreachable
}

fn status_row(node: &Node, partner: NodeId, latency_ms: u32) -> proto::PartnerStatus {
    proto::PartnerStatus {
        node_id: partner.to_hex(),
        name: crate::names::origin_name(node, &partner),
        latency_ms,
        ..Default::default()
    }
}

async fn ask(
    node: &Arc<Node>,
    partner: NodeId,
    request: proto::FederatedQuery,
    queries: &[Normalized],
) -> Result<Vec<VerifiedRecord>, Diagnosis> {
    let channel = node
        .partner_channel(&partner)
        .await
        .map_err(|e| Diagnosis::new(PartnerState::Unreachable, e.to_string()))?;
    let mut client =
        FederationClient::new(channel).max_decoding_message_size(MAX_SYNC_MESSAGE_BYTES);
    let answer = match client.search(request.clone()).await {
        Ok(answer) => answer,
        // The partner closed the reused connection under us (it restarted, or it
        // revoked us and dropped our connections): one more try on a fresh one
        // learns why, within the same deadline.
        Err(status) if connection_was_closed(&status) => client
            .search(request)
            .await
            .map_err(|status| diagnose_status(&status))?,
        Err(status) => return Err(diagnose_status(&status)),
    };
    let envelopes = answer
        .into_inner()
        .records
        .into_iter()
        .filter_map(|wire| Envelope::from_wire(wire).ok())
        .collect::<Vec<_>>();
    let queries = queries.to_vec();
    let verified = tokio::task::spawn_blocking(move || {
        Envelope::verify_many(envelopes)
            .into_iter()
            .filter_map(Result::ok)
            // A partner may only answer the question asked (for an address,
            // that includes the ranges that contain it).
            .filter(|r| {
                r.payload.indicator().is_some_and(|i| {
                    queries.iter().any(|q| {
                        liaison_core::indicator::answers((q.kind, &q.value), (i.kind, &i.value))
                    })
                })
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Diagnosis::local(e.to_string()))?;
    // A partner that has not yet received a revocation we hold may still offer the record.
    Ok(verified
        .into_iter()
        .filter(|r| !node.store.is_tombstoned(&r.id).unwrap_or(false))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_justification_is_required_unless_the_config_lifts_it() {
        let mut config = crate::config::NodeConfig::new("Agency A (example)", "127.0.0.1:0");
        let purpose = |text: &str| Purpose {
            analyst: "Analyst Example".into(),
            justification: text.into(),
            case_reference: String::new(),
        };
        for missing in ["", "  \n"] {
            let refused = purpose(missing).check(&config).unwrap_err().to_string();
            assert!(
                refused.starts_with("justification: required for a federated search")
                    && refused.contains("--justification"),
                "{refused}"
            );
        }
        purpose("victim statement 3 (fictional)")
            .check(&config)
            .expect("a reason given");
        config.require_justification = false;
        purpose("").check(&config).expect("requirement lifted");
    }
}
