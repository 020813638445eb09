//! The append-only audit log: every admin action, every disclosure to a partner
//! (batches served, search answers, receipts) and every consultation by the
//! agency's own analysts is one JSON line whose hash covers the previous line's
//! hash. Every N entries, every T seconds and at shutdown the node appends a
//! checkpoint signed with its Ed25519 key over (sequence, chain hash), so an
//! edit that recomputes the hashes is caught at the next checkpoint.
//!
//! - [`log`]: the append API; [`writer`]: the writer thread (group sync,
//!   checkpoints, file lock).
//! - [`checkpoint`]: what a checkpoint signs and how it is checked.
//! - [`verify`]: the whole-file check behind `liaison audit verify`.
//! - [`query`], [`report`]: reading the file (node running or not) for the CLI.
//! - [`receipts`]: batch digests and the signed receipts partners return (the
//!   sender task and the heads gossip are the node's `accountability`).
//!
//! This module must never rewrite or truncate the log. Entries written with
//! [`AuditLog::record`] are synced to disk before it returns (admin actions are
//! acknowledged only after); [`AuditLog::note`] queues an entry for the next
//! group sync, off the caller's path (disclosures on the sync stream).

mod checkpoint;
mod log;
pub mod query;
pub mod receipts;
pub mod report;
mod verify;
mod writer;

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use checkpoint::{CHECKPOINT_ACTION, CHECKPOINT_PREFIX};
pub use log::{seal_path, AuditLog};
pub use verify::{verify, verify_with, SealState, Verified, UNVERIFIED_ACTION};

pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("audit log broken at entry {line}: {reason}")]
    Tampered { line: usize, reason: String },
    #[error("audit log {path} UNVERIFIED: {reason}")]
    Unverified { path: String, reason: String },
}

/// Settings of the `[audit]` table in config.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Write consultation and disclosure entries (searches, gets, batches served).
    /// Admin actions are always written. Off only to measure the overhead.
    pub enabled: bool,
    /// A signed checkpoint after this many entries.
    pub checkpoint_every_entries: u64,
    /// A signed checkpoint at least this often while entries arrive, seconds.
    pub checkpoint_interval_seconds: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            checkpoint_every_entries: 1000,
            checkpoint_interval_seconds: 60,
        }
    }
}

impl AuditConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.checkpoint_every_entries == 0 {
            return Err("audit.checkpoint_every_entries: must be at least 1".into());
        }
        if self.checkpoint_interval_seconds == 0 {
            return Err("audit.checkpoint_interval_seconds: must be at least 1".into());
        }
        Ok(())
    }
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
    pub(crate) fn compute_hash(&self) -> String {
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

    /// The partner this entry concerns, if any: the actor for partner calls,
    /// else a `partner` field of the detail.
    pub fn partner(&self) -> Option<&str> {
        self.actor
            .strip_prefix("partner ")
            .or_else(|| self.detail.get("partner").and_then(|p| p.as_str()))
    }
}

/// Appends one synced entry from a process that does not run the node (the
/// CLI's offline commands): takes the same file lock as the node's writer, so
/// the chain stays whole whether or not the node is running.
pub fn append_offline(
    path: &Path,
    key: &ed25519_dalek::SigningKey,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), AuditError> {
    log::append_locked(path, key, actor, action, detail)
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> AuditError {
    AuditError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
