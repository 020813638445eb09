//! Envelopes: signing our own payloads, and verifying foreign ones before anything
//! else looks at them.
//!
//! The signature covers a domain-separation prefix and the payload bytes exactly as
//! received; the record id is the SHA-256 of the same signed content, so the same
//! record relayed by two peers has one id. Never decode before verifying.

use ed25519_dalek::{Signer, SigningKey};
use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};
use sha2::{Digest, Sha256};

use super::signature;
use super::wire::{decode_payload, decode_payload_with, encode_payload, Checks};
use super::{NodeId, Payload, RecordError, RecordId};
use crate::proto;

/// Domain separation: a record signature can never be mistaken for a bundle's.
const SIGNING_PREFIX: &[u8] = b"liaison/v1/record\0";
/// Largest payload a node signs or accepts.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The record id of a payload (SHA-256 of the signed content), computable
/// before anything is verified (receipts name what arrived, good or bad).
pub fn payload_id(payload: &[u8]) -> RecordId {
    let mut hasher = Sha256::new();
    hasher.update(SIGNING_PREFIX);
    hasher.update(payload);
    RecordId(hasher.finalize().into())
}

/// A signed record as it travels: exact payload bytes, signature, signer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Envelope {
    pub payload: Vec<u8>,
    pub signature: [u8; 64],
    pub signer: NodeId,
}

impl Envelope {
    /// Checks the shape of a wire envelope; does not verify the signature.
    pub fn from_wire(wire: proto::Envelope) -> Result<Self, RecordError> {
        if wire.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(RecordError::Oversized(wire.payload.len()));
        }
        let signature: [u8; 64] = wire.signature.as_slice().try_into().map_err(|_| {
            RecordError::MalformedEnvelope(format!(
                "signature must be 64 bytes, got {}",
                wire.signature.len()
            ))
        })?;
        let signer = NodeId::from_slice(&wire.signer).map_err(|_| {
            RecordError::MalformedEnvelope(format!(
                "signer must be 32 bytes, got {}",
                wire.signer.len()
            ))
        })?;
        Ok(Envelope {
            payload: wire.payload,
            signature,
            signer,
        })
    }

    pub fn to_wire(&self) -> proto::Envelope {
        proto::Envelope {
            payload: self.payload.clone(),
            signature: self.signature.to_vec(),
            signer: self.signer.0.to_vec(),
        }
    }

    /// SHA-256 of the signed content.
    pub fn id(&self) -> RecordId {
        payload_id(&self.payload)
    }

    fn signed_message(&self) -> Vec<u8> {
        [SIGNING_PREFIX, &self.payload].concat()
    }

    /// The signature rule, identical for single and batch checks (see [`signature`]).
    fn verifying_key(&self) -> Result<VerificationKey, RecordError> {
        signature::verifying_key(&self.signer.0, &self.signature).map_err(|refusal| match refusal {
            signature::Refusal::WeakKey => RecordError::WeakKey(self.signer),
            signature::Refusal::BadSignature => RecordError::BadSignature(self.signer),
        })
    }

    /// Verifies the signature, then decodes and validates the payload.
    pub fn verify(self) -> Result<VerifiedRecord, RecordError> {
        let key = self.verifying_key()?;
        key.verify(
            &Signature::from_bytes(&self.signature),
            &self.signed_message(),
        )
        .map_err(|_| RecordError::BadSignature(self.signer))?;
        self.decode_verified()
    }

    /// Verifies many envelopes with one batch equation; on failure, falls back to one
    /// by one so that exactly the bad ones are reported. Batch and single checks
    /// follow the same rule (ZIP-215 plus the same pre-checks), so whether a record
    /// is accepted never depends on the other records in its batch.
    pub fn verify_many(envelopes: Vec<Envelope>) -> Vec<Result<VerifiedRecord, RecordError>> {
        if envelopes.len() >= 2 && Self::batch_verifies(&envelopes) {
            return envelopes
                .into_iter()
                .map(Envelope::decode_verified)
                .collect();
        }
        envelopes.into_iter().map(Envelope::verify).collect()
    }

    fn batch_verifies(envelopes: &[Envelope]) -> bool {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        // Keys already decoded in this batch: decoding is the same for the same
        // bytes, and a batch usually has one or a few signers.
        let mut decoded: Vec<NodeId> = Vec::new();
        for envelope in envelopes {
            if signature::check_encodings(&envelope.signer.0, &envelope.signature).is_err() {
                return false;
            }
            if !decoded.contains(&envelope.signer) {
                if VerificationKey::try_from(envelope.signer.0).is_err() {
                    return false;
                }
                decoded.push(envelope.signer);
            }
            let message = envelope.signed_message();
            batch.queue((
                VerificationKeyBytes::from(envelope.signer.0),
                Signature::from_bytes(&envelope.signature),
                &message,
            ));
        }
        batch.verify(rand_core::OsRng).is_ok()
    }

    /// Decodes a payload whose signature has been checked by the caller.
    fn decode_verified(self) -> Result<VerifiedRecord, RecordError> {
        self.decode_checked(Checks::Full)
    }

    fn decode_checked(self, checks: Checks) -> Result<VerifiedRecord, RecordError> {
        let payload = decode_payload_with(&self.payload, checks)?;
        if payload.origin != self.signer {
            return Err(RecordError::OriginMismatch {
                origin: payload.origin,
                signer: self.signer,
            });
        }
        Ok(VerifiedRecord {
            id: self.id(),
            envelope: self,
            payload,
        })
    }

    /// Re-reads an envelope from our own store, where it was verified on the way in.
    pub fn decode_trusted(self) -> Result<VerifiedRecord, RecordError> {
        self.decode_checked(Checks::Stored)
    }
}

/// An envelope whose signature verified and whose payload decoded and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRecord {
    pub id: RecordId,
    pub envelope: Envelope,
    pub payload: Payload,
}

impl VerifiedRecord {
    pub fn origin(&self) -> NodeId {
        self.payload.origin
    }
}

/// Signs a payload this node originates. Before signing, the encoded bytes pass
/// exactly the validation a receiving node applies ([`decode_payload`]): this node
/// never signs a record that it, or any partner, would refuse to read.
pub fn sign_payload(key: &SigningKey, payload: &Payload) -> Result<VerifiedRecord, RecordError> {
    let signer = NodeId(key.verifying_key().to_bytes());
    if payload.origin != signer {
        return Err(RecordError::OriginMismatch {
            origin: payload.origin,
            signer,
        });
    }
    let bytes = encode_payload(payload);
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(RecordError::Oversized(bytes.len()));
    }
    if decode_payload(&bytes)? != *payload {
        return Err(RecordError::field(
            "payload",
            "does not read back as written; nothing was signed",
        ));
    }
    let message = [SIGNING_PREFIX, &bytes].concat();
    let signature = key.sign(&message).to_bytes();
    let envelope = Envelope {
        payload: bytes,
        signature,
        signer,
    };
    Ok(VerifiedRecord {
        id: envelope.id(),
        envelope,
        payload: payload.clone(),
    })
}
