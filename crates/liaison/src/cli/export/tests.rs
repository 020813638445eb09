//! Unit tests of the export's signature re-check (the command itself is tested
//! against real nodes in tests/tests/interop.rs).

use super::*;
use liaison_core::indicator::Kind;
use liaison_core::record::{sign_payload, Evaluation, Indicator, NodeId, Payload};

fn signed_view() -> proto::RecordView {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: 1,
        created_ms: 1_777_600_000_000,
        body: Body::Indicator(Indicator {
            source: String::new(),
            first_seen_ms: None,
            kind: Kind::Domain,
            value: "pay-now.example.org".into(),
            labels: Vec::new(),
            tlp: Tlp::Green,
            handling: Vec::new(),
            handling_note: String::new(),
            evaluation: Evaluation::UNEVALUATED,
            valid_until_ms: 1_809_136_000_000,
            description: String::new(),
            case_reference: String::new(),
            recipients: Vec::new(),
            supersedes: None,
            outside_known_ranges: false,
        }),
    };
    let record = sign_payload(&key, &payload).expect("signs");
    proto::RecordView {
        record_id: record.id.to_hex(),
        envelope: Some(record.envelope.to_wire()),
        ..Default::default()
    }
}

fn verify(view: &proto::RecordView) -> Result<VerifiedRecord, String> {
    let mut results = verify_page(std::slice::from_ref(view));
    assert_eq!(results.len(), 1);
    results.remove(0)
}

#[test]
fn in_a_page_only_the_bad_record_fails() {
    let mut bad = signed_view();
    if let Some(envelope) = bad.envelope.as_mut() {
        envelope.signature[0] ^= 1;
    }
    let page = [signed_view(), bad, signed_view()];
    let results = verify_page(&page);
    let failed: Vec<bool> = results.iter().map(|r| r.is_err()).collect();
    assert_eq!(failed, [false, true, false]);
}

#[test]
fn a_good_envelope_verifies() {
    assert!(verify(&signed_view()).is_ok());
}

#[test]
fn a_tampered_payload_is_refused() {
    let mut view = signed_view();
    if let Some(envelope) = view.envelope.as_mut() {
        let last = envelope.payload.len() - 1;
        envelope.payload[last] ^= 1;
    }
    let reason = verify(&view).expect_err("tampered");
    assert!(reason.contains("signature"), "{reason}");
}

#[test]
fn an_envelope_of_another_record_is_refused() {
    let mut view = signed_view();
    view.record_id = "00".repeat(32);
    let reason = verify(&view).expect_err("mismatch");
    assert!(reason.starts_with("record_id:"), "{reason}");
}

#[test]
fn a_missing_envelope_is_refused() {
    let mut view = signed_view();
    view.envelope = None;
    assert_eq!(verify(&view).expect_err("missing"), "envelope: missing");
}
