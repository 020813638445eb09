//! The node's side of "may this record leave to this receiver": it reads, for a
//! stored record, the facts only this node knows (expiry against its retention,
//! revocation by the origin, a platform's unendorsed submission, a blocked or
//! no longer vouched-for origin) and asks [`liaison_core::policy::disclose::may_disclose`]. Every path that
//! hands a record, or anything derived from it, to a partner goes through a
//! [`Judge`]: Pull batches (and so relay), federated search answers, private
//! lookup filters and bulletin openings.
//!
//! Must never take a TLP or handling decision itself (liaison_core::policy does), and
//! no other module may re-assemble these facts for a disclosure of its own.

use std::collections::HashMap;

use crate::node::Node;
use crate::Error;
use liaison_core::policy::disclose::{may_disclose, Item, Standing, Subject};
use liaison_core::policy::{Grant, Markings, PartnerKind, Provenance};
use liaison_core::record::{Body, NodeId};
use liaison_store::store::StoredRecord;

/// What is known of an origin for the length of one judgement pass.
#[derive(Clone, Copy, Default)]
struct OriginFacts {
    blocked: bool,
    unvouched: bool,
    platform: bool,
}

/// Decides disclosures for one pass (a batch, an answer, a filter build),
/// reading each origin's enrollment once.
pub struct Judge<'a> {
    node: &'a Node,
    now_ms: i64,
    origins: HashMap<NodeId, OriginFacts>,
}

/// A record read for judgement: its standing, and for a revocation or
/// sighting the record it refers to. Judged once, decided for any receiver.
pub struct Judged<'s> {
    record: &'s StoredRecord,
    standing: Standing,
    target: Option<(StoredRecord, Standing)>,
}

impl<'a> Judge<'a> {
    pub fn new(node: &'a Node) -> Self {
        Judge {
            node,
            now_ms: liaison_core::now_ms(),
            origins: HashMap::new(),
        }
    }

    /// May `stored` leave this node for `receiver`?
    pub fn may_disclose(&mut self, stored: &StoredRecord, receiver: &Grant) -> Result<bool, Error> {
        Ok(match self.judge(stored)? {
            Some(judged) => self.decide(&judged, receiver),
            None => false,
        })
    }

    /// Reads what the decision needs about `stored`; `None` when it refers to
    /// a record this node does not hold (or one a reference cannot point to),
    /// which never leaves.
    pub fn judge<'s>(&mut self, stored: &'s StoredRecord) -> Result<Option<Judged<'s>>, Error> {
        let standing = self.standing(stored)?;
        let target_id = match &stored.record.payload.body {
            Body::Indicator(_) | Body::Bulletin(_) => {
                return Ok(Some(Judged {
                    record: stored,
                    standing,
                    target: None,
                }))
            }
            Body::Revocation(r) => r.record_id,
            Body::Sighting(s) => s.record_id,
        };
        let Some(target) = self.node.store.get(&target_id)? else {
            return Ok(None);
        };
        // A revocation may refer to a bulletin (issue 15); a sighting never does.
        let fits = matches!(
            (&stored.record.payload.body, &target.record.payload.body),
            (_, Body::Indicator(_)) | (Body::Revocation(_), Body::Bulletin(_))
        );
        if !fits {
            return Ok(None);
        }
        let target_standing = self.standing(&target)?;
        Ok(Some(Judged {
            record: stored,
            standing,
            target: Some((target, target_standing)),
        }))
    }

    /// The decision for a judged record and one receiver.
    pub fn decide(&self, judged: &Judged<'_>, receiver: &Grant) -> bool {
        let own = self.node.node_id();
        let subject = match (&judged.record.record.payload.body, &judged.target) {
            (Body::Indicator(indicator), _) => {
                Subject::Indicator(item(judged.record, indicator, judged.standing))
            }
            (Body::Bulletin(bulletin), _) => {
                Subject::Bulletin(item(judged.record, bulletin, judged.standing))
            }
            (_, Some((target, target_standing))) => {
                let markings: &dyn Markings = match &target.record.payload.body {
                    Body::Indicator(indicator) => indicator,
                    Body::Bulletin(bulletin) => bulletin,
                    _ => return false,
                };
                Subject::Reference {
                    reference: provenance(judged.record),
                    reference_standing: judged.standing,
                    target: item(target, markings, *target_standing),
                }
            }
            (_, None) => return false,
        };
        may_disclose(own, &subject, receiver)
    }

    fn standing(&mut self, stored: &StoredRecord) -> Result<Standing, Error> {
        let origin = stored.record.origin();
        let facts = self.origin_facts(&origin)?;
        let store = &self.node.store;
        let (expired, revoked, held) = match &stored.record.payload.body {
            Body::Indicator(_) | Body::Bulletin(_) => {
                let expired = store.expires_ms(stored).is_some_and(|t| t <= self.now_ms);
                let revoked = store.is_tombstoned_by(&stored.record.id, &origin)?;
                let held = facts.platform
                    && stored.record.payload.indicator().is_some()
                    && !crate::platform::endorsed(self.node, &stored.record.id);
                (expired, revoked, held)
            }
            Body::Revocation(_) | Body::Sighting(_) => (false, false, false),
        };
        Ok(Standing {
            expired,
            revoked,
            origin_blocked: facts.blocked,
            origin_unvouched: facts.unvouched,
            from_platform: facts.platform,
            held,
        })
    }

    fn origin_facts(&mut self, origin: &NodeId) -> Result<OriginFacts, Error> {
        if let Some(facts) = self.origins.get(origin) {
            return Ok(*facts);
        }
        let facts = if *origin == self.node.node_id() {
            OriginFacts::default()
        } else if let Some(partner) = self.node.partner_entry(origin) {
            OriginFacts {
                platform: partner.kind.parse::<PartnerKind>().ok() == Some(PartnerKind::Platform),
                ..Default::default()
            }
        } else {
            // A revoked partner's records stay here as evidence, but this node
            // no longer vouches for it (nor knows whether it was a platform
            // whose submissions were held): they do not leave.
            match self.node.store.known_origin(origin)? {
                Some(known) => OriginFacts {
                    blocked: known.blocked,
                    ..Default::default()
                },
                None => OriginFacts {
                    unvouched: true,
                    ..Default::default()
                },
            }
        };
        self.origins.insert(*origin, facts);
        Ok(facts)
    }
}

fn provenance(stored: &StoredRecord) -> Provenance {
    Provenance {
        origin: stored.record.origin(),
        received_from: stored.received_from,
    }
}

fn item<'r>(stored: &StoredRecord, markings: &'r dyn Markings, standing: Standing) -> Item<'r> {
    Item {
        markings,
        provenance: provenance(stored),
        standing,
    }
}
