//! Signed checkpoints: an `audit.checkpoint` entry whose detail carries the
//! node's Ed25519 signature over the sequence number and hash of the entry just
//! before it. Whoever can write the file but does not hold the node key cannot
//! make a rewritten chain pass the next checkpoint.
//!
//! This module must never sign anything but (sequence, chain hash) under its own
//! domain-separation prefix, so a checkpoint signature can never be taken for a
//! record's, a bundle's or a receipt's.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::json;

/// Domain separation for checkpoint signatures.
pub const CHECKPOINT_PREFIX: &[u8] = b"liaison/v1/audit-checkpoint\0";
/// The action name of a checkpoint entry.
pub const CHECKPOINT_ACTION: &str = "audit.checkpoint";

/// The signed message: prefix, sequence (big-endian), the 32-byte chain hash.
fn message(seq: u64, hash_hex: &str) -> Option<Vec<u8>> {
    let hash: [u8; 32] = hex::decode(hash_hex).ok()?.try_into().ok()?;
    Some([CHECKPOINT_PREFIX, &seq.to_be_bytes(), &hash].concat())
}

/// The detail of a checkpoint over entry `seq` whose hash is `hash_hex`.
pub(super) fn sign(key: &SigningKey, seq: u64, hash_hex: &str, reason: &str) -> serde_json::Value {
    // The chain hashes are our own hex SHA-256 strings: always 32 bytes.
    let signature = message(seq, hash_hex)
        .map(|m| hex::encode(key.sign(&m).to_bytes()))
        .unwrap_or_default();
    json!({
        "seq": seq,
        "hash": hash_hex,
        "signer": hex::encode(key.verifying_key().to_bytes()),
        "signature": signature,
        "reason": reason,
    })
}

/// Checks a checkpoint entry's detail: it must cover exactly the entry before
/// it (`prev_seq`, `prev_hash`) and carry a valid signature by `key`.
pub(super) fn check(
    detail: &serde_json::Value,
    prev_seq: u64,
    prev_hash: &str,
    key: Option<&VerifyingKey>,
) -> Result<(), String> {
    let seq = detail.get("seq").and_then(|v| v.as_u64());
    let hash = detail.get("hash").and_then(|v| v.as_str());
    if seq != Some(prev_seq) || hash != Some(prev_hash) {
        return Err(format!(
            "checkpoint does not cover the entry before it (seq {prev_seq}): entries before it were rewritten"
        ));
    }
    let Some(key) = key else {
        return Ok(());
    };
    let signature = detail
        .get("signature")
        .and_then(|v| v.as_str())
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or("checkpoint signature: missing or not 64 bytes of hex")?;
    let message = message(prev_seq, prev_hash).ok_or("checkpoint hash: not 32 bytes of hex")?;
    key.verify_strict(&message, &Signature::from_bytes(&signature))
        .map_err(|_| {
            "checkpoint signature: invalid for this node's key (forged checkpoint)".to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_sequence_and_hash() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let hash = hex::encode([7u8; 32]);
        let detail = sign(&key, 5, &hash, "count");
        let public = key.verifying_key();
        assert!(check(&detail, 5, &hash, Some(&public)).is_ok());
        assert!(check(&detail, 4, &hash, Some(&public)).is_err());
        let other = hex::encode([8u8; 32]);
        assert!(check(&detail, 5, &other, Some(&public)).is_err());
        let forger = SigningKey::from_bytes(&[4; 32]);
        let forged = sign(&forger, 5, &hash, "count");
        let error = check(&forged, 5, &hash, Some(&public)).unwrap_err();
        assert!(error.contains("forged"), "{error}");
    }
}
