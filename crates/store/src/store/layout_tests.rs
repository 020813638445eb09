//! Tests of the v2 layout (change-log runs, expiry groups) and of opening a
//! database written in the v1 layout (one change-log key and one expiry key per
//! record).

use ed25519_dalek::SigningKey;

use super::tests::batch;
use super::*;
use liaison_core::indicator::Kind;
use liaison_core::record::{sign_payload, Body, VerifiedRecord};

/// An indicator valid until `valid_until_ms`.
fn expiring(key: &SigningKey, seq: u64, valid_until_ms: i64) -> VerifiedRecord {
    let mut record = super::tests::record(key, seq, &format!("r{seq}.example.org"));
    let Body::Indicator(indicator) = &mut record.payload.body else {
        unreachable!()
    };
    indicator.valid_until_ms = valid_until_ms;
    sign_payload(key, &record.payload).unwrap()
}

fn count_keys(store: &Store, prefix: u8) -> usize {
    store.tree().scan_prefix([prefix]).count()
}

#[test]
fn a_large_batch_writes_a_few_run_and_group_keys_and_reads_back_per_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let key = SigningKey::from_bytes(&[40; 32]);
    let records: Vec<_> = (1..=300)
        .map(|s| expiring(&key, s, 1_000 + s as i64))
        .collect();
    store.apply(&batch(records.clone()), 1).unwrap();
    let ids: Vec<(u64, _)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, r.id))
        .collect();
    assert_eq!(
        count_keys(&store, keys::CHANGE),
        3,
        "300 entries in runs of 128"
    );
    assert_eq!(
        count_keys(&store, keys::EXPIRY),
        3,
        "300 expiries in groups of 128"
    );
    assert_eq!(store.last_change().unwrap(), 300);
    for cursor in [0u64, 1, 127, 128, 129, 255, 256, 299] {
        let got = store.changes_after(cursor, 1_000).unwrap();
        assert_eq!(got, ids[cursor as usize..].to_vec(), "after {cursor}");
        let limited = store.changes_after(cursor, 5).unwrap();
        let end = (cursor as usize + 5).min(300);
        assert_eq!(
            limited,
            ids[cursor as usize..end].to_vec(),
            "after {cursor}, 5"
        );
    }
    assert!(store.changes_after(300, 10).unwrap().is_empty());
    let before: Vec<_> = ids[..200].iter().rev().take(70).copied().collect();
    assert_eq!(store.changes_before(201, 70).unwrap(), before);
    assert_eq!(store.changes_before(1, 10).unwrap(), vec![]);
    // A second batch continues the log after the first.
    let next = expiring(&key, 301, 5_000);
    let outcome = store.apply(&batch(vec![next.clone()]), 301).unwrap();
    assert_eq!(outcome.last_change, 301);
    assert_eq!(
        store.changes_after(299, 10).unwrap(),
        vec![(300, records[299].id), (301, next.id)]
    );
}

#[test]
fn a_purge_takes_only_the_expired_part_of_a_group_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let key = SigningKey::from_bytes(&[41; 32]);
    // Expiries out of order within one batch (one group).
    let valid = [3_000, 1_000, 2_000, 1_000];
    let records: Vec<_> = (1..=4)
        .map(|s| expiring(&key, s, valid[s as usize - 1]))
        .collect();
    store.apply(&batch(records.clone()), 1).unwrap();
    assert!(
        store.purge_expired(1_000).unwrap().is_empty(),
        "expiry is exclusive"
    );
    let mut first = store.purge_expired(1_001).unwrap();
    first.sort();
    let mut expected = vec![records[1].id, records[3].id];
    expected.sort();
    assert_eq!(first, expected);
    assert!(store.get(&records[1].id).unwrap().is_none());
    assert!(store
        .lookup(Kind::Domain, "r2.example.org")
        .unwrap()
        .is_empty());
    assert!(store.get(&records[0].id).unwrap().is_some());
    assert_eq!(store.record_count(), 2);
    assert_eq!(store.purge_expired(2_500).unwrap(), vec![records[2].id]);
    assert_eq!(store.purge_expired(9_000).unwrap(), vec![records[0].id]);
    assert_eq!(
        count_keys(&store, keys::EXPIRY),
        0,
        "the emptied group is gone"
    );
    assert_eq!(store.record_count(), 0);
    // The change log is never rewritten by a purge.
    assert_eq!(store.last_change().unwrap(), 4);
}

/// Rewrites a database into the v1 layout: one change-log key per sequence and
/// one expiry key per record (the record, index and public-id keys did not change).
fn into_v1_layout(store: &Store) {
    let tree = store.tree();
    let mut v1 = sled::Batch::default();
    // Removals first: a run key and the first v1 key of its run are the same key.
    for entry in tree.scan_prefix([keys::CHANGE]) {
        let (key, _) = entry.unwrap();
        v1.remove(key);
    }
    for (seq, id) in store.changes_after(0, usize::MAX).unwrap() {
        v1.insert(keys::change(seq), &id.0[..]);
    }
    for entry in tree.scan_prefix([keys::EXPIRY]) {
        let (key, value) = entry.unwrap();
        v1.remove(key);
        for entry in value.chunks(40) {
            let ms = i64::from_be_bytes(entry[..8].try_into().unwrap());
            let id = liaison_core::record::RecordId::from_slice(&entry[8..]).unwrap();
            v1.insert(keys::expiry(ms, &id), &[][..]);
        }
    }
    v1.insert(keys::meta(keys::META_SCHEMA), &b"liaison-store-v1"[..]);
    tree.apply_batch(v1).unwrap();
    store.flush_blocking().unwrap();
}

#[test]
fn a_database_in_the_v1_layout_opens_reads_purges_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = SigningKey::from_bytes(&[42; 32]);
    let old: Vec<_> = (1..=5)
        .map(|s| expiring(&key, s, 1_000 * s as i64))
        .collect();
    {
        let store = Store::open(&path, 1 << 20).unwrap();
        store.apply(&batch(old.clone()), 1).unwrap();
        // Change 6: a revocation of record 5.
        let revocation = super::tests::revocation(&key, 6, old[4].id);
        store.apply(&batch(vec![revocation]), 6).unwrap();
        into_v1_layout(&store);
        // Really the v1 shapes: a 32-byte change value, a 41-byte expiry key.
        let (_, value) = store
            .tree()
            .scan_prefix([keys::CHANGE])
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(value.len(), 32);
        assert_eq!(count_keys(&store, keys::CHANGE), 6);
        let (key, _) = store
            .tree()
            .scan_prefix([keys::EXPIRY])
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(key.len(), 41);
    }
    let store = Store::open(&path, 1 << 20).unwrap();
    let schema = store.tree().get(keys::meta(keys::META_SCHEMA)).unwrap();
    let current = super::migrate::CURRENT.marker();
    assert_eq!(
        schema.as_deref(),
        Some(&current[..]),
        "migrated to the current layout"
    );
    assert_eq!(store.last_change().unwrap(), 6);
    let log = store.changes_after(2, 10).unwrap();
    assert_eq!(
        log.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![3, 4, 5, 6]
    );
    assert_eq!(log[0].1, old[2].id);
    assert_eq!(
        store.changes_before(3, 10).unwrap(),
        vec![(2, old[1].id), (1, old[0].id)]
    );
    assert_eq!(
        store.lookup(Kind::Domain, "r1.example.org").unwrap(),
        vec![old[0].id]
    );
    // New records go after the old log, in the new layout.
    let new = vec![expiring(&key, 7, 1_500), expiring(&key, 8, 60_000)];
    let outcome = store
        .apply(&batch(new.clone()), store.last_change().unwrap() + 1)
        .unwrap();
    assert_eq!(outcome.last_change, 8);
    assert_eq!(store.changes_after(5, 10).unwrap().len(), 3);
    // One purge takes old per-record entries and part of a new group together.
    let mut purged = store.purge_expired(2_001).unwrap();
    purged.sort();
    let mut expected = vec![old[0].id, old[1].id, new[0].id];
    expected.sort();
    assert_eq!(purged, expected);
    assert!(store
        .lookup(Kind::Domain, "r1.example.org")
        .unwrap()
        .is_empty());
    assert_eq!(
        store.purge_expired(10_000).unwrap().len(),
        3,
        "records 3 to 5"
    );
    assert_eq!(store.purge_expired(100_000).unwrap(), vec![new[1].id]);
    assert_eq!(count_keys(&store, keys::EXPIRY), 0);
    drop(store);
    // And the reopened database is v2 as it is.
    let store = Store::open(&path, 1 << 20).unwrap();
    assert_eq!(store.last_change().unwrap(), 8);
}

#[test]
fn the_displayed_layout_version_is_the_one_the_marker_names() {
    let marker = format!("liaison-store-v{}", super::db::STORE_LAYOUT_VERSION);
    assert_eq!(marker.into_bytes(), super::migrate::CURRENT.marker());
}
