//! Unit tests of the log: chain, checkpoints, tampering of each kind.

use super::*;
use checkpoint::CHECKPOINT_ACTION;
use ed25519_dalek::SigningKey;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[11; 32])
}

fn config(every: u64) -> AuditConfig {
    AuditConfig {
        checkpoint_every_entries: every,
        ..AuditConfig::default()
    }
}

/// A log of 10 entries with a checkpoint after every 3 and a shutdown seal.
fn sample(path: &Path) {
    let log = AuditLog::open_signed(path, key(), &config(3)).unwrap();
    for i in 0..10 {
        log.record(
            "admin \"example\"",
            "partner.add",
            serde_json::json!({ "i": i }),
        )
        .unwrap();
    }
    log.seal().unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn broken_at(path: &Path) -> (usize, String) {
    match verify_with(path, Some(&key().verifying_key())) {
        Err(AuditError::Tampered { line, reason }) => (line, reason),
        other => panic!("expected tampering, got {other:?}"),
    }
}

#[test]
fn checkpoints_are_written_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    sample(&path);
    let found = verify_with(&path, Some(&key().verifying_key())).unwrap();
    // 10 entries + 3 count checkpoints + 1 shutdown checkpoint.
    assert_eq!(found.last_seq, 14);
    assert_eq!(found.checkpoints, 4);
    assert_eq!(found.unsealed, 0);
    // Reopening continues the chain; notes are written by the next group.
    let log = AuditLog::open_signed(&path, key(), &config(3)).unwrap();
    log.note("analyst \"x\"", "search.local", serde_json::json!({}));
    log.record("node", "node.start", serde_json::json!({}))
        .unwrap();
    drop(log);
    let found = verify_with(&path, Some(&key().verifying_key())).unwrap();
    assert_eq!(found.last_seq, 17, "2 entries and the seal at drop");
    assert_eq!(found.unsealed, 0);
}

#[test]
fn an_edit_is_named_and_a_recomputed_chain_fails_at_the_next_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    sample(&path);
    let mut all = lines(&path);
    let edited = all.iter().position(|l| l.contains("\"i\":1")).unwrap();
    all[edited] = all[edited].replacen("\"i\":1", "\"i\":9", 1);
    write_lines(&path, &all);
    let (line, reason) = broken_at(&path);
    assert_eq!(line, edited + 1);
    assert!(reason.contains("edited"), "{reason}");
    let next_checkpoint = edited
        + all[edited..]
            .iter()
            .position(|l| l.contains(CHECKPOINT_ACTION))
            .unwrap();

    // The attacker recomputes every hash after the edit: the next checkpoint
    // no longer covers its predecessor.
    let mut prev = GENESIS.to_string();
    let rewritten: Vec<String> = all
        .iter()
        .map(|l| {
            let mut entry: Entry = serde_json::from_str(l).unwrap();
            entry.prev = prev.clone();
            entry.hash = entry.compute_hash();
            prev = entry.hash.clone();
            serde_json::to_string(&entry).unwrap()
        })
        .collect();
    write_lines(&path, &rewritten);
    let (line, reason) = broken_at(&path);
    assert_eq!(line, next_checkpoint + 1);
    assert!(reason.contains("rewritten"), "{reason}");
}

#[test]
fn delete_reorder_and_truncate_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    sample(&path);
    let all = lines(&path);

    let mut deleted = all.clone();
    deleted.remove(4);
    write_lines(&path, &deleted);
    let (line, reason) = broken_at(&path);
    assert_eq!(line, 5);
    assert!(reason.contains("removed"), "{reason}");

    let mut reordered = all.clone();
    reordered.swap(5, 6);
    write_lines(&path, &reordered);
    assert_eq!(broken_at(&path).0, 6);

    // Cut after whole lines: the seal file still names the last checkpoint.
    write_lines(&path, &all[..9]);
    let (line, reason) = broken_at(&path);
    assert_eq!(line, 10);
    assert!(reason.contains("truncated"), "{reason}");

    // Cut mid-line.
    let text = all.join("\n");
    std::fs::write(&path, &text[..text.len() - 10]).unwrap();
    let (line, reason) = broken_at(&path);
    assert_eq!(line, all.len());
    assert!(reason.contains("truncated"), "{reason}");
}

#[test]
fn a_forged_checkpoint_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    sample(&path);
    // The whole log re-signed by another key: chain and coverage hold, the
    // signatures do not.
    std::fs::remove_file(log::seal_path(&path)).unwrap();
    let forged_dir = tempfile::tempdir().unwrap();
    let forged = forged_dir.path().join("audit.log");
    let log =
        AuditLog::open_signed(&forged, SigningKey::from_bytes(&[12; 32]), &config(3)).unwrap();
    log.record("node", "node.start", serde_json::json!({}))
        .unwrap();
    log.seal().unwrap();
    drop(log);
    let (line, reason) = broken_at(&forged);
    assert_eq!(line, 2);
    assert!(reason.contains("forged"), "{reason}");
    // Without a key the chain alone passes.
    assert!(verify(&forged).is_ok());
}

#[test]
fn offline_appends_interleave_with_a_running_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_signed(&path, key(), &config(100)).unwrap();
    log.record("node", "node.start", serde_json::json!({}))
        .unwrap();
    append_offline(&path, &key(), "cli", "client.issue", serde_json::json!({})).unwrap();
    log.record("node", "after", serde_json::json!({})).unwrap();
    drop(log);
    let found = verify_with(&path, Some(&key().verifying_key())).unwrap();
    // start, the first seal, issue, offline seal, after, shutdown seal.
    assert_eq!(found.last_seq, 6);
    assert_eq!(found.seal, SealState::Matched);
}

#[test]
fn a_missing_or_garbled_seal_is_unverified_and_recorded_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    sample(&path);
    let seal = log::seal_path(&path);
    let good = std::fs::read(&seal).unwrap();
    assert!(verify_with(&path, None)
        .unwrap()
        .require_sealed(&path)
        .is_ok());
    // Cut at a checkpoint and the seal removed: the chain alone still links.
    let all = lines(&path);
    let cut = all
        .iter()
        .rposition(|l| l.contains(CHECKPOINT_ACTION))
        .unwrap()
        - 1;
    let cut = all[..cut]
        .iter()
        .rposition(|l| l.contains(CHECKPOINT_ACTION))
        .unwrap();
    write_lines(&path, &all[..=cut]);
    std::fs::remove_file(&seal).unwrap();
    let found = verify_with(&path, Some(&key().verifying_key())).unwrap();
    assert_eq!(found.seal, SealState::Missing);
    let error = found.require_sealed(&path).unwrap_err().to_string();
    assert!(
        error.contains("UNVERIFIED") && error.contains("missing"),
        "{error}"
    );
    std::fs::write(&seal, &good[..good.len() / 2]).unwrap();
    let found = verify_with(&path, None).unwrap();
    assert!(
        matches!(found.seal, SealState::Unreadable(_)),
        "{:?}",
        found.seal
    );
    assert!(found.require_sealed(&path).is_err());
    // With the whole seal back, the cut is named.
    std::fs::write(&seal, &good).unwrap();
    assert!(verify_with(&path, None)
        .unwrap_err()
        .to_string()
        .contains("truncated"));

    // The next writer records the gap and seals again.
    std::fs::remove_file(&seal).unwrap();
    let log = AuditLog::open_signed(&path, key(), &config(100)).unwrap();
    log.record("node", "node.start", serde_json::json!({}))
        .unwrap();
    let found = verify_with(&path, Some(&key().verifying_key())).unwrap();
    assert_eq!(found.seal, SealState::Matched, "sealed at the first write");
    assert_eq!(found.unverified_at, vec![cut as u64 + 2]);
    drop(log);
    assert!(!dir.path().join("audit.log.seal.tmp").exists());
}

#[test]
fn catch_up_refuses_a_line_that_does_not_link_to_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open_signed(&path, key(), &config(100)).unwrap();
    log.record("node", "node.start", serde_json::json!({}))
        .unwrap();
    // Another process appends a line with the right sequence and a valid own
    // hash, but linked to a different history.
    let tail = lines(&path).last().cloned().unwrap();
    let last: Entry = serde_json::from_str(&tail).unwrap();
    let mut foreign = Entry {
        seq: last.seq + 1,
        time_ms: 1,
        actor: "cli".into(),
        action: "client.issue".into(),
        detail: serde_json::json!({}),
        prev: GENESIS.to_string(),
        hash: String::new(),
    };
    foreign.hash = foreign.compute_hash();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(
        &mut file,
        (serde_json::to_string(&foreign).unwrap() + "\n").as_bytes(),
    )
    .unwrap();
    let error = log
        .record("node", "after", serde_json::json!({}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("breaks the chain"), "{error}");
}
