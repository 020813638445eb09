//! `liaison.v1.Federation`: serves a partner the records it may receive, from its
//! cursor on, then keeps the stream open and pushes each new commit.
//!
//! A stream ends when the partner goes away, is revoked, or the node shuts down.
//! Every batch served is written to the audit log (who was given what). What a
//! batch or a search answer holds is decided in [`liaison_node::sync::serve`]; this
//! file drives the stream, audits and maps errors to status codes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::require_partner;
use crate::status::status;
use liaison_core::policy::Grant;
use liaison_core::proto;
use liaison_core::proto::federation_server::Federation;
use liaison_core::record::NodeId;
use liaison_node::error::Error;
use liaison_node::node::Node;
use liaison_node::sync::compat::{self, PeerVersion};
use liaison_node::sync::serve::{self, answer_search, Disclosed};

/// A caught-up stream that sent a batch this recently is following a burst of
/// commits (a bulk publish, a relay's own stream)...
const BURST_GAP: Duration = Duration::from_millis(2);
/// ...and waits this long before reading the change log again, so one batch
/// (one flush at the receiver, one audit entry at each end) carries several
/// commits instead of one each. The first commit after a quiet spell goes out
/// at once, so a single publish is not delayed.
const COALESCE: Duration = Duration::from_millis(2);
/// Why an older Pull stream ended.
pub const REPLACED: &str = "replaced by a newer Pull stream from the same partner";

pub struct FederationService {
    node: Arc<Node>,
}

impl FederationService {
    pub fn new(node: Arc<Node>) -> Self {
        FederationService { node }
    }

    fn enrolled_grant(&self, partner: &NodeId) -> Result<Grant, Status> {
        self.node
            .grant_for(partner)
            .ok_or_else(|| Status::permission_denied("partner is no longer enrolled"))
    }
}

#[tonic::async_trait]
impl Federation for FederationService {
    type PullStream = ReceiverStream<Result<proto::PullBatch, Status>>;

    async fn pull(
        &self,
        request: Request<proto::PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let partner = require_partner(&self.node, &request)?;
        let grant = self.enrolled_grant(&partner)?;
        let version = PeerVersion::from_pull(request.get_ref());
        let verdict = compat::check(&version);
        let reader = Arc::new(version.clone());
        self.node.set_partner_version(&partner, version);
        verdict.map_err(|reason| status(Error::Incompatible(reason)))?;
        let revoked = self
            .node
            .revocation_signal(&partner)
            .ok_or_else(|| Status::permission_denied("partner is no longer enrolled"))?;
        if let Some(kick) = self.node.puller_kick(&partner) {
            kick.notify_one();
        }
        // One stream per partner: this one replaces any older one, which ends
        // at once even if its reader has stalled (a new stream from cursor 0
        // costs a rescan, so a partner must not hold many).
        let mut claim = self.node.limits.claim_pull(partner);
        let (tx, rx) = mpsc::channel(4);
        let ended = tx.clone();
        let server = StreamServer {
            node: self.node.clone(),
            grant,
            reader,
            cursor: checked_cursor(&self.node, partner, request.get_ref().cursor),
            tx,
            heads: self.node.heads.subscribe(),
            head_sent: None,
            next: None,
            last_sent: None,
        };
        tokio::spawn(async move {
            tokio::select! {
                _ = server.run(revoked) => {}
                _ = claim.replaced() => {
                    tracing::debug!(partner = %partner.short(), "pull stream replaced by a newer one");
                    // If the old reader is stalled the channel is full; dropping
                    // the sender still ends the stream.
                    let _ = ended.try_send(Err(Status::aborted(REPLACED)));
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn search(
        &self,
        request: Request<proto::FederatedQuery>,
    ) -> Result<Response<proto::FederatedAnswer>, Status> {
        let partner = require_partner(&self.node, &request)?;
        let grant = self.enrolled_grant(&partner)?;
        if !grant.kind.may_search() {
            return Err(status(Error::PermissionDenied(format!(
                "search: a partner of kind {} cannot run federated searches",
                grant.kind
            ))));
        }
        let query = request.into_inner();
        let node = self.node.clone();
        // What the partner last stated on a Pull; one that has not pulled yet
        // is taken to read what release 0.1.0 read.
        let reader = self
            .node
            .partner_version(&partner)
            .0
            .unwrap_or_else(|| PeerVersion::stated(0, &[], ""));
        let (answer, (ids, tally), query) = tokio::task::spawn_blocking(move || {
            answer_search(&node, &grant, &reader, &query).map(|(a, ids)| (a, ids, query))
        })
        .await
        .map_err(|_| Status::internal("search failed"))?
        .map_err(status)?;
        let detail = serde_json::json!({
            "analyst": query.analyst,
            "justification": query.justification,
            "case_reference": query.case_reference,
            "queries": query.queries.iter().map(query_label).collect::<Vec<_>>(),
            "records": ids,
            "counts": tally.to_json(),
        });
        self.node
            .audit(
                format!("partner {}", partner.to_hex()),
                "search.answer",
                detail,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(answer))
    }

    async fn announce_tls_rotation(
        &self,
        request: Request<proto::SignedTlsRotation>,
    ) -> Result<Response<proto::TlsRotationAck>, Status> {
        let partner = require_partner(&self.node, &request)?;
        super::rotation::accept_rotation(&self.node, partner, request.get_ref()).await?;
        Ok(Response::new(proto::TlsRotationAck {}))
    }

    async fn ping(
        &self,
        request: Request<proto::PingRequest>,
    ) -> Result<Response<proto::PingResponse>, Status> {
        require_partner(&self.node, &request)?;
        Ok(Response::new(compat::ping_response(liaison_core::now_ms())))
    }

    async fn acknowledge(
        &self,
        request: Request<proto::Receipt>,
    ) -> Result<Response<proto::ReceiptAck>, Status> {
        let partner = require_partner(&self.node, &request)?;
        liaison_node::accountability::disclose::receipt(&self.node, &partner, request.get_ref())
            .map_err(|reason| status(Error::InvalidRequest(format!("receipt {reason}"))))?;
        Ok(Response::new(proto::ReceiptAck {}))
    }

    async fn get_lookup_filter(
        &self,
        request: Request<proto::LookupFilterRequest>,
    ) -> Result<Response<proto::LookupFilter>, Status> {
        let partner = require_partner(&self.node, &request)?;
        let grant = self.enrolled_grant(&partner)?;
        refuse_lookup_unless_searcher(&grant)?;
        let known = &request.get_ref().known_digest;
        let filter = liaison_node::lookup::serve::get_filter(&self.node, &grant, known)
            .await
            .map_err(status)?;
        Ok(Response::new(filter))
    }

    async fn evaluate(
        &self,
        request: Request<proto::EvaluateRequest>,
    ) -> Result<Response<proto::EvaluateResponse>, Status> {
        let partner = require_partner(&self.node, &request)?;
        refuse_lookup_unless_searcher(&self.enrolled_grant(&partner)?)?;
        let answer = liaison_node::lookup::serve::evaluate(&self.node, partner, request.get_ref())
            .await
            .map_err(status)?;
        Ok(Response::new(answer))
    }
}

/// A private lookup is a search: kinds that may not search (NGOs, platforms)
/// may not look up either.
fn refuse_lookup_unless_searcher(grant: &Grant) -> Result<(), Status> {
    match grant.kind.may_search() {
        true => Ok(()),
        false => Err(status(Error::PermissionDenied(format!(
            "lookup: a partner of kind {} cannot run private lookups",
            grant.kind
        )))),
    }
}

/// A partner's cursor past our durable change log means this node lost its
/// tail (restored from a backup): serve from the start, or the partner would
/// skip as many of our next records. It de-duplicates by record id.
fn checked_cursor(node: &Node, partner: NodeId, cursor: u64) -> u64 {
    let durable = node.commits.durable();
    if cursor <= durable {
        return cursor;
    }
    tracing::warn!(partner = %partner.short(), cursor, durable, "partner's cursor is past this node's change log (restored from a backup?); serving from the start");
    0
}

fn query_label(q: &proto::federated_query::Query) -> String {
    let kind = u8::try_from(q.kind)
        .ok()
        .and_then(liaison_core::indicator::Kind::from_code);
    match kind {
        Some(kind) => format!("{kind}:{}", q.value),
        None => format!("kind-{}:{}", q.kind, q.value),
    }
}

struct StreamServer {
    node: Arc<Node>,
    grant: Grant,
    /// What the puller stated: records it cannot read are withheld.
    reader: Arc<PeerVersion>,
    cursor: u64,
    tx: mpsc::Sender<Result<proto::PullBatch, Status>>,
    /// The version of the heads (ours and those seen), and the one last sent.
    heads: tokio::sync::watch::Receiver<u64>,
    head_sent: Option<u64>,
    /// The batch after the one being audited and sent, built meanwhile.
    next: Option<Building>,
    /// When the last batch of records went out.
    last_sent: Option<Instant>,
}

type Built = Result<Option<(proto::PullBatch, Disclosed)>, Error>;
type Building = tokio::task::JoinHandle<Built>;

impl StreamServer {
    async fn run(mut self, mut revoked: tokio::sync::watch::Receiver<bool>) {
        let mut changes = self.node.commits.changes();
        let mut shutdown = self.node.shutdown.clone();
        loop {
            match self.send_pending().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(status) => {
                    let _ = self.tx.send(Err(status)).await;
                    return;
                }
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() { return }
                    self.coalesce_during_a_burst().await;
                }
                changed = self.heads.changed() => if changed.is_err() { return },
                _ = liaison_node::node::until_set(&mut revoked) => {
                    let _ = self.tx.send(Err(Status::permission_denied("partner enrollment revoked"))).await;
                    return;
                }
                _ = shutdown.wait() => {
                    let _ = self.tx.send(Err(Status::unavailable("node shutting down; resume from your cursor"))).await;
                    return;
                }
                _ = self.tx.closed() => return,
            }
        }
    }

    async fn coalesce_during_a_burst(&self) {
        if self
            .last_sent
            .is_some_and(|sent| sent.elapsed() < BURST_GAP)
        {
            tokio::time::sleep(COALESCE).await;
        }
    }

    /// Puts our latest head and the heads of other origins we have seen on the
    /// batch if any changed since this stream last carried them.
    fn attach_heads(&mut self, batch: &mut proto::PullBatch) -> bool {
        let version = *self.heads.borrow_and_update();
        if self.head_sent == Some(version) {
            return false;
        }
        self.head_sent = Some(version);
        batch.signed_head = self.node.heads.own();
        batch.seen_heads = self.node.heads.seen(&self.node.node_id(), &self.grant.node);
        batch.signed_head.is_some() || !batch.seen_heads.is_empty()
    }

    /// Sends one batch if the change log has moved past the cursor; returns
    /// whether there may be more to send right away.
    async fn send_pending(&mut self) -> Result<bool, Status> {
        let building = match self.next.take() {
            Some(building) => building,
            None => self.build(self.cursor),
        };
        let built = building
            .await
            .map_err(|_| Status::internal("batch builder failed"))?
            .map_err(status)?;
        let Some((mut batch, (ids, tally))) = built else {
            // Nothing new to disclose, but a new head of ours goes out alone.
            let mut batch = proto::PullBatch {
                cursor: self.cursor,
                ..Default::default()
            };
            if self.attach_heads(&mut batch) {
                self.tx
                    .send(Ok(batch))
                    .await
                    .map_err(|_| Status::cancelled("partner went away"))?;
            }
            return Ok(false);
        };
        // Behind the durable head: build the next batch while this one is audited
        // and sent, so reading and filtering overlaps the audit queue and the
        // network. Caught up: wait for the next commit instead.
        let backlog = batch.cursor < batch.head;
        if backlog {
            self.next = Some(self.build(batch.cursor));
        }
        self.attach_heads(&mut batch);
        // Logged (queued for the writer's next group sync) before it is sent; only
        // a batch about to be sent is logged, never the one built in advance.
        let (node, partner, cursor) = (self.node.clone(), self.grant.node, batch.cursor);
        tokio::task::spawn_blocking(move || {
            liaison_node::accountability::disclose::served_batch(
                &node, &partner, cursor, &ids, &tally,
            )
        })
        .await
        .map_err(|_| Status::internal("audit queue failed"))?;
        self.cursor = batch.cursor;
        self.tx
            .send(Ok(batch))
            .await
            .map_err(|_| Status::cancelled("partner went away"))?;
        self.last_sent = Some(Instant::now());
        Ok(backlog)
    }
}

impl StreamServer {
    /// Starts building the batch after `cursor` on a blocking thread. One that
    /// finds nothing new is simply dropped: the stream then waits for the next
    /// commit announcement, which was not yet seen when it read.
    fn build(&self, cursor: u64) -> Building {
        let (node, grant, reader) = (self.node.clone(), self.grant, self.reader.clone());
        tokio::task::spawn_blocking(move || serve::build_batch(&node, &grant, cursor, &reader))
    }
}
