//! The migration machinery: markers decided once (current, older, newer,
//! unknown), steps run in order, a step stopped midway resumes at its last
//! checkpoint and ends with the same keys as an uninterrupted run, and the
//! v2 → 2.1 step rebuilds every re-log entry of a database 0.1.0 wrote.

use ed25519_dalek::SigningKey;

use super::migrate::{self, Layout, MigrationProgress, Step, StepRun, CURRENT, STEPS};
use super::tests::record;
use super::*;
use liaison_core::record::{sign_payload, Body, NodeId, Payload, RecordId, Sighting, SightingType};

fn marker_of(store: &Store) -> Vec<u8> {
    store
        .tree()
        .get(keys::meta(keys::META_SCHEMA))
        .unwrap()
        .unwrap()
        .to_vec()
}

fn set_marker(store: &Store, marker: &[u8]) {
    store
        .tree()
        .insert(keys::meta(keys::META_SCHEMA), marker)
        .unwrap();
    store.flush_blocking().unwrap();
}

/// Each re-log entry's key and position (a rebuilt entry's time is a stand-in).
fn relogged_entries(store: &Store) -> Vec<(Vec<u8>, u64)> {
    store
        .tree()
        .scan_prefix([keys::RELOGGED])
        .map(|e| {
            let (k, v) = e.unwrap();
            (k.to_vec(), u64::from_be_bytes(v[..8].try_into().unwrap()))
        })
        .collect()
}

fn seen(key: &SigningKey, seq: u64, target: RecordId) -> liaison_core::record::VerifiedRecord {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: seq,
        created_ms: 1,
        body: Body::Sighting(Sighting {
            record_id: target,
            note: String::new(),
            kind: SightingType::Seen,
        }),
    };
    sign_payload(key, &payload).unwrap()
}

/// A store holding `n` partner records, each followed by our own "seen"
/// sighting (so each partner record is logged twice): 3n positions.
fn store_with_relogs(dir: &tempfile::TempDir, n: u64) -> Store {
    let store = Store::open(&dir.path().join("db"), 4 << 20).unwrap();
    let partner = SigningKey::from_bytes(&[7; 32]);
    let own = SigningKey::from_bytes(&[8; 32]);
    let mut next = 1;
    for i in 1..=n {
        let theirs = record(&partner, i, &format!("p{i}.example.org"));
        let received = WriteBatch {
            records: vec![theirs.clone()],
            received_from: Some(NodeId(partner.verifying_key().to_bytes())),
            received_ms: 1_000 + i as i64,
            ..Default::default()
        };
        next = store.apply(&received, next).unwrap().last_change + 1;
        let local = WriteBatch {
            records: vec![seen(&own, i, theirs.id)],
            received_ms: 5_000 + i as i64,
            ..Default::default()
        };
        next = store.apply(&local, next).unwrap().last_change + 1;
    }
    store.flush_blocking().unwrap();
    store
}

/// Takes the store back to layout v2 as release 0.1.0 wrote it: no re-log entries.
fn as_written_by_0_1_0(store: &Store) {
    for (key, _) in relogged_entries(store) {
        store.tree().remove(key).unwrap();
    }
    set_marker(store, b"liaison-store-v2");
}

#[test]
fn markers_parse_and_display_as_layouts() {
    let l = |major, minor| Layout { major, minor };
    assert_eq!(Layout::parse(b"liaison-store-v1"), Some(l(1, 0)));
    assert_eq!(Layout::parse(b"liaison-store-v2.1"), Some(l(2, 1)));
    assert_eq!(Layout::parse(b"liaison-store-v10.3"), Some(l(10, 3)));
    for bad in [
        &b"liaison-store-v"[..],
        b"liaison-store-v2.",
        b"store-v2",
        b"liaison-store-v+2",
        b"\xff",
    ] {
        assert_eq!(Layout::parse(bad), None, "{bad:?}");
    }
    assert_eq!(l(2, 0).to_string(), "2");
    assert_eq!(CURRENT.marker(), b"liaison-store-v3");
    assert!(l(2, 1) > l(2, 0) && l(3, 0) > l(2, 9));
    // Every step leads to the next; the last to the current layout.
    for pair in STEPS.windows(2) {
        assert_eq!(pair[0].to, pair[1].from);
    }
    assert_eq!(STEPS.last().unwrap().to, CURRENT);
}

#[test]
fn a_newer_layout_is_refused_with_the_version_found_and_the_files_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Store::open(&path, 1 << 20).unwrap();
        set_marker(&store, b"liaison-store-v4");
    }
    let err = Store::open(&path, 1 << 20).err().expect("must refuse");
    assert!(matches!(err, StoreError::Newer { .. }), "{err:?}");
    let text = err.to_string();
    for part in [
        "store layout 4",
        "newer than this build's 3",
        "Upgrade and rollback",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
    let db = super::db::open_raw_for_test(&path);
    let tree = db.open_tree("main").unwrap();
    let marker = tree.get(keys::meta(keys::META_SCHEMA)).unwrap().unwrap();
    assert_eq!(&marker[..], b"liaison-store-v4", "left untouched");
}

#[test]
fn a_database_from_0_1_0_gets_every_relog_entry_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let expected = {
        let store = store_with_relogs(&dir, 150);
        let expected = relogged_entries(&store);
        assert_eq!(expected.len(), 150);
        as_written_by_0_1_0(&store);
        expected
    };
    let mut seen = Vec::new();
    let store = Store::open_reporting(&path, 4 << 20, &Default::default(), &mut |p| {
        seen.push(p.clone())
    })
    .unwrap();
    assert_eq!(marker_of(&store), CURRENT.marker());
    assert!(
        relogged_entries(&store) == expected,
        "same entries as written live"
    );
    assert!(!store
        .tree()
        .contains_key(keys::meta(keys::META_MIGRATION))
        .unwrap());
    // 450 positions in checkpoints of 100, then the step's end; then the
    // bodies move to the value log (step 2, store/migrate_v3.rs).
    let relog: Vec<&MigrationProgress> = seen.iter().filter(|p| p.number == 1).collect();
    let last = relog.last().unwrap();
    assert!(
        last.finished && last.done == 450 && last.total == 450,
        "{last:?}"
    );
    assert_eq!((last.number, last.steps, last.to), (1, 2, migrate::V2_1));
    let end = seen.last().unwrap();
    assert_eq!(
        (end.number, end.steps, end.to, end.finished),
        (2, 2, CURRENT, true)
    );
    let dones: Vec<u64> = relog.iter().map(|p| p.done).collect();
    assert_eq!(dones, vec![100, 200, 300, 400, 450, 450]);
    assert!(seen.iter().all(|p| !p.resumed));
    drop(store);
    // Opening again runs nothing.
    let mut again = Vec::new();
    let _ = Store::open_reporting(&path, 4 << 20, &Default::default(), &mut |p| {
        again.push(p.clone())
    })
    .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_v1_database_runs_every_step_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_relogs(&dir, 3);
    as_written_by_0_1_0(&store);
    set_marker(&store, b"liaison-store-v1");
    let mut finished = Vec::new();
    migrate::migrate(&store, Layout { major: 1, minor: 0 }, STEPS, &mut |p| {
        if p.finished {
            finished.push((p.number, p.steps, p.to.to_string()));
        }
    })
    .unwrap();
    assert_eq!(
        finished,
        vec![(1, 3, "2".into()), (2, 3, "2.1".into()), (3, 3, "3".into())]
    );
    assert_eq!(marker_of(&store), CURRENT.marker());
    assert_eq!(relogged_entries(&store).len(), 3);
}

/// A step that walks `0..30` in checkpoints of 5 (writing `K<i>` keys) and
/// fails once it has reached `stop_at`, when set through the `M stop` key.
fn walking_step(store: &Store, run: &mut StepRun<'_>) -> Result<(), StoreError> {
    let mut at = match run.resume_from() {
        Some(cursor) => u64::from_be_bytes(cursor.try_into().unwrap()),
        None => 0,
    };
    let stop_at = keys::read_u64(store.tree(), &keys::meta("stop"))?;
    while at < 30 {
        if stop_at != 0 && at >= stop_at {
            return Err(StoreError::Io("stopped on purpose".into()));
        }
        let mut batch = sled::Batch::default();
        for i in at..at + 5 {
            batch.insert(format!("K{i:02}").into_bytes(), &i.to_be_bytes()[..]);
        }
        at += 5;
        run.checkpoint(batch, &at.to_be_bytes(), at, 30)?;
    }
    Ok(())
}

const FROM: Layout = Layout { major: 7, minor: 0 };
const TO: Layout = Layout { major: 7, minor: 1 };
const TEST_STEPS: &[Step] = &[Step {
    from: FROM,
    to: TO,
    name: "walk",
    run: walking_step,
}];

#[test]
fn a_step_stopped_midway_resumes_at_its_checkpoint_and_ends_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    set_marker(&store, &FROM.marker());
    store
        .tree()
        .insert(keys::meta("stop"), &12u64.to_be_bytes()[..])
        .unwrap();
    let mut first: Vec<MigrationProgress> = Vec::new();
    let err = migrate::migrate(&store, FROM, TEST_STEPS, &mut |p| first.push(p.clone()))
        .expect_err("the step stops");
    assert!(matches!(err, StoreError::Migration { .. }), "{err:?}");
    assert!(err.to_string().contains("resumes the migration"), "{err}");
    // Stopped after checkpoints at 5, 10, 15: the marker has not moved.
    assert_eq!(
        first.iter().map(|p| p.done).collect::<Vec<_>>(),
        vec![5, 10, 15]
    );
    assert_eq!(
        marker_of(&store),
        FROM.marker(),
        "marker only moves at the end"
    );
    assert!(store
        .tree()
        .contains_key(keys::meta(keys::META_MIGRATION))
        .unwrap());
    assert_eq!(store.tree().scan_prefix(b"K").count(), 15);
    // Kept durably: a new handle on the same files resumes from 15, not 0.
    drop(store);
    let store = reopen_raw(&dir);
    store.tree().remove(keys::meta("stop")).unwrap();
    let mut second: Vec<MigrationProgress> = Vec::new();
    migrate::migrate(&store, FROM, TEST_STEPS, &mut |p| second.push(p.clone())).unwrap();
    assert!(second.iter().all(|p| p.resumed), "{second:?}");
    assert_eq!(
        second.iter().map(|p| p.done).collect::<Vec<_>>(),
        vec![20, 25, 30, 30]
    );
    assert_eq!(marker_of(&store), TO.marker());
    assert!(!store
        .tree()
        .contains_key(keys::meta(keys::META_MIGRATION))
        .unwrap());
    let walked: Vec<_> = store
        .tree()
        .scan_prefix(b"K")
        .map(|e| e.unwrap().0.to_vec())
        .collect();
    let expected: Vec<_> = (0..30).map(|i| format!("K{i:02}").into_bytes()).collect();
    assert_eq!(
        walked, expected,
        "every key once, as an uninterrupted run writes them"
    );
}

/// A new handle on the same files; layout 7 is newer than this build, so the
/// marker reads current while it opens (the test steps are driven directly).
fn reopen_raw(dir: &tempfile::TempDir) -> Store {
    let path = dir.path().join("db");
    {
        let db = super::db::open_raw_for_test(&path);
        let tree = db.open_tree("main").unwrap();
        tree.insert(keys::meta(keys::META_SCHEMA), CURRENT.marker())
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&path, 1 << 20).unwrap();
    set_marker(&store, &FROM.marker());
    store
}

#[test]
fn the_relog_step_stopped_after_a_checkpoint_resumes_to_the_same_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_relogs(&dir, 120);
    let expected = relogged_entries(&store);
    as_written_by_0_1_0(&store);
    // A kill after the second checkpoint of the real step: reproduce what it
    // leaves (entries for positions 1..=200, its cursor) by running the real
    // step and stopping its report.
    let v2 = Layout { major: 2, minor: 0 };
    let mut checkpoints = 0;
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        migrate::migrate(&store, v2, STEPS, &mut |_| {
            checkpoints += 1;
            if checkpoints == 2 {
                panic!("killed");
            }
        })
    }));
    assert!(stopped.is_err());
    assert_eq!(marker_of(&store), b"liaison-store-v2");
    let partial = relogged_entries(&store).len();
    assert!(partial > 0 && partial < expected.len(), "{partial}");
    let mut resumed = Vec::new();
    migrate::migrate(&store, v2, STEPS, &mut |p| resumed.push(p.clone())).unwrap();
    assert!(
        resumed[0].resumed && resumed[0].done == 300,
        "{:?}",
        resumed[0]
    );
    assert!(
        relogged_entries(&store) == expected,
        "same entries as a whole run"
    );
    assert_eq!(marker_of(&store), CURRENT.marker());
}
