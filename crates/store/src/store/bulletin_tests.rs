//! Bulletin side tables: written with the records, read back, purged with them.

use ed25519_dalek::SigningKey;

use super::tests::{batch, record};
use super::*;
use liaison_core::bulletin::commit_members;
use liaison_core::record::{sign_payload, Body, Bulletin, NodeId, Payload, Tlp};

fn bulletin_record(
    key: &SigningKey,
    seq: u64,
    members: Vec<[u8; 32]>,
) -> liaison_core::record::VerifiedRecord {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: seq,
        created_ms: 1,
        body: Body::Bulletin(Bulletin {
            title: "Campaign (fictional)".into(),
            summary: String::new(),
            modus_operandi: String::new(),
            labels: vec![],
            countries: vec![],
            members,
            tlp: Tlp::Green,
            handling: vec![],
            handling_note: String::new(),
            recipients: vec![],
            valid_until_ms: 20,
        }),
    };
    sign_payload(key, &payload).unwrap()
}

#[test]
fn openings_land_with_the_bulletin_and_leave_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 1 << 20).unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let one = record(&key, 1, "one.example.org");
    let two = record(&key, 2, "two.example.org");
    let (commitments, openings) = commit_members(&[one.id, two.id]);
    let bulletin = bulletin_record(&key, 3, commitments);
    let mut write = batch(vec![one.clone(), two.clone(), bulletin.clone()]);
    // Only the first member is opened here (the second withheld).
    write.openings = vec![(bulletin.id, vec![openings[0]])];
    store.apply(&write, 1).unwrap();

    assert_eq!(store.bulletin_ids().unwrap(), vec![bulletin.id]);
    assert_eq!(store.openings(&bulletin.id).unwrap(), vec![openings[0]]);
    assert_eq!(store.bulletins_of(&one.id).unwrap(), vec![bulletin.id]);
    assert!(store.bulletins_of(&two.id).unwrap().is_empty());
    let prefix = &bulletin.id.to_hex()[..9];
    assert_eq!(
        store.records_with_prefix(prefix, 2).unwrap(),
        vec![bulletin.id]
    );

    // The members expire first (valid until 10): their membership goes with them.
    store.purge_expired(15).unwrap();
    assert!(store.bulletins_of(&one.id).unwrap().is_empty());
    assert_eq!(store.bulletin_ids().unwrap(), vec![bulletin.id]);
    // Then the bulletin, with its openings.
    store.purge_expired(25).unwrap();
    assert!(store.bulletin_ids().unwrap().is_empty());
    assert!(store.openings(&bulletin.id).unwrap().is_empty());
}
