//! Unit tests of the log: chain, checkpoints, tampering of each kind.

use super::*;
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
    all[1] = all[1].replacen("\"i\":1", "\"i\":9", 1);
    write_lines(&path, &all);
    let (line, reason) = broken_at(&path);
    assert_eq!(line, 2);
    assert!(reason.contains("edited"), "{reason}");

    // The attacker recomputes every hash after the edit: the next checkpoint
    // (line 4) no longer covers its predecessor.
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
    assert_eq!(line, 4);
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
    // start, issue, offline seal, after, shutdown seal.
    assert_eq!(found.last_seq, 5);
}
