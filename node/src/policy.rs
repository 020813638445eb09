//! Who may receive what: TLP 2.0 and SIENA handling, enforced by the node.
//!
//! | marking      | from the origin                    | relayed by a receiver      |
//! |--------------|------------------------------------|----------------------------|
//! | CLEAR        | every partner                      | yes, to relay partners     |
//! | GREEN        | partners allowed GREEN             | yes, to relay partners allowed GREEN |
//! | AMBER        | direct partners allowed AMBER      | no                         |
//! | AMBER+STRICT | direct partners allowed AMBER+STRICT | no                       |
//! | RED          | only the named recipients          | no                         |
//!
//! H2 is never relayed whatever its TLP. Pure functions, no I/O: the same rules
//! serve outgoing sync, incoming verification and federated search.

use crate::record::{Bulletin, HandlingCode, Indicator, NodeId, Tlp};

/// The markings the sharing rules read: an indicator's, or a bulletin's
/// (issue 15: a bulletin travels under exactly an indicator's rules).
pub trait Markings {
    fn tlp(&self) -> Tlp;
    fn handling(&self) -> &[HandlingCode];
    fn recipients(&self) -> &[NodeId];
    /// H2: no onward sharing without the originator's permission.
    fn forbids_relay(&self) -> bool {
        self.handling().contains(&HandlingCode::H2)
    }
}

impl Markings for Indicator {
    fn tlp(&self) -> Tlp {
        self.tlp
    }
    fn handling(&self) -> &[HandlingCode] {
        &self.handling
    }
    fn recipients(&self) -> &[NodeId] {
        &self.recipients
    }
}

impl Markings for Bulletin {
    fn tlp(&self) -> Tlp {
        self.tlp
    }
    fn handling(&self) -> &[HandlingCode] {
        &self.handling
    }
    fn recipients(&self) -> &[NodeId] {
        &self.recipients
    }
}

/// What an admin granted a partner at enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub node: NodeId,
    pub max_tlp: Tlp,
    pub relay: bool,
    /// What sort of partner it is; narrows what it may receive and do.
    pub kind: PartnerKind,
}

/// The sort of partner (issue 15). Agencies are full partners; an NGO receives
/// only CLEAR/GREEN and cannot run federated searches; a platform is submit-only
/// (receives at most CLEAR, never relays, and its records are held here until an
/// analyst endorses them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartnerKind {
    #[default]
    Agency,
    Ngo,
    Platform,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 3] =
        [PartnerKind::Agency, PartnerKind::Ngo, PartnerKind::Platform];

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Agency => "agency",
            PartnerKind::Ngo => "ngo",
            PartnerKind::Platform => "platform",
        }
    }

    /// The most restricted marking this kind of partner may ever receive,
    /// whatever its enrolled ceiling.
    pub fn ceiling(self) -> Tlp {
        match self {
            PartnerKind::Agency => Tlp::Red,
            PartnerKind::Ngo => Tlp::Green,
            PartnerKind::Platform => Tlp::Clear,
        }
    }

    /// Whether this kind may run federated searches against us.
    pub fn may_search(self) -> bool {
        self == PartnerKind::Agency
    }

    /// One line for `partner list`.
    pub fn rules(self) -> &'static str {
        match self {
            PartnerKind::Agency => "full partner: receives up to its ceiling, may search",
            PartnerKind::Ngo => "receives CLEAR/GREEN within its ceiling; no federated search; no relay",
            PartnerKind::Platform => "submit-only: receives CLEAR at most; its records are held from relay until endorsed; evaluation capped; no search",
        }
    }
}

impl std::fmt::Display for PartnerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PartnerKind {
    type Err = crate::record::RecordError;
    /// Empty means agency (entries from before partner kinds).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        if wanted.is_empty() {
            return Ok(PartnerKind::Agency);
        }
        PartnerKind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| {
                crate::record::RecordError::field(
                    "kind",
                    format!(
                        "{} is not one of agency, ngo, platform",
                        crate::untrusted::quote(s)
                    ),
                )
            })
    }
}

/// Where a record stands relative to this node.
#[derive(Debug, Clone, Copy)]
pub struct Provenance {
    pub origin: NodeId,
    /// The peer that gave it to us; `None` for our own records.
    pub received_from: Option<NodeId>,
}

/// May this node send a record with these markings to `partner`?
pub fn may_send(
    own: NodeId,
    provenance: Provenance,
    markings: &(impl Markings + ?Sized),
    partner: &Grant,
) -> bool {
    let already_has_it =
        provenance.origin == partner.node || provenance.received_from == Some(partner.node);
    if already_has_it || markings.tlp() > partner.max_tlp || markings.tlp() > partner.kind.ceiling()
    {
        return false;
    }
    if provenance.origin == own {
        return markings.tlp() != Tlp::Red || markings.recipients().contains(&partner.node);
    }
    partner.relay && is_relayable(markings)
}

/// May this node send a revocation or sighting (`reference`) of the record
/// `target` to `partner`? It goes wherever the target could go, and back to
/// whoever already holds the target; someone else's reference is relayed only
/// under the relay rules.
pub fn may_send_reference(
    own: NodeId,
    reference: Provenance,
    target: Provenance,
    markings: &(impl Markings + ?Sized),
    partner: &Grant,
) -> bool {
    if reference.origin == partner.node
        || reference.received_from == Some(partner.node)
        || markings.tlp() > partner.kind.ceiling()
    {
        return false;
    }
    if reference.origin != own && !(partner.relay && is_relayable(markings)) {
        return false;
    }
    let partner_holds_target =
        target.origin == partner.node || target.received_from == Some(partner.node);
    partner_holds_target || may_send(own, target, markings, partner)
}

/// Whether a receiver may pass the record on at all.
pub fn is_relayable(markings: &(impl Markings + ?Sized)) -> bool {
    markings.tlp().is_relayable() && !Markings::forbids_relay(markings)
}

/// Why an incoming record is refused, if it is.
pub fn check_incoming(
    own: NodeId,
    sender: &Grant,
    provenance: Provenance,
    origin_trusted: bool,
    markings: &(impl Markings + ?Sized),
) -> Result<(), String> {
    if provenance.origin == sender.node {
        if markings.tlp() == Tlp::Red && !markings.recipients().contains(&own) {
            return Err("RED record not addressed to this agency".into());
        }
        return Ok(());
    }
    if !sender.relay {
        return Err(format!(
            "record of third-party origin {} from a partner without relay rights",
            provenance.origin.short()
        ));
    }
    if !is_relayable(markings) {
        return Err(format!(
            "relayed record marked {} {:?} may not be relayed",
            markings.tlp(),
            markings.handling()
        ));
    }
    if !origin_trusted {
        return Err(format!(
            "unknown origin {} and no identity bundle for it",
            provenance.origin.short()
        ));
    }
    Ok(())
}

/// Why an incoming revocation or sighting (`reference`) of the record
/// `target_origin` marked `markings` is refused, if it is. Straight from its
/// origin, a reference to OUR OWN record is acceptable whatever the target's
/// marking (the origin decided who holds it), and so is one of a RED record from
/// an agency named among its recipients. Relayed references follow the relay
/// rules of [`check_incoming`].
pub fn check_incoming_reference(
    own: NodeId,
    sender: &Grant,
    reference: Provenance,
    origin_trusted: bool,
    target_origin: NodeId,
    markings: &(impl Markings + ?Sized),
) -> Result<(), String> {
    if reference.origin != sender.node {
        return check_incoming(own, sender, reference, origin_trusted, markings);
    }
    if target_origin == own {
        return Ok(());
    }
    if markings.tlp() != Tlp::Red {
        return Ok(());
    }
    if !markings.recipients().contains(&own) {
        return Err("reference to a RED record not addressed to this agency".into());
    }
    if reference.origin != target_origin && !markings.recipients().contains(&reference.origin) {
        return Err(format!(
            "reference to a RED record by {}, which is not among its recipients",
            reference.origin.short()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::Kind;
    use crate::record::{Evaluation, HandlingCode};

    const A: NodeId = NodeId([1; 32]);
    const B: NodeId = NodeId([2; 32]);
    const C: NodeId = NodeId([3; 32]);

    fn markings(tlp: Tlp) -> Indicator {
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
}
