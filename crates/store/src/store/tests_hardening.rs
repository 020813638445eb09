//! Store tests for the hardened receive path: big batches stay correct (duplicates,
//! revocations before their target), the pending set moves with the cursor and is
//! bounded, validity is clamped to the local maximum retention, and a failed
//! flush stops the committer.

use ed25519_dalek::SigningKey;

use super::tests::{batch, record, revocation};
use super::*;
use liaison_core::indicator::Kind;
use liaison_core::record::NodeId;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 4 << 20).unwrap();
    (dir, store)
}

#[test]
fn a_large_batch_with_duplicates_and_early_revocations_applies_correctly() {
    let (_dir, store) = open();
    let key = SigningKey::from_bytes(&[11; 32]);
    let records: Vec<_> = (1..=2_000u64)
        .map(|i| record(&key, i, &format!("n{i}.example.org")))
        .collect();
    let mut incoming = Vec::new();
    // Every tenth record is revoked by a revocation that comes BEFORE it.
    for (i, r) in records.iter().enumerate() {
        if i % 10 == 0 {
            incoming.push(revocation(&key, 10_000 + i as u64, r.id));
        }
        incoming.push(r.clone());
        if i % 7 == 0 {
            incoming.push(r.clone()); // a duplicate inside the batch
        }
    }
    let duplicates = (0..2_000).filter(|i| i % 7 == 0).count();
    let outcome = store.apply(&batch(incoming.clone()), 1).unwrap();
    assert_eq!(outcome.duplicates, duplicates);
    assert_eq!(outcome.stored.len(), 2_000 + 200);
    // 2,200 records, plus 200 revocations announced again after their target.
    assert_eq!(outcome.last_change, 2_400);
    assert_eq!(store.record_count(), 2_200);
    for (i, r) in records.iter().enumerate() {
        let indexed = store.lookup(Kind::Domain, &format!("n{}.example.org", i + 1));
        let expected = if i % 10 == 0 { vec![] } else { vec![r.id] };
        assert_eq!(indexed.unwrap(), expected, "record {i}");
    }
    assert_eq!(store.origin_sequence(&records[0].origin()).unwrap(), 11_990);
    // The whole batch again: all duplicates, nothing changes.
    let again = store.apply(&batch(incoming), 2_401).unwrap();
    assert!(again.stored.is_empty());
    assert_eq!(store.record_count(), 2_200);
}

fn with_state(records: Vec<VerifiedRecordAlias>, peer: NodeId, state: SyncState) -> WriteBatch {
    WriteBatch {
        records,
        received_from: Some(peer),
        received_ms: 1,
        sync_state: Some((peer, state)),
        pending: PendingUpdate::default(),
        openings: Vec::new(),
    }
}

type VerifiedRecordAlias = liaison_core::record::VerifiedRecord;

#[test]
fn pending_records_move_with_the_cursor_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let peer = NodeId([21; 32]);
    let key = SigningKey::from_bytes(&[12; 32]);
    let waiting = record(&key, 1, "wait.example.org");
    {
        let store = Store::open(&path, 1 << 20).unwrap();
        let mut write = with_state(
            vec![],
            peer,
            SyncState {
                cursor: 9,
                ..Default::default()
            },
        );
        write.pending.add = vec![waiting.clone()];
        let outcome = store.apply(&write, 1).unwrap();
        let state = outcome.sync_state.unwrap();
        assert_eq!((state.cursor, state.pending, state.pending_next), (9, 1, 1));
        store.flush_blocking().unwrap();
    }
    let store = Store::open(&path, 1 << 20).unwrap();
    let state = store.sync_state(&peer).unwrap();
    assert_eq!((state.cursor, state.pending), (9, 1));
    let pending = store.pending(&peer).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0, 0);
    assert_eq!(pending[0].1, waiting, "kept exactly as received");
    // Resolved with the next batch (which also stores it).
    let mut write = with_state(vec![waiting.clone()], peer, state);
    write.pending.resolved = vec![0];
    let state = store.apply(&write, 1).unwrap().sync_state.unwrap();
    assert_eq!(state.pending, 0);
    assert!(store.pending(&peer).unwrap().is_empty());
    assert!(store.get(&waiting.id).unwrap().is_some());
}

#[test]
fn the_pending_set_is_bounded_and_evicts_the_oldest() {
    let (_dir, store) = open();
    let peer = NodeId([22; 32]);
    let key = SigningKey::from_bytes(&[13; 32]);
    let records: Vec<_> = (1..=5u64)
        .map(|i| record(&key, i, &format!("p{i}.example.org")))
        .collect();
    let mut state = SyncState::default();
    let stage = |state: &mut SyncState, update: PendingUpdate| {
        let mut sled_batch = sled::Batch::default();
        store
            .stage_pending(&peer, state, &update, 3, &mut sled_batch)
            .unwrap();
        store.tree().apply_batch(sled_batch).unwrap();
    };
    stage(
        &mut state,
        PendingUpdate {
            add: records[..2].to_vec(),
            resolved: vec![],
        },
    );
    assert_eq!((state.pending, state.rejected), (2, 0));
    stage(
        &mut state,
        PendingUpdate {
            add: records[2..].to_vec(),
            resolved: vec![],
        },
    );
    assert_eq!((state.pending, state.rejected), (3, 2));
    assert!(state.last_rejection.starts_with("pending: "), "{state:?}");
    let kept: Vec<_> = store
        .pending(&peer)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.id)
        .collect();
    let newest: Vec<_> = records[2..].iter().map(|r| r.id).collect();
    assert_eq!(kept, newest, "the oldest two were dropped");
    // More new entries than the cap at once: only the newest cap are kept.
    let mut fresh = SyncState::default();
    let other = NodeId([23; 32]);
    let mut sled_batch = sled::Batch::default();
    let update = PendingUpdate {
        add: records.clone(),
        resolved: vec![],
    };
    store
        .stage_pending(&other, &mut fresh, &update, 3, &mut sled_batch)
        .unwrap();
    store.tree().apply_batch(sled_batch).unwrap();
    assert_eq!((fresh.pending, fresh.rejected), (3, 2));
    assert_eq!(store.pending(&other).unwrap().len(), 3);
}

#[test]
fn validity_is_clamped_to_the_local_maximum_retention() {
    assert_eq!(effective_expiry(i64::MAX, 1_000, 500), 1_500);
    assert_eq!(effective_expiry(1_200, 1_000, 500), 1_200);
    assert_eq!(effective_expiry(i64::MAX, i64::MAX, 500), i64::MAX);
    let (_dir, store) = open();
    store.set_max_retention_ms(1_000);
    let key = SigningKey::from_bytes(&[14; 32]);
    let mut forever = record(&key, 1, "forever.example.org");
    // A record valid "forever" (valid-until i64::MAX), received at 5,000 ms.
    let liaison_core::record::Body::Indicator(indicator) = &mut forever.payload.body else {
        unreachable!()
    };
    indicator.valid_until_ms = i64::MAX;
    let forever = liaison_core::record::sign_payload(&key, &forever.payload).unwrap();
    let mut write = batch(vec![forever.clone()]);
    write.received_ms = 5_000;
    store.apply(&write, 1).unwrap();
    let stored = store.get(&forever.id).unwrap().unwrap();
    assert_eq!(stored.record, forever, "the signed bytes are unchanged");
    assert_eq!(store.expires_ms(&stored), Some(6_000));
    assert!(store.purge_expired(5_999).unwrap().is_empty());
    assert_eq!(store.purge_expired(6_001).unwrap(), vec![forever.id]);
}

#[tokio::test]
async fn a_failed_flush_stops_the_committer_and_announces_nothing() {
    let (_dir, store) = open();
    let (handle, task) = Committer::spawn(store.clone()).unwrap();
    let key = SigningKey::from_bytes(&[15; 32]);
    let first = record(&key, 1, "durable.example.org");
    handle.commit(batch(vec![first])).await.unwrap();
    assert_eq!(handle.durable(), 1);
    assert!(handle.failed().is_none());
    let mut changes = handle.changes();
    changes.borrow_and_update();
    store.fail_next_flush();
    let lost = record(&key, 2, "not-durable.example.org");
    let err = handle.commit(batch(vec![lost])).await.unwrap_err();
    assert!(err.to_string().contains("flush failed"), "{err}");
    // The staged change is never announced: nothing past 1 may be served.
    assert_eq!(handle.durable(), 1);
    assert!(
        changes.changed().await.is_err(),
        "live streams must see the end of the change feed"
    );
    let reason = handle.failed().expect("failure signalled");
    assert!(reason.contains("injected"), "{reason}");
    // Every later write and purge is refused with a clear error.
    let later = record(&key, 3, "later.example.org");
    let refused = handle.commit(batch(vec![later])).await.unwrap_err();
    assert!(matches!(refused, StoreError::Stopped(_)), "{refused}");
    assert!(refused.to_string().contains("failed flush"), "{refused}");
    assert!(matches!(
        handle.purge_expired(0).await,
        Err(StoreError::Stopped(_))
    ));
    drop(handle);
    task.await.unwrap();
}
