//! The one rule for accepting a record's Ed25519 signature, the same whether the
//! record is checked alone or inside a batch.
//!
//! Verification follows ZIP-215 (the cofactored equation; ed25519-zebra, whose
//! batch and single checks agree by construction). Before it, the same cheap
//! pre-checks run on both paths and refuse what RFC 8032 strict verification
//! refuses and ZIP-215 alone would let through: a public key or an `R` that is
//! not canonically encoded or is of small order, and a non-canonical `S`.
//! This module must never offer a verification path that accepts a different set
//! of signatures: a record's acceptance must not depend on its batch.

use std::sync::OnceLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::Scalar;
use ed25519_zebra::VerificationKey;

/// Why a signature is refused before any curve arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The signer key is of small order or not canonically encoded.
    WeakKey,
    /// `R` or `S` is malformed, or the key does not decode.
    BadSignature,
}

/// The signer's key, if the key and the signature's encoding pass the pre-checks.
pub(super) fn verifying_key(
    key: &[u8; 32],
    signature: &[u8; 64],
) -> Result<VerificationKey, Refusal> {
    check_encodings(key, signature)?;
    VerificationKey::try_from(*key).map_err(|_| Refusal::BadSignature)
}

/// The pre-checks of [`verifying_key`] without decoding the key: a batch from
/// one signer decodes its key once (decoding is deterministic), but every
/// signature's encoding is still checked.
pub(super) fn check_encodings(key: &[u8; 32], signature: &[u8; 64]) -> Result<(), Refusal> {
    if !is_acceptable_point(key) {
        return Err(Refusal::WeakKey);
    }
    let (r, s) = signature.split_at(32);
    let r: &[u8; 32] = r.try_into().map_err(|_| Refusal::BadSignature)?;
    let s: [u8; 32] = s.try_into().map_err(|_| Refusal::BadSignature)?;
    if !is_acceptable_point(r) || bool::from(Scalar::from_canonical_bytes(s).is_none()) {
        return Err(Refusal::BadSignature);
    }
    Ok(())
}

/// Canonical (y < p) and not one of the eight small-order points. Comparing
/// y-coordinates with the sign bit cleared also catches the "negative zero"
/// encodings of the two points with x = 0, both of small order.
fn is_acceptable_point(encoding: &[u8; 32]) -> bool {
    let y = y_coordinate(encoding);
    is_below_field_prime(&y) && !small_order_ys().contains(&y)
}

fn y_coordinate(encoding: &[u8; 32]) -> [u8; 32] {
    let mut y = *encoding;
    y[31] &= 0x7f;
    y
}

/// p = 2^255 - 19, little-endian.
fn is_below_field_prime(y: &[u8; 32]) -> bool {
    let mut p = [0xff_u8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    y.iter().rev().cmp(p.iter().rev()) == std::cmp::Ordering::Less
}

fn small_order_ys() -> &'static [[u8; 32]; 8] {
    static YS: OnceLock<[[u8; 32]; 8]> = OnceLock::new();
    YS.get_or_init(|| EIGHT_TORSION.map(|point| y_coordinate(&point.compress().to_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_order_points_are_refused_with_either_sign() {
        for point in EIGHT_TORSION {
            let mut bytes = point.compress().to_bytes();
            assert!(!is_acceptable_point(&bytes));
            bytes[31] ^= 0x80;
            assert!(!is_acceptable_point(&bytes));
        }
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        let mut p = [0xff_u8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_below_field_prime(&p));
        p[0] = 0xec;
        assert!(is_below_field_prime(&p));
        let mut above = [0xff_u8; 32];
        above[31] = 0x7f;
        assert!(!is_acceptable_point(&above));
    }

    #[test]
    fn an_ordinary_key_passes() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let message = b"m";
        let sig = ed25519_dalek::Signer::sign(&key, message).to_bytes();
        assert!(verifying_key(&key.verifying_key().to_bytes(), &sig).is_ok());
    }
}
