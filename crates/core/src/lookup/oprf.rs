//! The OPRF itself (RFC 9497 VOPRF mode, ristretto255-SHA512, the `voprf`
//! crate): the input encoding, the answering side's evaluation with a DLEQ
//! proof, and the asking side's blind and verified finalisation.
//!
//! The input is the indicator kind's code and its NORMALISED value, so every
//! spelling of one phone number (or domain, ...) gives one F. The filter holds
//! the first 8 bytes of F's 64-byte output. This module must never finalise
//! without checking the proof against the epoch's public key.

use rand_core::OsRng;
use voprf::{
    BlindedElement, EvaluationElement, Group, Proof, Ristretto255, VoprfClient, VoprfServer,
};

use super::LookupError;
use crate::indicator::Normalized;

/// The byte string F is evaluated on: a domain tag, the kind code, the value.
pub fn input(value: &Normalized) -> Vec<u8> {
    let mut bytes = b"liaison/v1/lookup-input\0".to_vec();
    bytes.push(value.kind.code());
    bytes.extend_from_slice(value.value.as_bytes());
    bytes
}

/// The filter key of an OPRF output: its first 8 bytes.
pub fn filter_key(output: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&output[..8]);
    u64::from_le_bytes(first)
}

/// The answering side, unblinded: F(input) for its own values (filter building).
pub fn evaluate_own(server: &VoprfServer<Ristretto255>, input: &[u8]) -> Result<u64, LookupError> {
    let output = server
        .evaluate(input)
        .map_err(|e| LookupError::Invalid(format!("value: cannot evaluate ({e:?})")))?;
    Ok(filter_key(&output))
}

/// The answering side: evaluates one blinded element and proves it.
/// Returns (evaluated element, proof), serialised.
pub fn evaluate_blinded(
    server: &VoprfServer<Ristretto255>,
    blinded: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), LookupError> {
    let element = BlindedElement::<Ristretto255>::deserialize(blinded)
        .map_err(|_| LookupError::Invalid("blinded_element: not a ristretto255 element".into()))?;
    let result = server.blind_evaluate(&mut OsRng, &element);
    Ok((
        result.message.serialize().to_vec(),
        result.proof.serialize().to_vec(),
    ))
}

/// The asking side's state between blinding and finalising.
pub struct Blinded {
    client: VoprfClient<Ristretto255>,
    input: Vec<u8>,
    /// The element to send (32 bytes).
    pub message: Vec<u8>,
}

/// Blinds a normalised value with a fresh random scalar.
pub fn blind(value: &Normalized) -> Result<Blinded, LookupError> {
    let input = input(value);
    let result = VoprfClient::<Ristretto255>::blind(&input, &mut OsRng)
        .map_err(|e| LookupError::Invalid(format!("value: cannot blind ({e:?})")))?;
    Ok(Blinded {
        client: result.state,
        input,
        message: result.message.serialize().to_vec(),
    })
}

impl Blinded {
    /// Verifies the proof against `public_key` and unblinds: the filter key.
    pub fn finalize(
        &self,
        evaluated: &[u8],
        proof: &[u8],
        public_key: &[u8],
    ) -> Result<u64, LookupError> {
        let untrusted = |what: &str| LookupError::Untrusted(what.to_string());
        let element = EvaluationElement::<Ristretto255>::deserialize(evaluated)
            .map_err(|_| untrusted("evaluated_element: not a ristretto255 element"))?;
        let proof =
            Proof::<Ristretto255>::deserialize(proof).map_err(|_| untrusted("proof: malformed"))?;
        let public_key = <Ristretto255 as Group>::deserialize_elem(public_key)
            .map_err(|_| untrusted("public_key: not a ristretto255 element"))?;
        let output = self
            .client
            .finalize(&self.input, &element, &proof, public_key)
            .map_err(|_| untrusted("proof: does not verify against the epoch's public key"))?;
        Ok(filter_key(&output))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::Kind;

    fn phone(v: &str) -> Normalized {
        crate::indicator::check_canonical(Kind::Phone, v).unwrap()
    }

    #[test]
    fn blinded_evaluation_matches_own_evaluation() {
        let server = VoprfServer::<Ristretto255>::new_from_seed(&[7u8; 32], b"test").unwrap();
        let pk: Vec<u8> = <Ristretto255 as Group>::serialize_elem(server.get_public_key()).to_vec();
        let value = phone("+447700900123");
        let blinded = blind(&value).unwrap();
        let (evaluated, proof) = evaluate_blinded(&server, &blinded.message).unwrap();
        let key = blinded.finalize(&evaluated, &proof, &pk).unwrap();
        assert_eq!(key, evaluate_own(&server, &input(&value)).unwrap());

        let other = VoprfServer::<Ristretto255>::new_from_seed(&[8u8; 32], b"test").unwrap();
        let other_pk = <Ristretto255 as Group>::serialize_elem(other.get_public_key()).to_vec();
        assert!(matches!(
            blinded.finalize(&evaluated, &proof, &other_pk),
            Err(LookupError::Untrusted(_))
        ));
    }

    #[test]
    fn garbage_element_is_refused_with_the_field() {
        let server = VoprfServer::<Ristretto255>::new_from_seed(&[7u8; 32], b"test").unwrap();
        let err = evaluate_blinded(&server, &[0xffu8; 32]).unwrap_err();
        assert!(err.to_string().starts_with("blinded_element:"), "{err}");
    }
}
