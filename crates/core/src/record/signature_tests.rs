//! Signature edge cases: each must get the same verdict alone and inside a batch.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::{EdwardsPoint, Scalar};
use sha2::{Digest, Sha512};

use super::wire::encode_payload;
use super::*;

const PREFIX: &[u8] = b"liaison/v1/record\0";

/// A signer built from a known scalar, so tests can write any signature.
struct RawSigner {
    a: Scalar,
    public: [u8; 32],
}

impl RawSigner {
    fn new(seed: u64) -> RawSigner {
        let a = Scalar::from(seed * 7919 + 13);
        RawSigner {
            a,
            public: EdwardsPoint::mul_base(&a).compress().to_bytes(),
        }
    }

    fn payload(&self, origin: [u8; 32], sequence: u64) -> Vec<u8> {
        let payload = Payload {
            origin: NodeId(origin),
            sequence,
            created_ms: 1_700_000_000_000,
            body: Body::Sighting(Sighting {
                record_id: RecordId([5; 32]),
                note: "signature edge case (test)".into(),
                kind: SightingType::Seen,
            }),
        };
        encode_payload(&payload)
    }

    /// A signature with R = [r]B + `torsion` and S = r + k·a (+ `s_extra`).
    fn sign(&self, payload: &[u8], r: u64, torsion: EdwardsPoint, s_extra: Scalar) -> [u8; 64] {
        let r = Scalar::from(r);
        let big_r = (EdwardsPoint::mul_base(&r) + torsion).compress().to_bytes();
        let k = challenge(&big_r, &self.public, payload);
        let s = r + k * self.a + s_extra;
        let mut signature = [0; 64];
        signature[..32].copy_from_slice(&big_r);
        signature[32..].copy_from_slice(s.as_bytes());
        signature
    }

    fn envelope(&self, sequence: u64, r: u64, torsion: EdwardsPoint) -> Envelope {
        let payload = self.payload(self.public, sequence);
        let signature = self.sign(&payload, r, torsion, Scalar::ZERO);
        Envelope {
            payload,
            signature,
            signer: NodeId(self.public),
        }
    }
}

fn challenge(r: &[u8; 32], a: &[u8; 32], payload: &[u8]) -> Scalar {
    let digest = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(PREFIX)
        .chain_update(payload)
        .finalize();
    Scalar::from_bytes_mod_order_wide(&digest.into())
}

fn identity() -> EdwardsPoint {
    EIGHT_TORSION[0]
}

/// The verdict alone, and inside batches before and after an honest record.
fn verdicts(envelope: &Envelope) -> [bool; 3] {
    let honest = RawSigner::new(99).envelope(1, 5, identity());
    let alone = envelope.clone().verify().is_ok();
    let first = Envelope::verify_many(vec![envelope.clone(), honest.clone()]);
    let last = Envelope::verify_many(vec![honest, envelope.clone()]);
    assert!(
        first[1].is_ok() && last[0].is_ok(),
        "the honest record must pass"
    );
    [alone, first[0].is_ok(), last[1].is_ok()]
}

#[test]
fn an_honest_raw_signature_verifies_everywhere() {
    let envelope = RawSigner::new(1).envelope(1, 42, identity());
    assert_eq!(verdicts(&envelope), [true; 3]);
}

#[test]
fn small_order_keys_are_refused_alone_and_in_a_batch() {
    // A = identity, R = identity, S = 0 satisfies the cofactored equation.
    for point in EIGHT_TORSION {
        let key = point.compress().to_bytes();
        let payload = RawSigner::new(1).payload(key, 1);
        let mut signature = [0; 64];
        signature[..32].copy_from_slice(&identity().compress().to_bytes());
        let envelope = Envelope {
            payload,
            signature,
            signer: NodeId(key),
        };
        assert!(matches!(
            envelope.clone().verify(),
            Err(RecordError::WeakKey(_))
        ));
        assert_eq!(verdicts(&envelope), [false; 3]);
    }
}

#[test]
fn small_order_r_is_refused_alone_and_in_a_batch() {
    // R = T (small order), S = k·a: passes the cofactored equation, not the strict one.
    let signer = RawSigner::new(2);
    for torsion in &EIGHT_TORSION[1..] {
        let payload = signer.payload(signer.public, 1);
        let big_r = torsion.compress().to_bytes();
        let k = challenge(&big_r, &signer.public, &payload);
        let mut signature = [0; 64];
        signature[..32].copy_from_slice(&big_r);
        signature[32..].copy_from_slice((k * signer.a).as_bytes());
        let envelope = Envelope {
            payload,
            signature,
            signer: NodeId(signer.public),
        };
        assert_eq!(verdicts(&envelope), [false; 3]);
    }
}

#[test]
fn non_canonical_s_is_refused_alone_and_in_a_batch() {
    let signer = RawSigner::new(3);
    let mut envelope = signer.envelope(1, 77, identity());
    // S + l: the same residue, written non-canonically.
    let mut s = [0u8; 32];
    s.copy_from_slice(&envelope.signature[32..]);
    let mut carry = 0u16;
    for (i, byte) in s.iter_mut().enumerate() {
        let sum = u16::from(*byte) + u16::from(GROUP_ORDER[i]) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + l fits in 256 bits");
    envelope.signature[32..].copy_from_slice(&s);
    assert_eq!(verdicts(&envelope), [false; 3]);
}

#[test]
fn mixed_order_r_gets_one_verdict_alone_and_in_a_batch() {
    // R = [r]B + T: refused by RFC 8032's cofactorless check, accepted by the
    // cofactored one. Which one holds matters less than that it is the same on
    // every path: ZIP-215 accepts it everywhere.
    let signer = RawSigner::new(4);
    for torsion in &EIGHT_TORSION[1..] {
        let envelope = signer.envelope(1, 1234, *torsion);
        assert_eq!(verdicts(&envelope), [true; 3]);
    }
}

/// l = 2^252 + 27742317777372353535851937790883648493, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];
