//! The entries for disclosures and their receipts, built in one place so the
//! report (`liaison_store::audit::report`) can rely on their shape: one entry per batch
//! served (ids, cursor, digest, counts by TLP/kind/label), one per receipt.
//!
//! This module must never block on the disk: entries go to the writer queue.

use serde_json::json;

use crate::node::Node;
use liaison_core::proto;
use liaison_core::record::{NodeId, RecordId};
use liaison_store::audit::receipts::{self, batch_digest};
use liaison_store::audit::report::Tally;

/// Queues the `sync.disclose` entry for a batch about to be sent to `partner`,
/// and remembers its digest for the receipt.
pub fn served_batch(node: &Node, partner: &NodeId, cursor: u64, ids: &[RecordId], tally: &Tally) {
    if ids.is_empty() {
        return;
    }
    let digest = batch_digest(cursor, ids);
    node.audit.served().remember(*partner, cursor, digest);
    if !node.audit.enabled() {
        return;
    }
    let detail = json!({
        "cursor": cursor,
        "count": ids.len(),
        "first": ids.first().map(|id| id.to_hex()),
        "last": ids.last().map(|id| id.to_hex()),
        "digest": hex::encode(digest),
        "records": ids.iter().map(|id| id.to_hex()).collect::<Vec<_>>(),
        "counts": tally.to_json(),
    });
    node.audit.note(
        &format!("partner {}", partner.to_hex()),
        "sync.disclose",
        detail,
    );
}

/// Checks a partner's receipt and queues one `sync.receipt` entry for it.
pub fn receipt(node: &Node, partner: &NodeId, receipt: &proto::Receipt) -> Result<(), String> {
    receipts::verify(partner, &node.node_id(), receipt)?;
    let served = node.audit.served();
    let batches: Vec<_> = receipt
        .batches
        .iter()
        .map(|b| {
            json!({
                "cursor": b.cursor,
                "digest": hex::encode(&b.batch_digest),
                "records": b.records,
                "matches_disclosure": served.acknowledge(partner, b.cursor, &b.batch_digest),
            })
        })
        .collect();
    let detail = json!({
        "batches": batches,
        "stored_unix_ms": receipt.stored_unix_ms,
        "signature": hex::encode(&receipt.signature),
    });
    node.audit.note(
        &format!("partner {}", partner.to_hex()),
        "sync.receipt",
        detail,
    );
    Ok(())
}
