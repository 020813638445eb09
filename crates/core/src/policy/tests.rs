//! The sharing rules, case by case.
use super::*;
use crate::indicator::Kind;
use crate::record::{Evaluation, HandlingCode};

const A: NodeId = NodeId([1; 32]);
const B: NodeId = NodeId([2; 32]);
const C: NodeId = NodeId([3; 32]);

/// An indicator with `tlp` and no other restriction (RED: addressed to B).
pub(super) fn markings(tlp: Tlp) -> Indicator {
    Indicator {
        kind: Kind::Phone,
        value: "+447700900123".into(),
        labels: vec![],
        tlp,
        handling: vec![],
        handling_note: String::new(),
        evaluation: Evaluation::UNEVALUATED,
        valid_until_ms: i64::MAX,
        description: String::new(),
        case_reference: String::new(),
        recipients: if tlp == Tlp::Red { vec![B] } else { vec![] },
        supersedes: None,
        outside_known_ranges: false,
        source: String::new(),
        first_seen_ms: None,
    }
}

fn grant(node: NodeId, max_tlp: Tlp, relay: bool) -> Grant {
    Grant {
        node,
        max_tlp,
        relay,
        kind: PartnerKind::Agency,
    }
}

#[test]
fn ngo_and_platform_partners_get_at_most_green_and_clear() {
    let ngo = Grant {
        kind: PartnerKind::Ngo,
        ..grant(C, Tlp::Red, false)
    };
    let platform = Grant {
        kind: PartnerKind::Platform,
        ..grant(C, Tlp::Red, false)
    };
    assert!(may_send(A, OWN, &markings(Tlp::Green), &ngo));
    assert!(!may_send(A, OWN, &markings(Tlp::Amber), &ngo));
    assert!(may_send(A, OWN, &markings(Tlp::Clear), &platform));
    assert!(!may_send(A, OWN, &markings(Tlp::Green), &platform));
    assert_eq!("".parse::<PartnerKind>().unwrap(), PartnerKind::Agency);
    assert!("police".parse::<PartnerKind>().is_err());
}

const OWN: Provenance = Provenance {
    origin: A,
    received_from: None,
};
const VIA_B: Provenance = Provenance {
    origin: A,
    received_from: Some(B),
};

#[test]
fn origin_sends_up_to_the_ceiling() {
    let b = grant(B, Tlp::Amber, false);
    assert!(may_send(A, OWN, &markings(Tlp::Clear), &b));
    assert!(may_send(A, OWN, &markings(Tlp::Green), &b));
    assert!(may_send(A, OWN, &markings(Tlp::Amber), &b));
    assert!(!may_send(A, OWN, &markings(Tlp::AmberStrict), &b));
    assert!(!may_send(A, OWN, &markings(Tlp::Red), &b));
}

#[test]
fn red_only_to_named_recipients() {
    assert!(may_send(
        A,
        OWN,
        &markings(Tlp::Red),
        &grant(B, Tlp::Red, false)
    ));
    assert!(!may_send(
        A,
        OWN,
        &markings(Tlp::Red),
        &grant(C, Tlp::Red, true)
    ));
}

#[test]
fn relay_only_clear_green_without_h2_to_relay_partners() {
    // B relays A's records to C.
    let c_relay = grant(C, Tlp::Red, true);
    let c_plain = grant(C, Tlp::Red, false);
    assert!(may_send(B, VIA_B, &markings(Tlp::Clear), &c_relay));
    assert!(may_send(B, VIA_B, &markings(Tlp::Green), &c_relay));
    assert!(!may_send(B, VIA_B, &markings(Tlp::Green), &c_plain));
    assert!(!may_send(B, VIA_B, &markings(Tlp::Amber), &c_relay));
    assert!(!may_send(B, VIA_B, &markings(Tlp::AmberStrict), &c_relay));
    assert!(!may_send(B, VIA_B, &markings(Tlp::Red), &c_relay));
    let mut h2 = markings(Tlp::Green);
    h2.handling.push(HandlingCode::H2);
    assert!(!may_send(B, VIA_B, &h2, &c_relay));
    assert!(!may_send(
        B,
        VIA_B,
        &markings(Tlp::Green),
        &grant(C, Tlp::Clear, true)
    ));
}

#[test]
fn never_sends_a_record_back_where_it_came_from() {
    assert!(!may_send(
        B,
        VIA_B,
        &markings(Tlp::Clear),
        &grant(A, Tlp::Red, true)
    ));
    let via_c = Provenance {
        origin: A,
        received_from: Some(C),
    };
    assert!(!may_send(
        B,
        via_c,
        &markings(Tlp::Clear),
        &grant(C, Tlp::Red, true)
    ));
}

#[test]
fn references_follow_their_target() {
    // B sights A's AMBER record: A (which holds it) gets the sighting, C does not.
    let sighting = Provenance {
        origin: B,
        received_from: None,
    };
    let target = Provenance {
        origin: A,
        received_from: Some(A),
    };
    let amber = markings(Tlp::Amber);
    assert!(may_send_reference(
        B,
        sighting,
        target,
        &amber,
        &grant(A, Tlp::Clear, false)
    ));
    assert!(!may_send_reference(
        B,
        sighting,
        target,
        &amber,
        &grant(C, Tlp::Red, true)
    ));
    // A GREEN target: the sighting goes to C like the record would.
    let green = markings(Tlp::Green);
    assert!(may_send_reference(
        B,
        sighting,
        target,
        &green,
        &grant(C, Tlp::Green, true)
    ));
    // A's revocation relayed by B: only to relay partners, only for relayable records.
    let revocation = Provenance {
        origin: A,
        received_from: Some(A),
    };
    assert!(may_send_reference(
        B,
        revocation,
        target,
        &green,
        &grant(C, Tlp::Green, true)
    ));
    assert!(!may_send_reference(
        B,
        revocation,
        target,
        &green,
        &grant(C, Tlp::Green, false)
    ));
    assert!(!may_send_reference(
        B,
        revocation,
        target,
        &amber,
        &grant(C, Tlp::Red, true)
    ));
    // Never back to where it came from.
    assert!(!may_send_reference(
        B,
        revocation,
        target,
        &green,
        &grant(A, Tlp::Red, true)
    ));
}

#[test]
fn incoming_checks() {
    let from_a = grant(A, Tlp::Red, false);
    let direct = Provenance {
        origin: A,
        received_from: Some(A),
    };
    assert!(check_incoming(B, &from_a, direct, true, &markings(Tlp::Amber)).is_ok());
    assert!(check_incoming(B, &from_a, direct, true, &markings(Tlp::Red)).is_ok());
    assert!(check_incoming(C, &from_a, direct, true, &markings(Tlp::Red)).is_err());
    let relayed = Provenance {
        origin: C,
        received_from: Some(A),
    };
    assert!(check_incoming(B, &from_a, relayed, true, &markings(Tlp::Green)).is_err());
    let relay_a = grant(A, Tlp::Red, true);
    assert!(check_incoming(B, &relay_a, relayed, true, &markings(Tlp::Green)).is_ok());
    assert!(check_incoming(B, &relay_a, relayed, false, &markings(Tlp::Green)).is_err());
    assert!(check_incoming(B, &relay_a, relayed, true, &markings(Tlp::Amber)).is_err());
}

#[test]
fn references_to_red_records() {
    // A's RED record addressed to B only.
    let red = markings(Tlp::Red);
    let from_b = grant(B, Tlp::Clear, false);
    let b_sights = Provenance {
        origin: B,
        received_from: Some(B),
    };
    // At A, the origin: B's sighting of A's own record is accepted, whatever
    // A's ceiling for B and although A is not among the recipients.
    assert!(check_incoming_reference(A, &from_b, b_sights, true, A, &red).is_ok());
    // Plain check_incoming with the target's markings refused it (the bug).
    assert!(check_incoming(A, &from_b, b_sights, true, &red).is_err());
    // At C (a recipient too, say), B's sighting of A's RED record: B is listed.
    let mut red_bc = red.clone();
    red_bc.recipients.push(C);
    assert!(check_incoming_reference(C, &from_b, b_sights, true, A, &red_bc).is_ok());
    // C is not a recipient: refused.
    assert!(check_incoming_reference(C, &from_b, b_sights, true, A, &red).is_err());
    // A sighting by D, not a recipient, of a RED record C holds: refused.
    let d = NodeId([4; 32]);
    let from_d = grant(d, Tlp::Red, false);
    let d_sights = Provenance {
        origin: d,
        received_from: Some(d),
    };
    assert!(check_incoming_reference(C, &from_d, d_sights, true, A, &red_bc).is_err());
    // Relayed references of RED records are never acceptable, even of our own.
    let relay_c = grant(C, Tlp::Red, true);
    let relayed = Provenance {
        origin: B,
        received_from: Some(C),
    };
    assert!(check_incoming_reference(A, &relay_c, relayed, true, A, &red).is_err());
    // Non-RED targets: as before.
    let amber = markings(Tlp::Amber);
    assert!(check_incoming_reference(C, &from_b, b_sights, true, A, &amber).is_ok());
}
