//! How this node names an origin agency to its own people: its own name, an
//! enrolled partner's name as the admin enrolled it (marked "(revoked)" once
//! revoked), or a relayed origin's self-claimed name always marked with the
//! relay that introduced it.
//!
//! One place for every surface (gRPC views, federated answers, correlation,
//! TAXII and the MISP feed), so that no surface can show a relayed third party
//! as if it were a direct partner. Must never decide who may receive what.

use crate::node::Node;
use liaison_core::record::NodeId;

/// The origin's name as this node knows it. An origin introduced by a relay is
/// always shown as "Name (via Relay)": its name is its own claim, and a relay
/// must not be able to pass a third party off as a direct partner.
pub fn origin_name(node: &Node, origin: &NodeId) -> String {
    if *origin == node.node_id() {
        return node.identity.name.clone();
    }
    if let Some(entry) = node.partner_entry(origin) {
        return entry.name;
    }
    // Its records outlive the enrollment: still named, marked as no longer a partner.
    if let Some(revoked) = node.store.revoked_partner(origin).ok().flatten() {
        return format!("{} (revoked)", revoked.name);
    }
    let Some(known) = node.store.known_origin(origin).ok().flatten() else {
        return String::new();
    };
    let relay = known
        .known_via
        .as_deref()
        .and_then(|via| via.parse::<NodeId>().ok())
        .map(|via| match node.partner_entry(&via) {
            Some(entry) => entry.name,
            None => via.short(),
        })
        .unwrap_or_else(|| "a relay".into());
    format!("{} (via {relay})", known.name)
}
