//! The attacks the threat model names, made through real processes: a hostile
//! relay partner forwarding forged records and bundles that do not match their
//! origin; a partner withdrawing another agency's record; a pin hijack by a
//! bundle or a TLS rotation statement; a revoked partner coming back; TLS 1.2.
//!
//! Every attack is first shown to have happened (the batch was served and the
//! victim's cursor moved past it, the call reached the service, the TCP
//! connection was made), then shown refused for its own reason, counted
//! against the peer, with nothing stored.

use crate::common;

use common::rogue::relay::{
    bundle_naming, carried, forged_bundle, fresh_identity, identity_of, with_cert, Step, StepPeer,
};
use common::rogue::{indicator, signed, signed_body};
use common::{eventually, int, TestNode, WAIT};
use ed25519_dalek::{Signer, SigningKey};
use liaison::identity::Bundle;
use liaison::proto;
use liaison::proto::federation_client::FederationClient;
use liaison::record::{Body, Envelope, Revocation, Tlp};
use serde_json::Value;

mod pins;
mod tls12;
mod withdraw;

const VICTIM: &str = "Agency Victim (example)";
const DIRECT: &str = "Agency Direct (example)";
const RELAY: &str = "Agency Relay (example)";

/// The victim's `partner list` row for `name`.
fn partner_row(node: &TestNode, name: &str) -> Value {
    let list = node.cli_json(&["partner", "list"]);
    list["partners"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no partner {name} in {list}"))
}

/// Waits until the victim has processed `name`'s batch `cursor` (its cursor
/// moved there: the batch arrived, was verified and committed); its row.
fn settled(node: &TestNode, name: &str, cursor: u64) -> Value {
    let done = eventually(WAIT, || int(&partner_row(node, name)["cursor"]) == cursor);
    assert!(
        done,
        "batch {cursor} from {name} never processed: {}; log:\n{}",
        partner_row(node, name),
        node.log()
    );
    partner_row(node, name)
}

fn known_origins(node: &TestNode) -> Vec<Value> {
    node.cli_json(&["partner", "list"])["knownOrigins"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn audit_entries(node: &TestNode, action: &str) -> Vec<Value> {
    let all: Value =
        serde_json::from_str(&node.cli_ok(&["audit", "export", "--format", "json"])).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

fn write_bundle(node: &TestNode, file: &str, pem: &str) -> String {
    let path = node.tmp.path().join(file);
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_string()
}

/// Enrolls a scripted peer at `victim` with `extra` terms.
fn enroll(victim: &TestNode, peer: &StepPeer, extra: &[&str]) {
    let path = write_bundle(victim, "peer.pem", &peer.bundle_pem);
    let mut args = vec!["partner", "add", path.as_str(), "--yes"];
    args.extend_from_slice(extra);
    victim.cli_ok(&args);
}

/// One attack step: hands `step` over, waits until the victim processed it, and
/// checks that it refused `refused` more records, none stored, for `reason`.
fn refused(victim: &TestNode, peer: &StepPeer, step: Step, refused: u64, reason: &str) {
    refused_from(victim, RELAY, peer, step, refused, reason)
}

/// [`refused`] for the peer enrolled as `name`.
fn refused_from(
    victim: &TestNode,
    name: &str,
    peer: &StepPeer,
    step: Step,
    refused: u64,
    reason: &str,
) {
    let before = partner_row(victim, name);
    let cursor = peer.send(step);
    let row = settled(victim, name, cursor);
    assert!(peer.sent() >= cursor as usize, "the batch was never served");
    assert_eq!(
        int(&row["recordsRejected"]) - int(&before["recordsRejected"]),
        refused,
        "step {cursor}: {row}"
    );
    assert_eq!(
        row["recordsReceived"], before["recordsReceived"],
        "step {cursor} stored something: {row}"
    );
    let last = row["lastRejection"].as_str().unwrap_or_default();
    assert!(
        last.contains(reason),
        "step {cursor}: {last:?} lacks {reason:?}"
    );
}

/// A CLEAR phone record of `key`'s origin.
fn record(key: &SigningKey, seq: u64, value: &str) -> proto::Envelope {
    signed(key, seq, indicator(value, Tlp::Clear, vec![]))
}

/// `record` with its signature made by another key (a forgery).
fn forged(key: &SigningKey, seq: u64, value: &str) -> proto::Envelope {
    let mut envelope = record(key, seq, value);
    let other = SigningKey::from_bytes(&[42; 32]);
    envelope.signature = other
        .sign(&[b"liaison/v1/record\0".as_slice(), &envelope.payload].concat())
        .to_bytes()
        .to_vec();
    envelope
}

fn id_of(envelope: &proto::Envelope) -> liaison::record::RecordId {
    Envelope::from_wire(envelope.clone()).unwrap().id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_relay_cannot_forge_mismatch_or_impersonate_origins() {
    let mut victim = TestNode::init(VICTIM);
    let mut direct = TestNode::init(DIRECT);
    victim.start();
    direct.start();
    victim.enroll(&direct, "green", false);
    let direct_id = direct.node_id();
    let relay_dir = TestNode::init(RELAY);
    let relay = StepPeer::start(&relay_dir.node_dir(), &victim.node_dir()).await;
    enroll(&victim, &relay, &["--max-tlp", "green", "--relay"]);
    let relay_id = relay.identity.node_id().to_hex();

    // Control: a genuine third-party record with its origin's bundle is taken,
    // so the refusals below are the checks' doing, not a relay that never works.
    let third = fresh_identity("Agency Third (example)");
    let cursor = relay.send(Step {
        records: vec![record(&third.signing_key, 1, "+447700900901")],
        origins: vec![carried(&third)],
    });
    let row = settled(&victim, RELAY, cursor);
    assert_eq!(int(&row["recordsReceived"]), 1, "{row}");
    let found = victim.cli_json(&["search", "+447700900901"]);
    assert_eq!(
        found["records"][0]["originName"], "Agency Third (example) (via Agency Relay (example))",
        "{found}"
    );

    // A forged third-party record: its origin's real bundle, another key's signature.
    let forger = fresh_identity("Agency Forged (example)");
    refused(
        &victim,
        &relay,
        Step {
            records: vec![forged(&forger.signing_key, 1, "+447700900902")],
            origins: vec![carried(&forger)],
        },
        1,
        "signature does not verify",
    );
    // A genuine record carried with somebody else's bundle.
    let (unvouched, other) = (
        fresh_identity("Agency Zed (example)"),
        fresh_identity("Agency W (example)"),
    );
    refused(
        &victim,
        &relay,
        Step {
            records: vec![record(&unvouched.signing_key, 1, "+447700900903")],
            origins: vec![carried(&other)],
        },
        1,
        "unknown origin",
    );
    // Bundles for that origin that are not its own: signed by another key over
    // its bundle, or signed (validly) by another key naming it.
    refused(
        &victim,
        &relay,
        Step {
            records: vec![],
            origins: vec![forged_bundle(&unvouched, &other.signing_key)],
        },
        1,
        "origin bundle: the bundle's signature does not verify",
    );
    refused(
        &victim,
        &relay,
        Step {
            records: vec![],
            origins: vec![bundle_naming(
                &other.signing_key,
                &unvouched,
                "Agency Zed (example)",
            )],
        },
        1,
        "origin bundle: not a Liaison enrollment bundle: node id differs from the signing key",
    );
    // ...and neither introduced it: its record is still from an unknown origin.
    refused(
        &victim,
        &relay,
        Step {
            records: vec![record(&unvouched.signing_key, 2, "+447700900904")],
            origins: vec![],
        },
        1,
        "unknown origin",
    );

    // Records claiming the victim as their origin: signed with its own key (a
    // stolen key, an old copy of its database), or merely naming it as signer.
    let victim_identity = identity_of(&victim.node_dir());
    refused(
        &victim,
        &relay,
        Step {
            records: vec![record(&victim_identity.signing_key, 77, "+447700900905")],
            origins: vec![],
        },
        1,
        "claims to be our own record",
    );
    let mut posing = forged(&victim_identity.signing_key, 78, "+447700900906");
    posing.signer = victim_identity.node_id().0.to_vec();
    refused(
        &victim,
        &relay,
        Step {
            records: vec![posing],
            origins: vec![],
        },
        1,
        "signature does not verify",
    );

    // A third party carrying the direct partner's name: stored (the relay may
    // relay it), but never shown as the direct partner.
    let copycat = fresh_identity(DIRECT);
    let cursor = relay.send(Step {
        records: vec![record(&copycat.signing_key, 1, "+447700900907")],
        origins: vec![carried(&copycat)],
    });
    let row = settled(&victim, RELAY, cursor);
    assert_eq!(int(&row["recordsReceived"]), 2, "{row}");
    let found = victim.cli_json(&["search", "+447700900907"]);
    let shown = &found["records"][0];
    assert_eq!(shown["origin"], copycat.node_id().to_hex(), "{found}");
    assert_eq!(
        shown["originName"],
        format!("{DIRECT} (via {RELAY})"),
        "a relayed origin must never be shown under a direct partner's bare name"
    );
    assert_ne!(shown["origin"], direct_id);
    let text = victim.cli_ok(&["search", "+447700900907"]);
    assert!(text.contains(&format!("{DIRECT} (via {RELAY})")), "{text}");
    let list = victim.cli_json(&["partner", "list"]);
    let named: Vec<&Value> = list["partners"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == DIRECT)
        .collect();
    assert_eq!(named.len(), 1, "one direct partner of that name: {list}");
    assert_eq!(named[0]["nodeId"], direct_id);
    let copy = known_origins(&victim)
        .into_iter()
        .find(|k| k["name"] == DIRECT)
        .unwrap_or_else(|| panic!("the copycat is listed as a known origin: {list}"));
    assert_eq!(copy["nodeId"], copycat.node_id().to_hex());
    assert_eq!(copy["knownVia"], relay_id);
    let text = victim.cli_ok(&["partner", "list"]);
    assert!(
        text.contains(&format!(
            "{DIRECT} ({}) known via {}",
            &copy["nodeId"].as_str().unwrap()[..16],
            &relay_id[..16]
        )),
        "{text}"
    );

    // Only the two origins whose own bundle came with a record were learned.
    let mut learned: Vec<String> = known_origins(&victim)
        .iter()
        .map(|k| k["nodeId"].as_str().unwrap().to_string())
        .collect();
    learned.sort();
    let mut expected = vec![third.node_id().to_hex(), copycat.node_id().to_hex()];
    expected.sort();
    assert_eq!(learned, expected);
    for value in [
        "+447700900902",
        "+447700900903",
        "+447700900904",
        "+447700900905",
        "+447700900906",
    ] {
        assert!(victim.search_ids(value).is_empty(), "{value} was stored");
    }
    assert!(victim.log().contains("rejected records from partner"));
}

/// A partner enrolled WITHOUT relay rights may not hand over anyone else's
/// records, not even those of an origin the victim trusts directly: the relay
/// check alone refuses them (origin trust and signature would both pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_without_relay_rights_cannot_forward_a_trusted_origins_record() {
    const PLAIN: &str = "Agency Plain (example)";
    let mut victim = TestNode::init(VICTIM);
    victim.start();
    let mut direct = TestNode::init(DIRECT);
    direct.start();
    victim.enroll(&direct, "green", false);
    let plain_dir = TestNode::init(PLAIN);
    let plain = StepPeer::start(&plain_dir.node_dir(), &victim.node_dir()).await;
    enroll(&victim, &plain, &["--max-tlp", "green"]);

    // Control: the partner's own record is taken.
    let cursor = plain.send(Step {
        records: vec![record(&plain.identity.signing_key, 1, "+447700900921")],
        origins: vec![],
    });
    assert_eq!(int(&settled(&victim, PLAIN, cursor)["recordsReceived"]), 1);

    // The direct partner's genuine CLEAR record, forwarded with its bundle.
    let direct_identity = identity_of(&direct.node_dir());
    refused_from(
        &victim,
        PLAIN,
        &plain,
        Step {
            records: vec![record(&direct_identity.signing_key, 50, "+447700900922")],
            origins: vec![carried(&direct_identity)],
        },
        1,
        "from a partner without relay rights",
    );
    assert!(victim.search_ids("+447700900922").is_empty());
}
