//! Openings received beside bulletins: each checked against the signed
//! commitment at its position; a bad one is refused alone (the bulletin stays).

use std::collections::HashMap;

use crate::node::Node;
use liaison_core::proto;
use liaison_core::record::{Bulletin, RecordId, VerifiedRecord};

use super::Opening;

/// Verified openings by bulletin, and the reasons for those refused. Bulletins
/// are looked up in `fresh` (this batch and the previous one) and then the store;
/// openings for a bulletin found in neither are refused.
pub fn check_openings(
    node: &Node,
    wire: Vec<proto::BulletinOpenings>,
    fresh: &[&[VerifiedRecord]],
) -> (Vec<(RecordId, Vec<Opening>)>, Vec<String>) {
    let mut in_batch: HashMap<RecordId, &Bulletin> = HashMap::new();
    for record in fresh.iter().flat_map(|r| r.iter()) {
        if let Some(bulletin) = record.payload.bulletin() {
            in_batch.insert(record.id, bulletin);
        }
    }
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for entry in wire {
        let Ok(id) = RecordId::from_slice(&entry.bulletin_id) else {
            refused.push("bulletin opening: bulletin_id is not 32 bytes".to_string());
            continue;
        };
        let stored;
        let bulletin = match in_batch.get(&id) {
            Some(b) => *b,
            None => {
                stored = node.store.get(&id).ok().flatten();
                match stored.as_ref().and_then(|s| s.record.payload.bulletin()) {
                    Some(b) => b,
                    None => {
                        refused.push(format!(
                            "bulletin {}: openings for a bulletin this node does not hold",
                            id.short()
                        ));
                        continue;
                    }
                }
            }
        };
        let (good, bad) = check_entry(bulletin, &entry.members);
        refused.extend(
            bad.into_iter()
                .map(|r| format!("bulletin {}: opening {r}", id.short())),
        );
        if !good.is_empty() {
            accepted.push((id, good));
        }
    }
    (accepted, refused)
}

/// The openings of one entry that open their commitment (at most one per position).
fn check_entry(bulletin: &Bulletin, wire: &[proto::MemberOpening]) -> (Vec<Opening>, Vec<String>) {
    let mut good: Vec<Opening> = Vec::new();
    let mut bad = Vec::new();
    if wire.len() > bulletin.members.len() {
        bad.push(format!(
            "list of {} for {} members refused",
            wire.len(),
            bulletin.members.len()
        ));
        return (good, bad);
    }
    for member in wire {
        let checked = super::opening_from_wire(member)
            .and_then(|o| super::check_opening(bulletin, &o).map(|()| o));
        match checked {
            Ok(o) if good.iter().any(|g| g.position == o.position) => {
                bad.push(format!("position {}: given twice", o.position))
            }
            Ok(o) => good.push(o),
            Err(reason) => bad.push(reason),
        }
    }
    (good, bad)
}
