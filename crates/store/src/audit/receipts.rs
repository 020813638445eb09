//! Signed receipts: after a puller stores a batch durably it signs (its node
//! key) the serving node's id, the batch cursor and a digest of the record ids,
//! and sends that on `Federation.Acknowledge`. The serving node checks the
//! signature against the partner's node id and keeps the receipt in its audit
//! log beside the disclosure it answers: an origin can then prove what a
//! partner received, and when.
//!
//! This module must never sign anything but a receipt under its own prefix,
//! and never accept a receipt not signed by the partner that sent it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use liaison_core::proto;
use liaison_core::record::{payload_id, NodeId, RecordId};

/// Domain separation of the batch digest.
pub const BATCH_PREFIX: &[u8] = b"liaison/v1/batch\0";
/// Domain separation of a receipt signature.
pub const RECEIPT_PREFIX: &[u8] = b"liaison/v1/receipt\0";
/// Served batches remembered per partner while their receipts are awaited.
const REMEMBERED: usize = 256;

/// SHA-256 over the prefix, the cursor and the record ids in served order.
pub fn batch_digest<'a>(cursor: u64, ids: impl IntoIterator<Item = &'a RecordId>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(BATCH_PREFIX);
    hasher.update(cursor.to_be_bytes());
    for id in ids {
        hasher.update(id.as_bytes());
    }
    hasher.finalize().into()
}

/// The digest of a batch as received, before any record is verified.
pub fn digest_of_wire(batch: &proto::PullBatch) -> [u8; 32] {
    let ids: Vec<RecordId> = batch
        .records
        .iter()
        .map(|r| payload_id(&r.payload))
        .collect();
    batch_digest(batch.cursor, &ids)
}

/// At most this many batches in one receipt (each is 44 bytes on the wire).
pub const MAX_BATCHES: usize = 512;

fn message(server: &NodeId, receipt: &proto::Receipt) -> Vec<u8> {
    let mut message = [
        RECEIPT_PREFIX,
        server.as_bytes(),
        &receipt.stored_unix_ms.to_be_bytes(),
    ]
    .concat();
    for batch in &receipt.batches {
        message.extend_from_slice(&batch.cursor.to_be_bytes());
        message.extend_from_slice(&batch.batch_digest);
        message.extend_from_slice(&batch.records.to_be_bytes());
    }
    message
}

/// A batch the puller stored durably: (cursor, digest, records).
pub type Stored = (u64, [u8; 32], u32);

/// The puller's receipt for batches from `server`, signed with its node key.
pub fn sign(key: &SigningKey, server: &NodeId, batches: &[Stored]) -> proto::Receipt {
    let mut receipt = proto::Receipt {
        batches: batches
            .iter()
            .map(|(cursor, digest, records)| proto::receipt::Batch {
                cursor: *cursor,
                batch_digest: digest.to_vec(),
                records: *records,
            })
            .collect(),
        stored_unix_ms: liaison_core::now_ms(),
        signature: Vec::new(),
    };
    receipt.signature = key.sign(&message(server, &receipt)).to_bytes().to_vec();
    receipt
}

/// Checks a receipt from `partner` for batches `server` (this node) served.
pub fn verify(partner: &NodeId, server: &NodeId, receipt: &proto::Receipt) -> Result<(), String> {
    if receipt.batches.is_empty() || receipt.batches.len() > MAX_BATCHES {
        return Err(format!("batches: between 1 and {MAX_BATCHES}"));
    }
    if receipt.batches.iter().any(|b| b.batch_digest.len() != 32) {
        return Err("batch_digest: must be 32 bytes".into());
    }
    let signature: [u8; 64] = receipt
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| "signature: must be 64 bytes".to_string())?;
    let key = VerifyingKey::from_bytes(partner.as_bytes())
        .map_err(|_| "signature: the partner's node id is not a usable key".to_string())?;
    key.verify_strict(
        &message(server, receipt),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| "signature: does not verify with the partner's node key".to_string())
}

/// A served batch: its cursor and digest.
type BatchKey = (u64, [u8; 32]);

/// The batches served to each partner whose receipts are still awaited.
#[derive(Default)]
pub struct Served {
    batches: Mutex<HashMap<NodeId, VecDeque<BatchKey>>>,
}

impl Served {
    pub fn remember(&self, partner: NodeId, cursor: u64, digest: [u8; 32]) {
        if let Ok(mut batches) = self.batches.lock() {
            let queue = batches.entry(partner).or_default();
            if queue.len() >= REMEMBERED {
                queue.pop_front();
            }
            queue.push_back((cursor, digest));
        }
    }

    /// Whether this (cursor, digest) was served to `partner`; forgets it.
    pub fn acknowledge(&self, partner: &NodeId, cursor: u64, digest: &[u8]) -> bool {
        let Ok(mut batches) = self.batches.lock() else {
            return false;
        };
        let Some(queue) = batches.get_mut(partner) else {
            return false;
        };
        match queue
            .iter()
            .position(|(c, d)| *c == cursor && d.as_slice() == digest)
        {
            Some(at) => {
                queue.remove(at);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_binds_server_cursor_and_digest() {
        let puller = SigningKey::from_bytes(&[5; 32]);
        let partner = NodeId(puller.verifying_key().to_bytes());
        let server = NodeId([1; 32]);
        let ids = [RecordId([2; 32]), RecordId([3; 32])];
        let digest = batch_digest(9, &ids);
        assert_ne!(digest, batch_digest(10, &ids), "the cursor is covered");
        let receipt = sign(&puller, &server, &[(9, digest, 2)]);
        assert!(verify(&partner, &server, &receipt).is_ok());
        assert!(verify(&partner, &NodeId([4; 32]), &receipt).is_err());
        let mut changed = receipt.clone();
        changed.batches[0].cursor = 10;
        assert!(verify(&partner, &server, &changed).is_err());
        let stranger = NodeId(SigningKey::from_bytes(&[6; 32]).verifying_key().to_bytes());
        assert!(verify(&stranger, &server, &receipt).is_err());

        let served = Served::default();
        served.remember(partner, 9, digest);
        assert!(!served.acknowledge(&partner, 9, &[0; 32]));
        assert!(served.acknowledge(&partner, 9, &digest));
        assert!(!served.acknowledge(&partner, 9, &digest), "only once");
    }
}
