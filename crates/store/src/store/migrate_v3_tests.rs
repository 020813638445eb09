//! The step 2.1 → 3 (bodies into the value log) and the value log under the
//! store: a 2.1 database (made as a 2.1 node's backup is: a snapshot, which
//! keeps the 2.1 form) migrates with progress, resumes after a kill at any
//! point with every record read back byte for byte, and purges compact.

use ed25519_dalek::SigningKey;

use super::bodies::RecordRef;
use super::migrate::{self, MigrationProgress};
use super::tests::{batch, record};
use super::*;
use liaison_core::record::VerifiedRecord;

fn records(n: u64) -> Vec<VerifiedRecord> {
    let key = SigningKey::from_bytes(&[31; 32]);
    (1..=n)
        .map(|i| record(&key, i, &format!("host-{i}.example.org")))
        .collect()
}

/// A store holding `all`, and the bytes of its snapshot (layout 2.1 form).
fn snapshot_of(all: &[VerifiedRecord]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 4 << 20).unwrap();
    for (i, chunk) in all.chunks(100).enumerate() {
        store
            .apply(&batch(chunk.to_vec()), 1 + 100 * i as u64)
            .unwrap();
    }
    let mut bytes = Vec::new();
    store.snapshot(&mut bytes).unwrap();
    bytes
}

/// Restores a 2.1 snapshot at `path` (nothing migrated yet).
fn restore_2_1(path: &std::path::Path, bytes: &[u8]) {
    Store::restore_snapshot(path, &mut &bytes[..]).unwrap();
    let db = super::db::open_raw_for_test(path);
    let tree = db.open_tree("main").unwrap();
    let marker = tree.get(keys::meta(keys::META_SCHEMA)).unwrap().unwrap();
    assert_eq!(
        &marker[..],
        b"liaison-store-v2.1",
        "a snapshot keeps the 2.1 form"
    );
    let inline = tree
        .scan_prefix([keys::RECORD])
        .filter(|e| RecordRef::decode(&e.as_ref().unwrap().1).is_none())
        .count();
    assert!(inline > 0, "bodies inline, as 2.1 keeps them");
}

fn assert_all_read_back(store: &Store, all: &[VerifiedRecord]) {
    for (i, r) in all.iter().enumerate() {
        let stored = store.get(&r.id).unwrap().expect("stored");
        assert_eq!(
            stored.record.envelope.to_wire(),
            r.envelope.to_wire(),
            "same bytes"
        );
        assert_eq!(stored.local_seq, i as u64 + 1);
        let raw = store.tree().get(keys::record(&r.id)).unwrap().unwrap();
        assert!(RecordRef::decode(&raw).is_some(), "body in the value log");
    }
    assert_eq!(store.record_count(), all.len() as u64);
    assert_eq!(store.unreadable(1).0, 0);
}

#[test]
fn a_2_1_backup_restores_and_migrates_with_progress() {
    let all = records(600);
    let bytes = snapshot_of(&all);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    restore_2_1(&path, &bytes);
    let mut seen: Vec<MigrationProgress> = Vec::new();
    let store = Store::open_reporting(&path, 4 << 20, &Default::default(), &mut |p| {
        seen.push(p.clone())
    })
    .unwrap();
    let last = seen.last().unwrap();
    assert!(last.finished && last.done == 600, "{last:?}");
    assert_eq!(last.to, migrate::CURRENT);
    assert!(seen.len() > 2, "checkpoints reported: {seen:?}");
    assert!(
        store.vlog().has_dictionary(),
        "trained from the first bodies"
    );
    assert_all_read_back(&store, &all);
}

#[test]
fn the_body_step_killed_after_a_checkpoint_resumes_and_loses_nothing() {
    let all = records(600);
    let bytes = snapshot_of(&all);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    restore_2_1(&path, &bytes);
    let mut checkpoints = 0;
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Store::open_reporting(&path, 4 << 20, &Default::default(), &mut |_| {
            checkpoints += 1;
            if checkpoints == 2 {
                panic!("killed");
            }
        })
    }));
    assert!(stopped.is_err());
    let mut seen: Vec<MigrationProgress> = Vec::new();
    let store = Store::open_reporting(&path, 4 << 20, &Default::default(), &mut |p| {
        seen.push(p.clone())
    })
    .unwrap();
    assert!(seen.iter().all(|p| p.resumed), "{seen:?}");
    assert!(
        seen.first().unwrap().done > 200,
        "not from the start: {seen:?}"
    );
    assert_all_read_back(&store, &all);
}

#[test]
fn bodies_past_the_recorded_head_are_cut_at_open() {
    let all = records(40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::open(&path, 4 << 20).unwrap();
    store.apply(&batch(all[..20].to_vec()), 1).unwrap();
    store.flush_blocking().unwrap();
    // A group whose bodies were synced, killed before its sled batch landed.
    let head = store.vlog().durable_head();
    store.vlog().append(&[b"never visible".as_slice()]).unwrap();
    store.vlog().sync().unwrap();
    drop(store);
    let store = Store::open(&path, 4 << 20).unwrap();
    assert_eq!(store.vlog().durable_head(), head, "cut back to the head");
    store.apply(&batch(all[20..].to_vec()), 21).unwrap();
    assert_all_read_back(&store, &all);
}

#[test]
fn a_corrupt_body_is_a_clear_error_counted_as_unreadable_never_a_panic() {
    let all = records(3);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 4 << 20).unwrap();
    store.apply(&batch(all.clone()), 1).unwrap();
    let raw = store.tree().get(keys::record(&all[1].id)).unwrap().unwrap();
    let entry = RecordRef::decode(&raw).unwrap();
    let segment = dir
        .path()
        .join("db/vlog")
        .join(super::vlog::segment_name(entry.pointer.segment));
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[entry.pointer.offset as usize + 13] ^= 0x55;
    std::fs::write(&segment, bytes).unwrap();
    assert!(store.get(&all[1].id).unwrap().is_none());
    let (count, sample) = store.unreadable(5);
    assert_eq!(count, 1);
    assert!(sample[0].1.contains("checksum"), "{sample:?}");
    assert!(
        store.get(&all[0].id).unwrap().is_some(),
        "the others still read"
    );
    let mut out = Vec::new();
    let error = store.snapshot(&mut out).unwrap_err();
    assert!(error.to_string().contains("corrupt"), "{error}");
}

fn lasting(key: &SigningKey, seq: u64, value: &str) -> VerifiedRecord {
    use liaison_core::record::{sign_payload, Body, Payload};
    let mut payload = record(key, seq, value).payload;
    if let Body::Indicator(indicator) = &mut payload.body {
        indicator.valid_until_ms = i64::MAX;
    }
    sign_payload(key, &Payload { ..payload }).unwrap()
}

/// Small segments; batches of two doomed records (valid until 10) to one
/// lasting one, so a purge at 1,000 leaves each closed segment a third live.
fn mixed_store(path: &std::path::Path) -> (Store, Vec<VerifiedRecord>) {
    super::bodies::SEGMENT_BYTES_FOR_TESTS.with(|b| b.set(Some(4096)));
    let store = Store::open(path, 4 << 20).unwrap();
    let key = SigningKey::from_bytes(&[33; 32]);
    let mut kept = Vec::new();
    let mut next = 1;
    for i in 0..300u64 {
        let mut group = vec![
            record(&key, 3 * i + 1, &format!("gone-a-{i}.example.org")),
            record(&key, 3 * i + 2, &format!("gone-b-{i}.example.org")),
        ];
        let keep = lasting(&key, 3 * i + 3, &format!("kept-{i}.example.org"));
        kept.push(keep.clone());
        group.push(keep);
        next = store.apply(&batch(group), next).unwrap().last_change + 1;
    }
    assert!(store.vlog().segment_sizes().unwrap().len() > 5);
    (store, kept)
}

fn live_total(store: &Store) -> u64 {
    store
        .tree()
        .scan_prefix([keys::SEGMENT_LIVE])
        .map(|e| u64::from_be_bytes(e.unwrap().1[..].try_into().unwrap()))
        .sum()
}

fn assert_kept(store: &Store, kept: &[VerifiedRecord]) {
    for r in kept {
        let stored = store.get(&r.id).unwrap().expect("a survivor reads");
        assert_eq!(stored.record.envelope.to_wire(), r.envelope.to_wire());
    }
    assert_eq!(store.unreadable(1).0, 0);
}

#[test]
fn a_purge_compacts_segments_and_every_survivor_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (store, kept) = mixed_store(&path);
    let before = store.vlog().disk_bytes().unwrap();
    let segments = store.vlog().segment_sizes().unwrap().len();
    assert_eq!(store.purge_expired(1_000).unwrap().len(), 600);
    assert_kept(&store, &kept);
    assert!(store.vlog().disk_bytes().unwrap() * 2 < before, "compacted");
    assert!(store.vlog().segment_sizes().unwrap().len() < segments);
    let on_disk: u64 = store
        .vlog()
        .segment_sizes()
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert!(live_total(&store) <= on_disk);
    drop(store);
    let store = Store::open(&path, 4 << 20).unwrap();
    assert_kept(&store, &kept);
}

#[test]
fn a_compaction_killed_before_or_after_its_pointer_move_leaves_valid_pointers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (store, kept) = mixed_store(&path);
    // Killed after the copies were synced, before the pointers moved.
    super::compaction::STOP_BEFORE_MOVE.with(|s| s.set(true));
    assert!(store.purge_expired(1_000).is_err());
    store.flush_blocking().unwrap();
    let copied_to = store.vlog().durable_head();
    drop(store);
    let store = Store::open(&path, 4 << 20).unwrap();
    assert!(
        store.vlog().durable_head().end < copied_to.end
            || store.vlog().durable_head().segment < copied_to.segment,
        "the copies were cut"
    );
    assert_kept(&store, &kept);

    // Killed after the move, before the old segments were deleted: their
    // files are back (as a kill leaves them) and the next open deletes them.
    let closed: Vec<(u32, Vec<u8>)> = store
        .vlog()
        .segment_sizes()
        .unwrap()
        .iter()
        .filter(|(id, _)| *id != store.vlog().active_segment().unwrap())
        .map(|(id, _)| {
            (
                *id,
                std::fs::read(path.join("vlog").join(super::vlog::segment_name(*id))).unwrap(),
            )
        })
        .collect();
    assert!(store.compact_bodies().unwrap() > 0);
    assert_kept(&store, &kept);
    drop(store);
    for (id, bytes) in &closed {
        let file = path.join("vlog").join(super::vlog::segment_name(*id));
        if !file.exists() {
            std::fs::write(file, bytes).unwrap();
        }
    }
    let store = Store::open(&path, 4 << 20).unwrap();
    let left: Vec<u32> = store
        .vlog()
        .segment_sizes()
        .unwrap()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    for (id, _) in &closed {
        let live = keys::read_u64(store.tree(), &keys::segment_live(*id)).unwrap();
        assert!(
            live > 0 || !left.contains(id),
            "orphan {id} deleted at open"
        );
    }
    assert_kept(&store, &kept);
}

#[test]
fn a_missing_log_head_with_records_pointing_into_the_log_is_refused_files_untouched() {
    let all = records(5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::open(&path, 4 << 20).unwrap();
    store.apply(&batch(all.clone()), 1).unwrap();
    store
        .tree()
        .remove(keys::meta(keys::META_VLOG_HEAD))
        .unwrap();
    store.flush_blocking().unwrap();
    let before = store.vlog().disk_bytes().unwrap();
    drop(store);
    let error = Store::open(&path, 4 << 20).err().expect("refused");
    assert!(error.to_string().contains("head is missing"), "{error}");
    let segments: u64 = std::fs::read_dir(path.join("vlog"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(segments, before, "nothing cut");
}

#[test]
fn a_store_written_a_record_at_a_time_trains_its_dictionary_once_it_holds_enough() {
    let all = records(super::bodies::TRAIN_SAMPLES as u64 + 2);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 4 << 20).unwrap();
    for (i, r) in all.iter().enumerate() {
        store.apply(&batch(vec![r.clone()]), i as u64 + 1).unwrap();
        let enough = i + 1 > super::bodies::TRAIN_SAMPLES;
        assert_eq!(store.vlog().has_dictionary(), enough, "after {}", i + 1);
    }
    assert_all_read_back(&store, &all);
}
