//! One line of the audit log and its hash: the chain links each entry to the
//! previous one's hash, starting from [`GENESIS`]. This module must never change
//! what a hash covers (every existing log would stop verifying).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
