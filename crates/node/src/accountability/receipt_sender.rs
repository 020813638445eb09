//! The receipt sender: after this node stores a pulled batch durably, a task
//! signs (with the node key) receipts for the batches stored and sends them on
//! `Federation.Acknowledge`, a few calls a second. The receipt's format and
//! checks are `liaison_store::audit::receipts`'. This module must never delay
//! the Pull stream: receipts are best effort.

use std::sync::Arc;
use std::time::Duration;

use liaison_store::audit::receipts::{sign, Stored, MAX_BATCHES};

use crate::node::Node;
use liaison_core::proto;
use liaison_core::record::NodeId;

/// Receipts waiting for the sender task; more are dropped (best effort: a
/// missing receipt shows as "unreceipted", it never slows the stream).
const QUEUED_RECEIPTS: usize = 2048;
/// Pause between two receipt calls: a few calls a second, far below a
/// partner's rate limit, whatever the batch rate.
const PACE: Duration = Duration::from_millis(250);

/// Starts the task that signs and sends receipts to `server` for one Pull
/// stream: whatever stored batches have queued go in one receipt, then it
/// pauses. It ends when the returned sender is dropped.
pub fn start_sender(
    node: Arc<Node>,
    server: NodeId,
    mut client: proto::federation_client::FederationClient<tonic::transport::Channel>,
) -> tokio::sync::mpsc::Sender<Stored> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Stored>(QUEUED_RECEIPTS);
    tokio::spawn(async move {
        let mut batches = Vec::new();
        while rx.recv_many(&mut batches, MAX_BATCHES).await > 0 {
            let receipt = sign(&node.identity.signing_key, &server, &batches);
            batches.clear();
            if let Err(status) = client.acknowledge(receipt).await {
                tracing::debug!(partner = %server.short(), error = %status.message(), "receipt not delivered");
            }
            tokio::time::sleep(PACE).await;
        }
    });
    tx
}
