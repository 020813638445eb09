//! `Analyst.PublishBatch` and `Analyst.List`: bulk publishing as a bidirectional
//! stream (one answer message per request chunk, one result per item), and the
//! paged listing of what the node holds.
//!
//! Chunks are pipelined: one is prepared while the one before it is written.
//! A chunk is answered only after its good items are durable. A bad item is an
//! answer with its field and reason, never a failed stream; the stream fails only
//! when the chunk itself is unusable (too many items) or its write fails, and
//! then nothing of that chunk was stored.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::convert::{draft_from_publish, error_field, stored_view};
use crate::status::status;
use liaison_core::proto;
use liaison_core::record::kind_from_wire;
use liaison_core::untrusted::quote;
use liaison_node::bulk::{BulkDraft, BulkOutcome, BulkSession, PreparedChunk};
use liaison_node::error::{Error, Result};
use liaison_node::listing::{self, Filter};
use liaison_node::node::Node;

/// Most items one `PublishBatchRequest` may carry.
pub const MAX_BATCH_ITEMS: usize = 1_000;

pub type PublishBatchStream = ReceiverStream<Result<proto::PublishBatchResponse, Status>>;

/// Serves one PublishBatch stream until the client closes its side.
///
/// Two tasks in a pipeline (issue 26): the first reads chunks and prepares
/// each (normalise, check, sign: CPU on the blocking pool); the second writes
/// them in order and answers each once it is durable. So chunk N+1 is prepared
/// on the second core while chunk N is written. At most [`PREPARED_AHEAD`]
/// prepared chunks wait in the queue for their write, plus the one the first
/// task holds, which bounds the memory per stream.
pub fn publish_batch(
    node: Arc<Node>,
    mut inbound: Streaming<proto::PublishBatchRequest>,
) -> PublishBatchStream {
    let (tx, rx) = mpsc::channel(4);
    let (prepared_tx, mut prepared_rx) = mpsc::channel::<Prepared>(PREPARED_AHEAD);
    let session = BulkSession::new(node.clone());
    tokio::spawn({
        let session = session.clone();
        async move {
            let mut shutdown = node.shutdown.clone();
            loop {
                let chunk = tokio::select! {
                    chunk = inbound.message() => chunk,
                    _ = shutdown.wait() => Err(status(Error::ShuttingDown)),
                };
                let prepared = match chunk {
                    Ok(Some(chunk)) => prepare_chunk(&session, chunk).await,
                    Ok(None) => return,
                    Err(status) => Err(status),
                };
                let done = prepared.is_err();
                if prepared_tx.send(prepared).await.is_err() || done {
                    return;
                }
            }
        }
    });
    tokio::spawn(async move {
        let mut index = 0u64;
        while let Some(prepared) = prepared_rx.recv().await {
            let answer = match prepared {
                Ok((checked, chunk)) => write_chunk(&session, checked, chunk, index).await,
                Err(status) => Err(status),
            };
            let done = answer.is_err();
            if let Ok(response) = &answer {
                index += response.results.len() as u64;
            }
            if tx.send(answer).await.is_err() || done {
                // Dropping the receiver stops the preparing task at its next send.
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}

/// Prepared chunks of one stream that may wait for their write.
const PREPARED_AHEAD: usize = 1;

/// A chunk's items as checked for shape, and its drafts prepared.
type Prepared = Result<(Vec<Result<BulkDraft>>, PreparedChunk), Status>;

async fn prepare_chunk(session: &Arc<BulkSession>, chunk: proto::PublishBatchRequest) -> Prepared {
    if chunk.items.len() > MAX_BATCH_ITEMS {
        return Err(Status::invalid_argument(format!(
            "items: {} in one message; send at most {MAX_BATCH_ITEMS} per message",
            chunk.items.len()
        )));
    }
    let checked: Vec<Result<_>> = chunk
        .items
        .into_iter()
        .map(|item| {
            let strict = item.strict;
            draft_from_publish(item).map(|draft| BulkDraft { draft, strict })
        })
        .collect();
    let drafts = checked
        .iter()
        .filter_map(|d| d.as_ref().ok().cloned())
        .collect();
    let prepared = session.prepare(drafts).await.map_err(status)?;
    Ok((checked, prepared))
}

async fn write_chunk(
    session: &BulkSession,
    checked: Vec<Result<BulkDraft>>,
    prepared: PreparedChunk,
    first_index: u64,
) -> Result<proto::PublishBatchResponse, Status> {
    let mut published = session.write(prepared).await.map_err(status)?.into_iter();
    let results = checked
        .into_iter()
        .zip(first_index..)
        .map(|(draft, index)| {
            let outcome = match draft {
                Ok(_) => published
                    .next()
                    .unwrap_or_else(|| Err(Error::InvalidRequest("item: not processed".into()))),
                Err(e) => Err(e),
            };
            publish_result(index, outcome)
        })
        .collect();
    Ok(proto::PublishBatchResponse { results })
}

fn publish_result(index: u64, outcome: Result<BulkOutcome>) -> proto::PublishResult {
    let mut result = proto::PublishResult {
        index,
        ..Default::default()
    };
    match outcome {
        Ok(BulkOutcome::Stored(record, warninglists)) => {
            let indicator = record.payload.indicator();
            result.warninglists = warninglists;
            result.record_id = record.id.to_hex();
            result.normalized_value = indicator.map(|i| i.value.clone()).unwrap_or_default();
            result.outside_known_ranges = indicator.is_some_and(|i| i.outside_known_ranges);
        }
        Ok(BulkOutcome::AlreadyPresent {
            id,
            normalized_value,
            outside_known_ranges,
            warninglists,
        }) => {
            result.warninglists = warninglists;
            result.record_id = id.to_hex();
            result.already_present = true;
            result.normalized_value = normalized_value;
            result.outside_known_ranges = outside_known_ranges;
        }
        Err(e) => {
            let (field, reason) = error_field(&e);
            result.error_field = field;
            result.error = reason;
        }
    }
    result
}

/// One page of `Analyst.List`.
pub fn list(node: &Node, request: &proto::ListRequest) -> Result<proto::ListResponse> {
    let filter = Filter {
        kind: kind_from_wire(request.kind)?,
        label: match request.label.trim() {
            "" => None,
            label => Some(label.parse()?),
        },
        case_reference: Some(request.case_reference.trim().to_string()).filter(|c| !c.is_empty()),
        origin: match request.origin.trim() {
            "" => None,
            origin => Some(origin.parse().map_err(|_| {
                Error::InvalidRequest(format!(
                    "origin: {} is not a 64-hex-digit node id",
                    quote(origin)
                ))
            })?),
        },
        since_ms: (request.since_unix_ms > 0).then_some(request.since_unix_ms),
        include_revoked: request.include_revoked,
    };
    let before = match request.page_token.trim() {
        "" => u64::MAX,
        token => token.parse().map_err(|_| {
            Error::InvalidRequest(format!(
                "page_token: {} is not a token from an earlier answer",
                quote(token)
            ))
        })?,
    };
    let limit = match request.limit {
        0 => listing::DEFAULT_PAGE,
        n => (n as usize).min(listing::MAX_PAGE),
    };
    let page = listing::page(node, &filter, before, limit)?;
    Ok(proto::ListResponse {
        records: page.records.iter().map(|s| stored_view(node, s)).collect(),
        next_page_token: page.next.map(|n| n.to_string()).unwrap_or_default(),
    })
}
