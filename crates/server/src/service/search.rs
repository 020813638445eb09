//! `Analyst.Search` and `Analyst.SearchStream`: one search, two shapes. A
//! search is begun once ([`begin`]: the justification check, the normalised
//! queries, this node's records, the `search.local` note and, for a federated
//! search, the one `search.federated` audit entry, durable before any partner
//! is asked); its answer is then a sequence of events ([`events`]): this
//! node's part, one part per partner as its answer arrives, the end.
//! `SearchStream` sends the events as they come; `Search` is their collected
//! form ([`collected`]), so both calls take every decision in the same place.
//!
//! This module must never ask a partner itself (the fan-out, its deadline and
//! the verification of what a partner returns are `liaison_node::federated`'s),
//! nor write a second audit entry for one search.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::{Stream, StreamExt};
use tonic::Status;

use super::convert::record_view;
use liaison_core::indicator::Normalized;
use liaison_core::proto;
use liaison_core::proto::search_event::Event;
use liaison_identity::tls::Principal;
use liaison_node::correlation::correlate;
use liaison_node::error::Error;
use liaison_node::federated::{self, Purpose, ANSWER_BUFFER};
use liaison_node::node::Node;

/// The stream `Analyst.SearchStream` answers with.
pub type SearchEventStream =
    Pin<Box<dyn Stream<Item = Result<proto::SearchEvent, Status>> + Send + 'static>>;

/// A search that passed its checks and was recorded: this node's part of
/// the answer, and what the partners are to be asked, if any.
pub(super) struct Begun {
    local: proto::SearchLocal,
    /// For a federated search: the queries, the purpose sent with them and
    /// the deadline.
    federated: Option<(Vec<Normalized>, Purpose, Duration)>,
}

/// Everything a search decides before a partner is asked. Refused before
/// anything is looked at, so a refused search leaves no trace but the refusal.
pub(super) async fn begin(
    node: &Arc<Node>,
    who: &Principal,
    purpose: Purpose,
    request: &proto::SearchRequest,
    queries: Vec<Normalized>,
    deadline: Duration,
    local_views: Vec<proto::RecordView>,
) -> Result<Begun, Error> {
    let described: Vec<String> = queries
        .iter()
        .map(|q| format!("{}:{}", q.kind, q.value))
        .collect();
    // A consultation by one of the agency's users: queued, never delays the answer.
    let detail = serde_json::json!({
        "queries": described,
        "results": local_views.len(),
        "federated": request.federated,
    });
    node.audit.note(&who.describe(), "search.local", detail);
    let correlations = queries
        .iter()
        .map(|q| correlate(node, q))
        .collect::<Result<Vec<_>, _>>()?;
    let federated = match request.federated {
        false => None,
        true => {
            // The query itself leaves the agency: record who sent it, why, and
            // where, durably, before it does.
            let detail = serde_json::json!({
                "queries": described,
                "justification": purpose.justification,
                "case_reference": purpose.case_reference,
                "partners": node.partner_ids().iter().map(|p| p.to_hex()).collect::<Vec<_>>(),
            });
            node.audit(who.describe(), "search.federated", detail)
                .await?;
            Some((queries, purpose, deadline))
        }
    };
    Ok(Begun {
        local: proto::SearchLocal {
            records: local_views,
            normalized_queries: described,
            correlations,
        },
        federated,
    })
}

fn event(event: Event) -> proto::SearchEvent {
    proto::SearchEvent { event: Some(event) }
}

/// Sends the search's events on `out`: this node's part, then one per
/// partner as it answers (records another event already carried left out),
/// then the end. Stops as soon as `out`'s reader is gone, which cancels the
/// calls to the partners still outstanding.
pub(super) async fn events(node: Arc<Node>, begun: Begun, out: mpsc::Sender<proto::SearchEvent>) {
    let mut seen: HashSet<String> = begun
        .local
        .records
        .iter()
        .map(|r| r.record_id.clone())
        .collect();
    if out.send(event(Event::Local(begun.local))).await.is_err() {
        return;
    }
    let mut partners = 0u32;
    if let Some((queries, purpose, deadline)) = begun.federated {
        let (sender, answers) = mpsc::channel(ANSWER_BUFFER);
        let fan_out = federated::fan_out(&node, &queries, purpose, deadline, sender);
        let forward = async {
            // Owned here, so that leaving this block (the client went away)
            // drops it, which is what tells the fan-out to stop.
            let mut answers = answers;
            loop {
                let answer = tokio::select! {
                    answer = answers.recv() => answer,
                    () = out.closed() => return false,
                };
                let Some(answer) = answer else {
                    return true;
                };
                let partner_hex = answer.partner.to_hex();
                let records = answer
                    .records
                    .iter()
                    .filter(|r| seen.insert(r.id.to_hex()))
                    .map(|r| record_view(&node, r, Some(answer.partner), &partner_hex))
                    .collect();
                let part = proto::SearchPartner {
                    status: Some(answer.status),
                    records,
                };
                if out.send(event(Event::Partner(part))).await.is_err() {
                    return false;
                }
                partners += 1;
            }
        };
        let ((), finished) = tokio::join!(fan_out, forward);
        if !finished {
            return;
        }
    }
    let _ = out
        .send(event(Event::End(proto::SearchEnd { partners })))
        .await;
}

/// `Analyst.SearchStream`'s answer: the events through a bounded channel.
pub(super) fn stream(node: Arc<Node>, begun: Begun) -> SearchEventStream {
    let (sender, receiver) = mpsc::channel(ANSWER_BUFFER);
    tokio::spawn(events(node, begun, sender));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver).map(Ok))
}

/// `Analyst.Search`'s answer: the same events, collected into one response.
pub(super) async fn collected(node: Arc<Node>, begun: Begun) -> proto::SearchResponse {
    let (sender, mut receiver) = mpsc::channel(ANSWER_BUFFER);
    let mut response = proto::SearchResponse::default();
    let collect = async {
        while let Some(proto::SearchEvent { event }) = receiver.recv().await {
            match event {
                Some(Event::Local(local)) => {
                    response.records.extend(local.records);
                    response.normalized_queries = local.normalized_queries;
                    response.correlations = local.correlations;
                }
                Some(Event::Partner(part)) => {
                    response.records.extend(part.records);
                    response.partners.extend(part.status);
                }
                Some(Event::End(_)) | None => {}
            }
        }
    };
    tokio::join!(events(node, begun, sender), collect);
    response
        .records
        .sort_by_key(|r| std::cmp::Reverse(r.created_unix_ms));
    response
}
