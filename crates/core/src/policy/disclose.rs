//! The one decision "may this stored record leave this node for this
//! receiver?", over plain data. Every path that discloses a record to a partner
//! asks it: Pull batches (and so relay), federated search answers, private
//! lookup filters and bulletin openings. The node establishes the facts it
//! alone can know (expiry, revocation, a platform hold, a blocked origin) and
//! hands them over as a [`Standing`]; the TLP and handling rules come from
//! [`super::may_send`] and [`super::may_send_reference`].
//!
//! Pure: no I/O, no clock, no store. Must never be bypassed by a caller that
//! re-assembles part of the decision itself.

use super::{may_send, may_send_reference, Grant, Markings, Provenance};
use crate::record::NodeId;

/// What the node knows about a record beyond its signed markings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    /// Past its valid-until, clamped to the node's maximum retention.
    pub expired: bool,
    /// Withdrawn by its own origin (a revocation or a newer version is held).
    pub revoked: bool,
    /// Its origin is one an admin here blocked.
    pub origin_blocked: bool,
    /// Its origin is no longer vouched for here: neither this node, an enrolled
    /// partner nor an origin known via a relay (a partner since revoked, whose
    /// identity this node can no longer hand over).
    pub origin_unvouched: bool,
    /// Its origin is an enrolled platform partner (submit-only).
    pub from_platform: bool,
    /// A platform's indicator that no analyst here has endorsed yet.
    pub held: bool,
}

/// A record as the decision sees it.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    /// An indicator: the value itself.
    Indicator(Item<'a>),
    /// A bulletin: travels under exactly an indicator's rules, but a platform's
    /// bulletin can never be endorsed, so it never leaves.
    Bulletin(Item<'a>),
    /// A revocation or sighting: goes where its target may go, or back to whoever
    /// already holds the target.
    Reference {
        reference: Provenance,
        reference_standing: Standing,
        target: Item<'a>,
    },
}

/// A record's markings with where it stands.
#[derive(Clone, Copy)]
pub struct Item<'a> {
    pub markings: &'a dyn Markings,
    pub provenance: Provenance,
    pub standing: Standing,
}

/// May `subject` be disclosed to `receiver` by the node `own`?
pub fn may_disclose(own: NodeId, subject: &Subject<'_>, receiver: &Grant) -> bool {
    match subject {
        Subject::Indicator(item) => {
            let s = item.standing;
            !(s.expired || s.revoked || s.origin_blocked || s.origin_unvouched || s.held)
                && may_send(own, item.provenance, item.markings, receiver)
        }
        Subject::Bulletin(item) => {
            let s = item.standing;
            !(s.expired || s.revoked || s.origin_blocked || s.origin_unvouched || s.from_platform)
                && may_send(own, item.provenance, item.markings, receiver)
        }
        Subject::Reference {
            reference,
            reference_standing,
            target,
        } => {
            // A revocation must still reach whoever holds its (now revoked or
            // expired) target, so the target's own withdrawal does not stop it;
            // nothing about a blocked origin or a held submission leaves at all.
            let blocked = [reference_standing, &target.standing]
                .iter()
                .any(|s| s.origin_blocked || s.origin_unvouched);
            !(blocked || target.standing.held)
                && may_send_reference(
                    own,
                    *reference,
                    target.provenance,
                    target.markings,
                    receiver,
                )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tests::markings as indicator;
    use crate::policy::PartnerKind;
    use crate::record::{Indicator, Tlp};

    const OWN: NodeId = NodeId([1; 32]);
    const PARTNER: NodeId = NodeId([2; 32]);
    const THIRD: NodeId = NodeId([3; 32]);

    fn grant(kind: PartnerKind) -> Grant {
        Grant {
            node: PARTNER,
            max_tlp: Tlp::Red,
            relay: true,
            kind,
        }
    }

    fn relayed() -> Provenance {
        Provenance {
            origin: THIRD,
            received_from: Some(THIRD),
        }
    }

    fn item(markings: &Indicator, standing: Standing) -> Item<'_> {
        Item {
            markings,
            provenance: relayed(),
            standing,
        }
    }

    #[test]
    fn every_fact_of_standing_withholds_an_indicator() {
        let green = indicator(Tlp::Green);
        let agency = grant(PartnerKind::Agency);
        assert!(may_disclose(
            OWN,
            &Subject::Indicator(item(&green, Standing::default())),
            &agency
        ));
        for standing in [
            Standing {
                expired: true,
                ..Default::default()
            },
            Standing {
                revoked: true,
                ..Default::default()
            },
            Standing {
                origin_blocked: true,
                ..Default::default()
            },
            Standing {
                origin_unvouched: true,
                ..Default::default()
            },
            Standing {
                from_platform: true,
                held: true,
                ..Default::default()
            },
        ] {
            let subject = Subject::Indicator(item(&green, standing));
            assert!(!may_disclose(OWN, &subject, &agency), "{standing:?}");
        }
    }

    #[test]
    fn an_endorsed_platform_indicator_may_leave_but_its_bulletin_never() {
        let green = indicator(Tlp::Green);
        let endorsed = Standing {
            from_platform: true,
            ..Default::default()
        };
        let agency = grant(PartnerKind::Agency);
        assert!(may_disclose(
            OWN,
            &Subject::Indicator(item(&green, endorsed)),
            &agency
        ));
        assert!(!may_disclose(
            OWN,
            &Subject::Bulletin(item(&green, endorsed)),
            &agency
        ));
    }

    #[test]
    fn references_reach_holders_of_withdrawn_targets_but_never_blocked_or_held_ones() {
        let green = indicator(Tlp::Green);
        let own_reference = Provenance {
            origin: OWN,
            received_from: None,
        };
        let reference = |target: Standing, reference_standing: Standing| Subject::Reference {
            reference: own_reference,
            reference_standing,
            target: item(&green, target),
        };
        let agency = grant(PartnerKind::Agency);
        let revoked = Standing {
            revoked: true,
            expired: true,
            ..Default::default()
        };
        assert!(may_disclose(
            OWN,
            &reference(revoked, Standing::default()),
            &agency
        ));
        let blocked = Standing {
            origin_blocked: true,
            ..Default::default()
        };
        assert!(!may_disclose(
            OWN,
            &reference(blocked, Standing::default()),
            &agency
        ));
        assert!(!may_disclose(
            OWN,
            &reference(Standing::default(), blocked),
            &agency
        ));
        let held = Standing {
            from_platform: true,
            held: true,
            ..Default::default()
        };
        assert!(!may_disclose(
            OWN,
            &reference(held, Standing::default()),
            &agency
        ));
    }

    #[test]
    fn the_tlp_rules_still_apply_under_a_clean_standing() {
        let amber = indicator(Tlp::Amber);
        let ngo = grant(PartnerKind::Ngo);
        let own_item = Item {
            markings: &amber,
            provenance: Provenance {
                origin: OWN,
                received_from: None,
            },
            standing: Standing::default(),
        };
        assert!(!may_disclose(OWN, &Subject::Indicator(own_item), &ngo));
        assert!(may_disclose(
            OWN,
            &Subject::Indicator(own_item),
            &grant(PartnerKind::Agency)
        ));
    }
}
