//! Which openings go with a bulletin to one partner: only those of members this
//! node would itself send that partner now (the same decision as for the member
//! record in a Pull batch, [`crate::disclosure::Judge`]: TLP and kind ceilings,
//! RED recipients, relay rules, expiry, revocation, platform holds, blocked
//! origins). Members this node holds no opening for, or does not hold at all,
//! stay withheld.

use crate::disclosure::Judge;
use crate::node::Node;
use crate::Error;
use liaison_core::policy::Grant;
use liaison_core::proto;
use liaison_core::record::RecordId;

/// The openings to attach for `bulletin_id` when serving `grant`; None when
/// there is none to attach.
pub fn openings_for(
    judge: &mut Judge<'_>,
    node: &Node,
    grant: &Grant,
    bulletin_id: &RecordId,
) -> Result<Option<proto::BulletinOpenings>, Error> {
    let mut members = Vec::new();
    for opening in node.store.openings(bulletin_id)? {
        let Some(member) = node.store.get(&opening.record_id)? else {
            continue;
        };
        if member.record.payload.indicator().is_some() && judge.may_disclose(&member, grant)? {
            members.push(super::opening_to_wire(&opening));
        }
    }
    Ok((!members.is_empty()).then(|| proto::BulletinOpenings {
        bulletin_id: bulletin_id.0.to_vec(),
        members,
    }))
}
