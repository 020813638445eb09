//! Signed log heads as values: the hash chain over an origin's record ids, and
//! how a head is signed and checked (the origin must be its signer). This module
//! must never accept a head whose signature it has not checked.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};

use liaison_core::proto;
use liaison_core::record::RecordId;

const HEAD_PREFIX: &[u8] = b"liaison/v1/log-head\0";
const CHAIN_PREFIX: &[u8] = b"liaison/v1/head-chain\0";

/// One step of the chain.
pub fn chain(root: &[u8; 32], id: &RecordId) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(CHAIN_PREFIX);
    hasher.update(root);
    hasher.update(id.as_bytes());
    hasher.finalize().into()
}

/// Signs a head with the origin's key.
pub fn sign(key: &SigningKey, head: &proto::LogHead) -> proto::SignedHead {
    let bytes = head.encode_to_vec();
    let signature = key.sign(&[HEAD_PREFIX, &bytes].concat());
    proto::SignedHead {
        head: bytes,
        signature: signature.to_bytes().to_vec(),
        signer: key.verifying_key().to_bytes().to_vec(),
    }
}

/// Verifies, then decodes; the head's origin must be its signer.
pub fn open(signed: &proto::SignedHead) -> Result<proto::LogHead, String> {
    let signer: [u8; 32] = signed
        .signer
        .as_slice()
        .try_into()
        .map_err(|_| "signer: not 32 bytes")?;
    let signature: [u8; 64] = signed
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| "signature: not 64 bytes")?;
    let key = VerifyingKey::from_bytes(&signer).map_err(|_| "signer: not an Ed25519 key")?;
    key.verify_strict(
        &[HEAD_PREFIX, &signed.head].concat(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| "signature: does not verify")?;
    let head = proto::LogHead::decode(signed.head.as_slice()).map_err(|e| format!("head: {e}"))?;
    if head.origin != signed.signer || head.root.len() != 32 {
        return Err("head: origin differs from signer, or root is not 32 bytes".into());
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_verify_and_bind_origin() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let head = proto::LogHead {
            origin: key.verifying_key().to_bytes().to_vec(),
            size: 3,
            root: chain(&[0; 32], &RecordId([1; 32])).to_vec(),
            last_sequence: 3,
            signed_unix_ms: 1,
        };
        let signed = sign(&key, &head);
        assert_eq!(open(&signed).unwrap(), head);
        let mut other = signed.clone();
        other.signer = SigningKey::from_bytes(&[8; 32])
            .verifying_key()
            .to_bytes()
            .to_vec();
        assert!(open(&other).is_err());
        let mut bent = signed.clone();
        bent.head[3] ^= 1;
        assert!(open(&bent).is_err());
    }
}
