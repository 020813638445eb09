//! Signature checks of one incoming batch spread over the machine's cores.
//!
//! This module only checks and decodes; it must never decide on policy or
//! write anything, and never let a record's verdict depend on its neighbours.

use liaison_core::record::{Envelope, RecordError, VerifiedRecord};

/// Fewest records worth a second thread: below this, spawning costs more than
/// the signatures it spreads.
pub const MIN_PARALLEL: usize = 64;

/// Checks signatures and decodes payloads in one chunk per core (at most four),
/// each a batch check of its own, on scoped threads. Signature checking is the
/// dominant cost of receiving a record. A chunk whose batch check fails falls
/// back to single checks, so a record's verdict never depends on the others in
/// its batch, exactly as with one batch; results keep the input order.
pub fn verify_in_parallel(envelopes: Vec<Envelope>) -> Vec<Result<VerifiedRecord, RecordError>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 || envelopes.len() < MIN_PARALLEL {
        return Envelope::verify_many(envelopes);
    }
    let size = envelopes.len().div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let mut rest = envelopes;
    while rest.len() > size {
        let tail = rest.split_off(size);
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    chunks.push(rest);
    let mut chunks = chunks.into_iter();
    let first = chunks.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let others: Vec<_> = chunks
            .map(|chunk| scope.spawn(move || Envelope::verify_many(chunk)))
            .collect();
        let mut results = Envelope::verify_many(first);
        for other in others {
            match other.join() {
                Ok(chunk) => results.extend(chunk),
                // A verifier thread cannot panic on input (every check returns a
                // Result); if one did, the scope re-raises it, as a single thread would.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use liaison_core::indicator::Kind;
    use liaison_core::record::{
        sign_payload, Body, Evaluation, Indicator, Label, NodeId, Payload, Tlp,
    };

    fn envelope(key: &SigningKey, sequence: u64) -> Envelope {
        let indicator = Indicator {
            source: String::new(),
            first_seen_ms: None,
            kind: Kind::Phone,
            value: format!("+447700900{:03}", sequence % 1000),
            labels: vec![Label::ScamCentre],
            tlp: Tlp::Green,
            handling: vec![],
            handling_note: String::new(),
            evaluation: Evaluation::UNEVALUATED,
            valid_until_ms: 2_000_000_000_000,
            description: "parallel check (fictional)".into(),
            case_reference: String::new(),
            recipients: vec![],
            supersedes: None,
            outside_known_ranges: true,
        };
        let payload = Payload {
            origin: NodeId(key.verifying_key().to_bytes()),
            sequence,
            created_ms: 1_700_000_000_000,
            body: Body::Indicator(indicator),
        };
        sign_payload(key, &payload).expect("sign").envelope
    }

    #[test]
    fn chunks_keep_the_order_and_only_a_bad_record_fails() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let mut envelopes: Vec<Envelope> = (1..=300).map(|s| envelope(&key, s)).collect();
        envelopes[201].signature[0] ^= 1;
        let ids: Vec<_> = envelopes.iter().map(Envelope::id).collect();
        let results = verify_in_parallel(envelopes);
        assert_eq!(results.len(), 300);
        for (i, (result, id)) in results.iter().zip(&ids).enumerate() {
            match result {
                Ok(record) => assert_eq!(record.id, *id, "order kept at {i}"),
                Err(_) => assert_eq!(i, 201, "only the tampered record fails"),
            }
        }
        assert!(results[201].is_err());
    }
}
