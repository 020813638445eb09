//! The append-only, hash-chained audit log: every admin action and every
//! disclosure to a partner (records served) is one JSON line whose hash covers
//! the previous line's hash, so `liaison audit verify` detects any edit, removal
//! or reordering.
//!
//! This module must never rewrite or truncate the log, and each entry is synced
//! to disk before the action it records is acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("audit log broken at entry {line}: {reason}")]
    Tampered { line: usize, reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub time_ms: i64,
    /// Who acted: "admin \"name\"", "partner 1a2b3c4d", "node".
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
    pub prev: String,
    pub hash: String,
}

impl Entry {
    fn compute_hash(&self) -> String {
        let body = serde_json::json!([
            self.seq,
            self.time_ms,
            self.actor,
            self.action,
            self.detail,
            self.prev
        ]);
        hex::encode(Sha256::digest(body.to_string().as_bytes()))
    }
}

struct Tail {
    file: File,
    seq: u64,
    hash: String,
}

pub struct AuditLog {
    path: String,
    tail: Mutex<Tail>,
}

impl AuditLog {
    /// Opens the log for appending, after checking the whole chain.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let shown = path.display().to_string();
        let (seq, hash) = match path.exists() {
            true => verify(path)?,
            false => (0, GENESIS.to_string()),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| AuditError::Io {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        Ok(AuditLog {
            path: shown,
            tail: Mutex::new(Tail { file, seq, hash }),
        })
    }

    /// Appends one entry and syncs it to disk.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), AuditError> {
        let io = |e: std::io::Error| AuditError::Io {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        let mut tail = self.tail.lock().map_err(|_| AuditError::Io {
            path: self.path.clone(),
            reason: "lock poisoned".into(),
        })?;
        let mut entry = Entry {
            seq: tail.seq + 1,
            time_ms: crate::now_ms(),
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
            prev: tail.hash.clone(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        let mut line = serde_json::to_vec(&entry).map_err(|e| AuditError::Io {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        tail.file.write_all(&line).map_err(io)?;
        tail.file.sync_data().map_err(io)?;
        crate::metrics::audit_written();
        tail.seq = entry.seq;
        tail.hash = entry.hash;
        Ok(())
    }
}

/// Checks every link of the chain; returns the last sequence and hash.
pub fn verify(path: &Path) -> Result<(u64, String), AuditError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| AuditError::Io {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut prev = GENESIS.to_string();
    let mut seq = 0;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line_no = index + 1;
        let line = line.map_err(|e| AuditError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let entry: Entry = serde_json::from_str(&line).map_err(|e| AuditError::Tampered {
            line: line_no,
            reason: format!("not an audit entry: {e}"),
        })?;
        if entry.seq != seq + 1 {
            return Err(AuditError::Tampered {
                line: line_no,
                reason: format!("sequence {} follows {seq}", entry.seq),
            });
        }
        if entry.prev != prev {
            return Err(AuditError::Tampered {
                line: line_no,
                reason: "previous-hash link broken (entry removed or reordered)".into(),
            });
        }
        if entry.compute_hash() != entry.hash {
            return Err(AuditError::Tampered {
                line: line_no,
                reason: "content does not match its hash (entry edited)".into(),
            });
        }
        seq = entry.seq;
        prev = entry.hash;
    }
    Ok((seq, prev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_verifies_and_detects_edits_and_removals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        for i in 0..5 {
            log.record(
                "admin \"example\"",
                "partner.add",
                serde_json::json!({ "i": i }),
            )
            .unwrap();
        }
        drop(log);
        assert_eq!(verify(&path).unwrap().0, 5);
        // Reopening continues the chain.
        AuditLog::open(&path)
            .unwrap()
            .record("node", "start", serde_json::json!({}))
            .unwrap();
        assert_eq!(verify(&path).unwrap().0, 6);

        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen("\"i\":2", "\"i\":9", 1);
        std::fs::write(&path, &edited).unwrap();
        assert!(matches!(
            verify(&path),
            Err(AuditError::Tampered { line: 3, .. })
        ));

        let mut lines: Vec<&str> = text.lines().collect();
        lines.remove(1);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        assert!(matches!(
            verify(&path),
            Err(AuditError::Tampered { line: 2, .. })
        ));
    }
}
