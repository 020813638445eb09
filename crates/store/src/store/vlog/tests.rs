//! Value-log unit tests: round trips, reopen at a recorded head, torn tails,
//! corrupt entries, dictionaries and compaction with a kill at each point.

use std::os::unix::fs::FileExt;

use proptest::prelude::*;

use super::*;

fn small() -> Options {
    Options {
        max_segment_bytes: 4096,
        level: 3,
    }
}

/// Record-like bodies: shared structure, a varying value.
fn body(n: usize) -> Vec<u8> {
    format!(
        "origin=7f3a9c..;kind=domain;value=host-{n}.example.org;tlp=amber;labels=phishing,c2;valid_until=1767225600000;sig={:064x}",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
    .into_bytes()
}

fn open(dir: &std::path::Path, head: Option<Head>, options: Options) -> (Vlog, u64) {
    Vlog::open(dir, head, options).unwrap()
}

#[test]
fn appended_bodies_read_back_after_a_reopen_at_the_recorded_head() {
    let dir = tempfile::tempdir().unwrap();
    let (log, cut) = open(dir.path(), None, Options::default());
    assert_eq!(cut, 0);
    let bodies: Vec<Vec<u8>> = (0..10).map(body).chain([Vec::new()]).collect();
    let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    let pointers = log.append(&refs).unwrap();
    let head = log.sync().unwrap();
    assert_eq!(u64::from(head.end), pointers.last().unwrap().end());
    for (p, b) in pointers.iter().zip(&bodies) {
        assert_eq!(&log.read(*p).unwrap(), b);
        assert_eq!(Pointer::decode(&p.encode()), Some(*p));
    }
    drop(log);
    let (log, cut) = open(dir.path(), Some(head), Options::default());
    assert_eq!(cut, 0, "nothing beyond the head");
    for (p, b) in pointers.iter().zip(&bodies) {
        assert_eq!(&log.read(*p).unwrap(), b);
    }
    assert_eq!(Head::decode(&head.encode()), Some(head));
}

#[test]
fn a_tail_beyond_the_recorded_head_is_cut_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open(dir.path(), None, small());
    let kept = log.append(&[&body(1)]).unwrap()[0];
    let head = log.sync().unwrap();
    // Appended and even synced, but the index never recorded it (killed before
    // its sled batch): then a torn half-entry after it.
    let lost = log.append(&[&body(2), &body(3)]).unwrap();
    log.sync().unwrap();
    drop(log);
    let path = dir.path().join(segment_name(head.segment));
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    let len = file.metadata().unwrap().len();
    file.write_all_at(&[0xAB; 7], len).unwrap();
    drop(file);

    let (log, cut) = open(dir.path(), Some(head), small());
    assert_eq!(cut, u64::from(lost[1].end() as u32 - head.end) + 7);
    assert_eq!(log.read(kept).unwrap(), body(1));
    assert!(matches!(log.read(lost[0]), Err(VlogError::Corrupt { .. })));
    // The next append reuses the cut space.
    let next = log.append(&[&body(4)]).unwrap()[0];
    assert_eq!((next.segment, next.offset), (head.segment, head.end));
    assert_eq!(log.read(next).unwrap(), body(4));
}

#[test]
fn segments_created_after_the_recorded_head_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open(dir.path(), None, small());
    let first = log.append(&[&body(0)]).unwrap()[0];
    let head = log.sync().unwrap();
    let bodies: Vec<Vec<u8>> = (0..200).map(body).collect();
    let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    let later = log.append(&refs).unwrap();
    assert!(later.last().unwrap().segment > head.segment + 1, "rolled");
    log.sync().unwrap();
    drop(log);
    let (log, cut) = open(dir.path(), Some(head), small());
    assert!(cut > 0);
    assert_eq!(
        log.segment_sizes().unwrap(),
        vec![(head.segment, u64::from(head.end))]
    );
    assert_eq!(log.read(first).unwrap(), body(0));
}

#[test]
fn a_corrupt_entry_or_a_short_segment_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open(dir.path(), None, Options::default());
    let pointers = log.append(&[&body(1), &body(2)]).unwrap();
    let head = log.sync().unwrap();
    let path = dir.path().join(segment_name(head.segment));
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&[0xFF], u64::from(pointers[0].offset) + 14)
        .unwrap();
    let error = log.read(pointers[0]).unwrap_err();
    assert!(error.to_string().contains("checksum"), "{error}");
    assert_eq!(
        log.read(pointers[1]).unwrap(),
        body(2),
        "its neighbour still reads"
    );
    let beyond = Pointer {
        offset: head.end,
        ..pointers[1]
    };
    assert!(matches!(log.read(beyond), Err(VlogError::Corrupt { .. })));
    let missing = Pointer {
        segment: 99,
        ..pointers[1]
    };
    assert!(matches!(log.read(missing), Err(VlogError::Corrupt { .. })));
    drop(log);
    // The index says the log is longer than the file: refused, files untouched.
    file.set_len(u64::from(head.end) - 3).unwrap();
    let error = Vlog::open(dir.path(), Some(head), Options::default())
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("before the end the index recorded"),
        "{error}"
    );
    assert_eq!(file.metadata().unwrap().len(), u64::from(head.end) - 3);
}

#[test]
fn a_trained_dictionary_shrinks_entries_and_is_named_by_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open(dir.path(), None, Options::default());
    let plain = log.append(&[&body(5000)]).unwrap()[0];
    let samples: Vec<Vec<u8>> = (0..dict::MIN_SAMPLES * 4).map(body).collect();
    let refs: Vec<&[u8]> = samples.iter().map(Vec::as_slice).collect();
    assert_eq!(
        log.train_dictionary(&refs[..10]).unwrap(),
        None,
        "too few samples"
    );
    let id = log.train_dictionary(&refs).unwrap().expect("trained");
    let packed = log.append(&[&body(5001)]).unwrap()[0];
    let head = log.sync().unwrap();
    assert_eq!(
        packed.segment,
        plain.segment + 1,
        "a new segment names the dictionary"
    );
    assert!(
        packed.len * 2 < plain.len,
        "{} vs {}",
        packed.len,
        plain.len
    );
    drop(log);
    let (log, _) = open(dir.path(), Some(head), Options::default());
    assert_eq!(log.read(plain).unwrap(), body(5000));
    assert_eq!(log.read(packed).unwrap(), body(5001));
    drop(log);
    let dict_path = dir.path().join(dict::file_name(id));
    let mut bytes = std::fs::read(&dict_path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&dict_path, bytes).unwrap();
    let error = Vlog::open(dir.path(), Some(head), Options::default())
        .err()
        .unwrap();
    assert!(matches!(error, VlogError::Dictionary { .. }), "{error}");
}

#[test]
fn compaction_keeps_one_valid_set_of_pointers_whenever_it_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open(dir.path(), None, small());
    let bodies: Vec<Vec<u8>> = (0..60).map(body).collect();
    let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    let pointers = log.append(&refs).unwrap();
    let before = log.sync().unwrap();
    let old = pointers[0].segment;
    assert!(before.segment > old, "segment {old} is closed");
    // A purge left every third entry of the first segment live.
    let live: Vec<(usize, Pointer)> = pointers
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, p)| p.segment == old && i % 3 == 0)
        .collect();
    let live_bytes: u64 = live.iter().map(|(_, p)| u64::from(p.len)).sum();
    let size = log.segment_sizes().unwrap()[0].1;
    assert!(needs_compaction(live_bytes, size));
    let only: Vec<Pointer> = live.iter().map(|(_, p)| *p).collect();

    // Killed after copying (even synced) but before the pointers moved.
    let moves = log.compact(&only).unwrap();
    log.sync().unwrap();
    drop(log);
    let (log, cut) = open(dir.path(), Some(before), small());
    assert!(cut > 0, "the copies were cut");
    for (i, p) in &live {
        assert_eq!(log.read(*p).unwrap(), bodies[*i]);
    }
    assert!(
        moves.iter().all(|(_, new)| log.read(*new).is_err()),
        "copies cut"
    );

    // Again; the pointers move (the index's batch, with the head), then killed
    // before the old segment was retired: the new pointers read; retiring is
    // redone and is idempotent.
    let moves = log.compact(&only).unwrap();
    let after = log.sync().unwrap();
    drop(log);
    let (log, cut) = open(dir.path(), Some(after), small());
    assert_eq!(cut, 0);
    for ((i, _), (_, new)) in live.iter().zip(&moves) {
        assert_eq!(log.read(*new).unwrap(), bodies[*i]);
    }
    log.retire(old).unwrap();
    log.retire(old).unwrap();
    assert!(!log
        .segment_sizes()
        .unwrap()
        .iter()
        .any(|(id, _)| *id == old));
    assert!(
        log.retire(after.segment).is_err(),
        "never the active segment"
    );
    let in_active = Pointer {
        segment: after.segment,
        offset: HEADER_LEN,
        len: 20,
    };
    assert!(
        log.compact(&[in_active]).is_err(),
        "never the active segment"
    );
}

#[test]
fn compaction_threshold() {
    assert!(
        !needs_compaction(0, u64::from(HEADER_LEN)),
        "an empty segment"
    );
    assert!(needs_compaction(49, u64::from(HEADER_LEN) + 100));
    assert!(!needs_compaction(50, u64::from(HEADER_LEN) + 100));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn any_bodies_round_trip_across_segments_and_a_reopen(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..40),
        chunk in 1usize..8,
        max_segment in 256u32..20_000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = Options { max_segment_bytes: max_segment, level: 1 };
        let (log, _) = open(dir.path(), None, options);
        let mut pointers = Vec::new();
        for group in bodies.chunks(chunk) {
            let refs: Vec<&[u8]> = group.iter().map(Vec::as_slice).collect();
            pointers.extend(log.append(&refs).unwrap());
        }
        let head = log.sync().unwrap();
        for (p, b) in pointers.iter().zip(&bodies) {
            prop_assert_eq!(&log.read(*p).unwrap(), b);
        }
        drop(log);
        let (log, cut) = open(dir.path(), Some(head), options);
        prop_assert_eq!(cut, 0);
        for (p, b) in pointers.iter().zip(&bodies) {
            prop_assert_eq!(&log.read(*p).unwrap(), b);
        }
    }
}
