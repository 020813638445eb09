//! Envelope tamper cases, wire-validation cases and round trips.

use ed25519_dalek::SigningKey;
use prost::Message;

use super::*;
use crate::indicator::Kind;
use crate::proto;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn node(key: &SigningKey) -> NodeId {
    NodeId(key.verifying_key().to_bytes())
}

fn sample_indicator() -> Indicator {
    Indicator {
        kind: Kind::Phone,
        value: "+447700900123".into(),
        labels: vec![Label::ScamCentre, Label::RomanceScam],
        tlp: Tlp::Green,
        handling: vec![HandlingCode::H1],
        handling_note: String::new(),
        evaluation: "B2".parse().unwrap(),
        valid_until_ms: 2_000_000_000_000,
        description: "Recruiter number from a victim statement (fictional)".into(),
        case_reference: "CASE-EXAMPLE-1".into(),
        recipients: vec![],
        supersedes: None,
        outside_known_ranges: true,
        source: String::new(),
        first_seen_ms: None,
    }
}

fn sample_record(key: &SigningKey) -> VerifiedRecord {
    let payload = Payload {
        origin: node(key),
        sequence: 7,
        created_ms: 1_700_000_000_000,
        body: Body::Indicator(sample_indicator()),
    };
    sign_payload(key, &payload).unwrap()
}

#[test]
fn signed_record_verifies_and_round_trips() {
    let k = key(1);
    let record = sample_record(&k);
    let wire = record.envelope.to_wire();
    let verified = Envelope::from_wire(wire).unwrap().verify().unwrap();
    assert_eq!(verified, record);
    assert_eq!(
        verified.payload.indicator().unwrap().evaluation.to_string(),
        "B2"
    );
}

#[test]
fn any_flipped_bit_in_payload_signature_or_signer_fails() {
    let record = sample_record(&key(2));
    let envelope = record.envelope;
    for byte in 0..envelope.payload.len() {
        let mut tampered = envelope.clone();
        tampered.payload[byte] ^= 0x01;
        assert!(
            tampered.verify().is_err(),
            "payload byte {byte} flipped still verified"
        );
    }
    for byte in 0..64 {
        let mut tampered = envelope.clone();
        tampered.signature[byte] ^= 0x80;
        assert!(
            tampered.verify().is_err(),
            "signature byte {byte} flipped still verified"
        );
    }
    for byte in 0..32 {
        let mut tampered = envelope.clone();
        tampered.signer.0[byte] ^= 0x01;
        assert!(
            tampered.verify().is_err(),
            "signer byte {byte} flipped still verified"
        );
    }
}

#[test]
fn record_signed_by_another_key_for_our_origin_is_rejected() {
    let victim = key(3);
    let forger = key(4);
    let mut payload = sample_record(&victim).payload;
    payload.origin = node(&victim);
    // The forger signs a payload claiming the victim's origin: signer != origin.
    let bytes = super::wire::encode_payload(&payload);
    let message = [b"liaison/v1/record\0".as_slice(), &bytes].concat();
    let signature = ed25519_dalek::Signer::sign(&forger, &message).to_bytes();
    let forged = Envelope {
        payload: bytes,
        signature,
        signer: node(&forger),
    };
    assert!(matches!(
        forged.verify(),
        Err(RecordError::OriginMismatch { .. })
    ));
}

#[test]
fn truncated_or_garbage_envelopes_fail_cleanly() {
    let wire = sample_record(&key(5)).envelope.to_wire();
    let bytes = wire.encode_to_vec();
    for cut in 0..bytes.len() {
        if let Ok(partial) = proto::Envelope::decode(&bytes[..cut]) {
            if let Ok(envelope) = Envelope::from_wire(partial) {
                assert!(envelope.verify().is_err(), "truncated at {cut} verified");
            }
        }
    }
    let garbage = Envelope {
        payload: vec![0xff; 100],
        signature: [0; 64],
        signer: node(&key(6)),
    };
    assert!(garbage.verify().is_err());
    let short = proto::Envelope {
        payload: vec![],
        signature: vec![1, 2, 3],
        signer: vec![0; 32],
    };
    assert!(matches!(
        Envelope::from_wire(short),
        Err(RecordError::MalformedEnvelope(_))
    ));
}

#[test]
fn oversized_payload_is_refused_before_verification() {
    let wire = proto::Envelope {
        payload: vec![0; MAX_PAYLOAD_BYTES + 1],
        signature: vec![0; 64],
        signer: vec![0; 32],
    };
    assert!(matches!(
        Envelope::from_wire(wire),
        Err(RecordError::Oversized(_))
    ));
}

#[test]
fn correctly_signed_but_invalid_fields_are_rejected() {
    let k = key(7);
    let mut indicator = sample_indicator();
    indicator.value = "07700 900123".into(); // not canonical E.164
    let payload = Payload {
        origin: node(&k),
        sequence: 1,
        created_ms: 0,
        body: Body::Indicator(indicator),
    };
    // This node refuses to sign it…
    let refused = sign_payload(&k, &payload).unwrap_err();
    assert!(
        matches!(refused, RecordError::InvalidField { field: "value", .. }),
        "{refused}"
    );
    // …and a receiver refuses it when another implementation signed it anyway.
    let err = sign_unchecked(&k, &payload).verify().unwrap_err();
    assert!(
        matches!(err, RecordError::InvalidField { field: "value", .. }),
        "{err}"
    );
}

/// Signs without the validation `sign_payload` applies: what a careless or
/// hostile implementation could send.
fn sign_unchecked(key: &SigningKey, payload: &Payload) -> Envelope {
    use ed25519_dalek::Signer;
    let bytes = super::wire::encode_payload(payload);
    let message = [b"liaison/v1/record\0".as_slice(), &bytes].concat();
    Envelope {
        signature: key.sign(&message).to_bytes(),
        signer: node(key),
        payload: bytes,
    }
}

#[test]
fn what_this_node_signs_passes_the_receivers_checks_at_every_limit() {
    use super::wire::{MAX_DESCRIPTION_CHARS, MAX_LABELS, MAX_RECIPIENTS, MAX_SHORT_TEXT_CHARS};
    let k = key(9);
    let sign = |indicator: Indicator| {
        let payload = Payload {
            origin: node(&k),
            sequence: 1,
            created_ms: 0,
            body: Body::Indicator(indicator),
        };
        sign_payload(&k, &payload)
    };
    type Set = fn(&mut Indicator, usize);
    let fields: [(&str, usize, Set); 5] = [
        ("labels", MAX_LABELS, |i, n| {
            i.labels = vec![Label::Fraud; n]
        }),
        ("recipients", MAX_RECIPIENTS, |i, n| {
            i.tlp = Tlp::Red;
            i.recipients = vec![NodeId([4; 32]); n];
        }),
        ("description", MAX_DESCRIPTION_CHARS, |i, n| {
            i.description = "é".repeat(n)
        }),
        ("handling_note", MAX_SHORT_TEXT_CHARS, |i, n| {
            i.handling_note = "n".repeat(n)
        }),
        ("case_reference", MAX_SHORT_TEXT_CHARS, |i, n| {
            i.case_reference = "c".repeat(n)
        }),
    ];
    for (field, limit, set) in fields {
        let mut at_limit = sample_indicator();
        set(&mut at_limit, limit);
        let record = sign(at_limit).unwrap_or_else(|e| panic!("{field} at its limit: {e}"));
        assert!(record.envelope.verify().is_ok(), "{field} at its limit");
        let mut over = sample_indicator();
        set(&mut over, limit + 1);
        match sign(over) {
            Err(RecordError::InvalidField { field: named, .. }) => assert_eq!(named, field),
            other => panic!("{field} over its limit: {other:?}"),
        }
    }
}

#[test]
fn control_characters_are_refused_in_text_fields() {
    let k = key(10);
    let mut indicator = sample_indicator();
    indicator.case_reference = "CASE\u{1b}[2J".into();
    let payload = Payload {
        origin: node(&k),
        sequence: 1,
        created_ms: 0,
        body: Body::Indicator(indicator.clone()),
    };
    let err = sign_unchecked(&k, &payload).verify().unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::InvalidField {
                field: "case_reference",
                ..
            }
        ),
        "{err}"
    );
    indicator.case_reference.clear();
    indicator.description = "two\nlines\tand a tab".into();
    let payload = Payload {
        body: Body::Indicator(indicator),
        ..payload
    };
    assert!(sign_payload(&k, &payload).is_ok());
}

#[test]
fn red_without_recipients_is_refused_at_signing() {
    let k = key(8);
    let mut indicator = sample_indicator();
    indicator.tlp = Tlp::Red;
    let payload = Payload {
        origin: node(&k),
        sequence: 1,
        created_ms: 0,
        body: Body::Indicator(indicator),
    };
    assert!(matches!(
        sign_payload(&k, &payload),
        Err(RecordError::InvalidField {
            field: "recipients",
            ..
        })
    ));
}

#[test]
fn batch_verification_reports_exactly_the_forged_record() {
    let k = key(9);
    let mut envelopes: Vec<Envelope> = (1..=8)
        .map(|seq| {
            let payload = Payload {
                origin: node(&k),
                sequence: seq,
                created_ms: 0,
                body: Body::Indicator(sample_indicator()),
            };
            sign_payload(&k, &payload).unwrap().envelope
        })
        .collect();
    envelopes[5].signature[10] ^= 1;
    let results = Envelope::verify_many(envelopes);
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![5]);
}

#[test]
fn same_payload_has_same_id_whoever_relays_it() {
    let record = sample_record(&key(10));
    let copy = Envelope::from_wire(record.envelope.to_wire()).unwrap();
    assert_eq!(copy.id(), record.id);
}

#[test]
fn markings_parse_and_print() {
    assert_eq!("amber+strict".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
    assert_eq!("TLP:RED".parse::<Tlp>().unwrap(), Tlp::Red);
    assert!("purple".parse::<Tlp>().is_err());
    assert!("B5".parse::<Evaluation>().is_err());
    assert!("D1".parse::<Evaluation>().is_err());
    assert_eq!("x4".parse::<Evaluation>().unwrap(), Evaluation::UNEVALUATED);
    assert_eq!("scam_centre".parse::<Label>().unwrap(), Label::ScamCentre);
    assert!("jaywalking".parse::<Label>().is_err());
    assert_eq!("h2".parse::<HandlingCode>().unwrap(), HandlingCode::H2);
}

#[test]
fn a_sighting_without_a_type_decodes_as_seen_and_unknown_types_are_refused() {
    use crate::proto;
    use prost::Message;
    let old = proto::Payload {
        origin: vec![1; 32],
        sequence: 1,
        created_unix_ms: 1_700_000_000_000,
        body: Some(proto::payload::Body::Sighting(proto::Sighting {
            record_id: vec![5; 32],
            note: "from before sighting types".into(),
            r#type: 0,
        })),
    };
    let payload = decode_payload(&old.encode_to_vec()).unwrap();
    let Body::Sighting(sighting) = &payload.body else {
        panic!("not a sighting");
    };
    assert_eq!(sighting.kind, SightingType::Seen);
    // "seen" encodes to exactly the bytes an old node signed.
    assert_eq!(super::wire::encode_payload(&payload), old.encode_to_vec());

    let mut fp = old.clone();
    if let Some(proto::payload::Body::Sighting(s)) = &mut fp.body {
        s.r#type = proto::SightingType::FalsePositive as i32;
    }
    let payload = decode_payload(&fp.encode_to_vec()).unwrap();
    assert!(matches!(&payload.body, Body::Sighting(s) if s.kind == SightingType::FalsePositive));

    let mut unknown = old;
    if let Some(proto::payload::Body::Sighting(s)) = &mut unknown.body {
        s.r#type = 9;
    }
    let err = decode_payload(&unknown.encode_to_vec()).unwrap_err();
    assert!(err.to_string().contains("type"), "{err}");
}

#[test]
fn sighting_types_parse_by_name() {
    assert_eq!("".parse::<SightingType>().unwrap(), SightingType::Seen);
    assert_eq!(
        "false_positive".parse::<SightingType>().unwrap(),
        SightingType::FalsePositive
    );
    assert_eq!(
        "Expired".parse::<SightingType>().unwrap(),
        SightingType::Expired
    );
    let err = "wrong".parse::<SightingType>().unwrap_err().to_string();
    assert!(err.starts_with("type:") || err.contains("type"), "{err}");
}
