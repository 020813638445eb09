//! Store unit tests: atomic batches, index, change log, counters, version checks.

use ed25519_dalek::SigningKey;

use super::*;
use liaison_core::indicator::Kind;
use liaison_core::record::{
    sign_payload, Body, Evaluation, Indicator, NodeId, Payload, Tlp, VerifiedRecord,
};

pub(super) fn record(key: &SigningKey, seq: u64, value: &str) -> VerifiedRecord {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: seq,
        created_ms: 1,
        body: Body::Indicator(Indicator {
            source: String::new(),
            first_seen_ms: None,
            kind: Kind::Domain,
            value: value.into(),
            labels: vec![],
            tlp: Tlp::Clear,
            handling: vec![],
            handling_note: String::new(),
            evaluation: Evaluation::UNEVALUATED,
            valid_until_ms: 10,
            description: String::new(),
            case_reference: String::new(),
            recipients: vec![],
            supersedes: None,
            outside_known_ranges: false,
        }),
    };
    sign_payload(key, &payload).unwrap()
}

pub(super) fn batch(records: Vec<VerifiedRecord>) -> WriteBatch {
    WriteBatch {
        records,
        ..Default::default()
    }
}

#[test]
fn batch_stores_records_index_changes_and_origin_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let key = SigningKey::from_bytes(&[1; 32]);
    let a = record(&key, 1, "a.example.org");
    let b = record(&key, 5, "b.example.org");
    let outcome = store
        .apply(&batch(vec![a.clone(), b.clone(), a.clone()]), 1)
        .unwrap();
    assert_eq!(outcome.stored, vec![a.id, b.id]);
    assert_eq!(outcome.duplicates, 1);
    assert_eq!(outcome.last_change, 2);
    assert_eq!(
        store.lookup(Kind::Domain, "a.example.org").unwrap(),
        vec![a.id]
    );
    assert!(
        store
            .lookup(Kind::Domain, "a.example.or")
            .unwrap()
            .is_empty(),
        "no prefix matches"
    );
    assert_eq!(
        store.changes_after(0, 10).unwrap(),
        vec![(1, a.id), (2, b.id)]
    );
    assert_eq!(store.changes_after(1, 10).unwrap(), vec![(2, b.id)]);
    assert_eq!(store.origin_sequence(&a.origin()).unwrap(), 5);
    assert_eq!(store.record_count(), 2);
    assert_eq!(store.get(&b.id).unwrap().unwrap().record, b);
    // A second batch with only duplicates changes nothing.
    let again = store.apply(&batch(vec![b.clone()]), 3).unwrap();
    assert!(again.stored.is_empty());
    assert_eq!(store.record_count(), 2);
}

#[test]
fn counters_and_data_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = SigningKey::from_bytes(&[2; 32]);
    let r = record(&key, 1, "c.example.org");
    {
        let store = Store::open(&path, 1 << 20).unwrap();
        store.apply(&batch(vec![r.clone()]), 1).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = Store::open(&path, 1 << 20).unwrap();
    assert_eq!(store.record_count(), 1);
    assert_eq!(store.last_change().unwrap(), 1);
    assert!(store.get(&r.id).unwrap().is_some());
}

#[test]
fn a_database_of_another_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = sled::open(&path).unwrap();
        let tree = db.open_tree("main").unwrap();
        tree.insert(
            super::keys::meta(super::keys::META_SCHEMA),
            &b"liaison-store-v0"[..],
        )
        .unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(&path, 1 << 20).err().expect("must refuse");
    assert!(err.to_string().contains("another version"), "{err}");
}

#[test]
fn a_corrupt_database_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(
        path.join("conf"),
        b"\xff\xfe garbage that is not a sled config",
    )
    .unwrap();
    std::fs::write(path.join("db"), vec![0xAB; 4096]).unwrap();
    match Store::open(&path, 1 << 20) {
        Err(StoreError::Open { .. }) | Err(StoreError::Version { .. }) | Err(StoreError::Io(_)) => {
        }
        Err(other) => panic!("unexpected error kind: {other}"),
        Ok(_) => panic!("garbage opened as a database"),
    }
}

#[tokio::test]
async fn committer_acknowledges_after_flush_and_announces_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let (handle, task) = Committer::spawn(store.clone()).unwrap();
    let mut changes = handle.changes();
    let key = SigningKey::from_bytes(&[3; 32]);
    let mut waits = Vec::new();
    for i in 1..=50u64 {
        let handle = handle.clone();
        let r = record(&key, i, &format!("n{i}.example.org"));
        waits.push(tokio::spawn(
            async move { handle.commit(batch(vec![r])).await },
        ));
    }
    for w in waits {
        assert_eq!(w.await.unwrap().unwrap().stored.len(), 1);
    }
    changes.changed().await.unwrap();
    assert_eq!(*changes.borrow(), 50);
    drop(handle);
    drop(changes);
    task.await.unwrap();
    assert_eq!(store.record_count(), 50);
}

pub(super) fn revocation(
    key: &SigningKey,
    seq: u64,
    target: liaison_core::record::RecordId,
) -> VerifiedRecord {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: seq,
        created_ms: 2,
        body: Body::Revocation(liaison_core::record::Revocation {
            record_id: target,
            reason: "error".into(),
        }),
    };
    sign_payload(key, &payload).unwrap()
}

#[test]
fn a_revocation_removes_its_target_from_the_index_even_if_it_arrives_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let key = SigningKey::from_bytes(&[4; 32]);
    let target = record(&key, 1, "t.example.org");
    // Revocation first (relays reorder), then the record: never indexed.
    store
        .apply(&batch(vec![revocation(&key, 2, target.id)]), 1)
        .unwrap();
    store.apply(&batch(vec![target.clone()]), 2).unwrap();
    assert!(store
        .lookup(Kind::Domain, "t.example.org")
        .unwrap()
        .is_empty());
    assert!(store.is_tombstoned(&target.id).unwrap());
    // In the usual order, and within one batch, the same.
    let other = record(&key, 3, "u.example.org");
    store
        .apply(
            &batch(vec![other.clone(), revocation(&key, 4, other.id)]),
            3,
        )
        .unwrap();
    assert!(store
        .lookup(Kind::Domain, "u.example.org")
        .unwrap()
        .is_empty());
    // Someone else's revocation does nothing.
    let intruder = SigningKey::from_bytes(&[5; 32]);
    let kept = record(&key, 5, "v.example.org");
    store
        .apply(
            &batch(vec![kept.clone(), revocation(&intruder, 1, kept.id)]),
            5,
        )
        .unwrap();
    assert_eq!(
        store.lookup(Kind::Domain, "v.example.org").unwrap(),
        vec![kept.id]
    );
    assert!(!store.is_tombstoned(&kept.id).unwrap());
}

#[test]
fn purge_removes_expired_records_with_their_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let key = SigningKey::from_bytes(&[6; 32]);
    let expired = record(&key, 1, "old.example.org"); // valid until 10 ms after the epoch
    store.apply(&batch(vec![expired.clone()]), 1).unwrap();
    assert_eq!(
        store.purge_expired(5).unwrap(),
        vec![],
        "not yet expired at 5 ms"
    );
    assert_eq!(store.purge_expired(1_000).unwrap(), vec![expired.id]);
    assert!(store.get(&expired.id).unwrap().is_none());
    assert!(store
        .lookup(Kind::Domain, "old.example.org")
        .unwrap()
        .is_empty());
    assert_eq!(store.record_count(), 0);
    assert!(store.purge_expired(1_000).unwrap().is_empty());
}

#[test]
fn nobody_else_can_mask_a_revocation_and_a_late_target_re_announces_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let origin = SigningKey::from_bytes(&[7; 32]);
    let intruder = SigningKey::from_bytes(&[8; 32]);
    let target = record(&origin, 1, "w.example.org");
    let real = revocation(&origin, 2, target.id);
    // The real revocation, then an intruder's for the same id, then the record.
    store.apply(&batch(vec![real.clone()]), 1).unwrap();
    store
        .apply(&batch(vec![revocation(&intruder, 1, target.id)]), 2)
        .unwrap();
    let outcome = store.apply(&batch(vec![target.clone()]), 3).unwrap();
    assert!(
        store
            .lookup(Kind::Domain, "w.example.org")
            .unwrap()
            .is_empty(),
        "the origin's revocation was masked"
    );
    // The record took change 3; the revocation is announced again as change 4.
    assert_eq!(outcome.last_change, 4);
    assert_eq!(
        store.changes_after(2, 10).unwrap(),
        vec![(3, target.id), (4, real.id)]
    );
}

/// "The partner accepted us" is durable across a reopen, and forgotten when
/// the partner is removed (enrolled again, it has not accepted us yet).
#[tokio::test]
async fn accepted_us_survives_a_reopen_and_ends_with_the_partner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let partner = NodeId([7; 32]);
    let entry = PartnerEntry {
        name: "Agency P (example)".into(),
        node_id: partner.to_hex(),
        bundle: String::new(),
        tls_pin: "00".repeat(32),
        endpoints: vec!["192.0.2.7:7400".into()],
        max_tlp: "green".into(),
        relay: false,
        added_ms: 0,
        known_via: None,
        blocked: false,
        previous_pin: None,
        previous_pin_until_ms: 0,
        kind: String::new(),
        max_evaluation: String::new(),
    };
    {
        let store = Store::open(&path, 1 << 20).unwrap();
        store.put_partner(&partner, &entry).await.unwrap();
        assert!(!store.accepted_us(&partner).unwrap());
        store.mark_accepted_us(&partner).await.unwrap();
        store.mark_accepted_us(&partner).await.unwrap();
        assert!(store.accepted_us(&partner).unwrap());
    }
    let store = Store::open(&path, 1 << 20).unwrap();
    assert!(store.accepted_us(&partner).unwrap(), "lost at reopen");
    assert!(store.remove_partner(&partner).await.unwrap());
    assert!(!store.accepted_us(&partner).unwrap(), "kept after removal");
}
