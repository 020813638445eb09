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
//! - [`query`], [`report`]: reading the file (node running or not) for the CLI;
//!   [`oversight`]: the filters, pages and verdict the CLI and the node's
//!   `ListAudit` call share.
//! - [`receipts`]: batch digests and the signed receipts partners return (the
//!   sender task and the heads gossip are the node's `accountability`).
//!
//! This module must never rewrite or truncate the log. Entries written with
//! [`AuditLog::record`] are synced to disk before it returns (admin actions are
//! acknowledged only after); [`AuditLog::note`] queues an entry for the next
//! group sync, off the caller's path (disclosures on the sync stream).

mod checkpoint;
mod entry;
mod error;
mod log;
pub mod oversight;
pub mod query;
pub mod receipts;
pub mod report;
mod settings;
mod verify;
mod writer;

use std::path::Path;

pub use checkpoint::{CHECKPOINT_ACTION, CHECKPOINT_PREFIX};
pub use entry::{Entry, GENESIS};
pub use error::AuditError;
pub use log::{seal_path, AuditLog};
pub use settings::AuditConfig;
pub use verify::{verify, verify_with, SealState, Verified, UNVERIFIED_ACTION};

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

#[cfg(test)]
mod tests;
