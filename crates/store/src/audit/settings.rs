//! The `[audit]` table of config.toml: whether consultations are logged, and how
//! often a signed checkpoint is written.

use serde::{Deserialize, Serialize};

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
