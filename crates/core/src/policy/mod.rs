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
//!
//! # Layout
//!
//! - this module: markings, grants, partner kinds and the TLP/handling rules;
//! - [`disclose`]: the one decision every disclosure path asks, which adds the
//!   node's facts about a record (expiry, revocation, platform hold, blocked
//!   origin) to these rules. Callers use it, never [`may_send`] directly.

use crate::record::{Bulletin, HandlingCode, Indicator, NodeId, Tlp};

pub mod disclose;

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
mod tests;
