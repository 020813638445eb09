use super::*;
use crate::record::Tlp;

fn bulletin_of(members: Vec<[u8; 32]>) -> Bulletin {
    Bulletin {
        title: "Fake job adverts".into(),
        summary: String::new(),
        modus_operandi: String::new(),
        labels: vec![],
        countries: vec!["KE".into()],
        members,
        tlp: Tlp::Green,
        handling: vec![],
        handling_note: String::new(),
        recipients: vec![],
        valid_until_ms: i64::MAX,
    }
}

#[test]
fn every_opening_opens_its_own_commitment_only() {
    let ids = [RecordId([1; 32]), RecordId([2; 32]), RecordId([3; 32])];
    let (commitments, openings) = commit_members(&ids);
    let bulletin = bulletin_of(commitments);
    for opening in &openings {
        check_opening(&bulletin, opening).unwrap();
    }
    // An opening moved to another position fails.
    let moved = Opening {
        position: 1,
        ..openings[0]
    };
    assert!(check_opening(&bulletin, &moved).is_err());
}

#[test]
fn a_forged_record_id_or_salt_is_refused() {
    let (commitments, openings) = commit_members(&[RecordId([7; 32])]);
    let bulletin = bulletin_of(commitments);
    let forged_id = Opening {
        record_id: RecordId([8; 32]),
        ..openings[0]
    };
    let err = check_opening(&bulletin, &forged_id).unwrap_err();
    assert!(err.contains("does not match"), "{err}");
    let forged_salt = Opening {
        salt: [0; 16],
        ..openings[0]
    };
    assert!(check_opening(&bulletin, &forged_salt).is_err());
    let beyond = Opening {
        position: 5,
        ..openings[0]
    };
    assert!(check_opening(&bulletin, &beyond)
        .unwrap_err()
        .contains("beyond"));
}

#[test]
fn salts_are_fresh_so_equal_members_commit_differently() {
    let id = RecordId([9; 32]);
    let (a, _) = commit_members(&[id]);
    let (b, _) = commit_members(&[id]);
    assert_ne!(
        a, b,
        "a commitment must not reveal that two bulletins share a member"
    );
    assert_ne!(new_salt(), new_salt());
}

#[test]
fn commitment_is_domain_separated_sha256() {
    let salt = [0xAB; 16];
    let id = RecordId([0xCD; 32]);
    let mut input = b"liaison/v1/bulletin-member\0".to_vec();
    input.extend_from_slice(&salt);
    input.extend_from_slice(&id.0);
    let expected: [u8; 32] = Sha256::digest(&input).into();
    assert_eq!(commitment(&salt, &id), expected);
}

#[test]
fn wire_openings_are_checked_for_shape() {
    let good = opening_to_wire(&Opening {
        position: 3,
        record_id: RecordId([4; 32]),
        salt: [5; 16],
    });
    assert_eq!(opening_from_wire(&good).unwrap().position, 3);
    let short_salt = proto::MemberOpening {
        salt: vec![1; 15],
        ..good.clone()
    };
    assert!(opening_from_wire(&short_salt)
        .unwrap_err()
        .starts_with("salt:"));
    let short_id = proto::MemberOpening {
        record_id: vec![1; 31],
        ..good
    };
    assert!(opening_from_wire(&short_id)
        .unwrap_err()
        .starts_with("record_id:"));
}

/// A bulletin payload as a receiver decodes it, after `change` edits the wire body.
fn decoded(change: impl FnOnce(&mut proto::Bulletin)) -> Result<(), String> {
    use prost::Message;
    let mut body = proto::Bulletin {
        title: "Campaign (fictional)".into(),
        members: vec![vec![1; 32]],
        tlp: proto::Tlp::Green as i32,
        countries: vec!["TH".into()],
        ..Default::default()
    };
    change(&mut body);
    let payload = proto::Payload {
        origin: vec![3; 32],
        sequence: 1,
        created_unix_ms: 1,
        body: Some(proto::payload::Body::Bulletin(body)),
    };
    crate::record::decode_payload(&payload.encode_to_vec())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn received_bulletins_are_checked_field_by_field() {
    use crate::record::bulletin_bounds as limits;
    decoded(|_| {}).unwrap();
    let err = decoded(|b| b.title = "t".repeat(limits::MAX_TITLE_CHARS + 1)).unwrap_err();
    assert!(
        err.contains("title: 201 characters; the limit is 200"),
        "{err}"
    );
    let err = decoded(|b| b.summary = "s".repeat(limits::MAX_SUMMARY_CHARS + 1)).unwrap_err();
    assert!(err.contains("summary:"), "{err}");
    let err = decoded(|b| b.members = vec![vec![0; 32]; limits::MAX_MEMBERS + 1]).unwrap_err();
    assert!(err.contains("members:"), "{err}");
    let err = decoded(|b| b.members = vec![]).unwrap_err();
    assert!(err.contains("members:"), "{err}");
    let err = decoded(|b| b.members = vec![vec![0; 31]]).unwrap_err();
    assert!(err.contains("members: 31 bytes"), "{err}");
    let err = decoded(|b| b.countries = vec!["th".into()]).unwrap_err();
    assert!(err.contains("countries:"), "{err}");
    let err = decoded(|b| b.countries = vec!["ZZ".into()]).unwrap_err();
    assert!(err.contains("countries:"), "{err}");
    let err = decoded(|b| b.title = String::new()).unwrap_err();
    assert!(err.contains("title:"), "{err}");
    let err = decoded(|b| b.tlp = proto::Tlp::Red as i32).unwrap_err();
    assert!(err.contains("recipients:"), "{err}");
}

#[test]
fn a_bulletin_goes_where_an_indicator_of_its_marking_would() {
    use crate::policy::{may_send, Grant, PartnerKind, Provenance};
    use crate::record::NodeId;
    let own = NodeId([1; 32]);
    let mine = Provenance {
        origin: own,
        received_from: None,
    };
    let grant = |kind, max_tlp| Grant {
        node: NodeId([2; 32]),
        max_tlp,
        relay: false,
        kind,
    };
    let mut bulletin = bulletin_of(vec![[0; 32]]);
    for (kind, green, clear) in [
        (PartnerKind::Agency, true, true),
        (PartnerKind::Ngo, true, true),
        (PartnerKind::Platform, false, true),
    ] {
        bulletin.tlp = Tlp::Green;
        assert_eq!(
            may_send(own, mine, &bulletin, &grant(kind, Tlp::Amber)),
            green,
            "{kind}"
        );
        bulletin.tlp = Tlp::Clear;
        assert_eq!(
            may_send(own, mine, &bulletin, &grant(kind, Tlp::Amber)),
            clear,
            "{kind}"
        );
    }
    bulletin.tlp = Tlp::Amber;
    assert!(!may_send(
        own,
        mine,
        &bulletin,
        &grant(PartnerKind::Ngo, Tlp::Red)
    ));
    assert!(!may_send(
        own,
        mine,
        &bulletin,
        &grant(PartnerKind::Agency, Tlp::Green)
    ));
}
