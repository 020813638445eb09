//! Private hit/no-hit lookups (issue 14; docs/PRIVATE_LOOKUP.md): an analyst asks
//! every partner "do you hold this value?" without the value leaving this node.
//!
//! The answering node keeps a per-epoch VOPRF key (RFC 9497, ristretto255,
//! [`epoch`]), evaluates F on every value a partner of a given TLP ceiling may
//! learn about, and serves a signed binary fuse filter of those outputs
//! ([`filter`], [`serve`]). The asking node blinds the normalised value, has the
//! partner evaluate it with a proof, finalises, and checks the filter locally
//! ([`query`]). The partner sees only a random group element and counts it
//! against a daily quota.
//!
//! This module must never write a looked-up value (or anything derived from it
//! without the blind) to the partner's disk or log, never answer an evaluation
//! without a proof, and never trust a filter before its signature, digest and
//! epoch are checked.

pub mod ahead;
pub mod epoch_key;
mod keyset;
pub mod query;
pub mod schedule;
pub mod serve;
pub mod share;
pub mod state;

pub use liaison_core::lookup::{epoch, filter, oprf, LookupError};
use serde::{Deserialize, Serialize};
pub use state::{FilterStatus, LookupState};

/// The `[lookup]` table of config.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LookupConfig {
    /// Evaluations each partner may ask for per UTC day.
    pub daily_quota: u32,
    /// Evaluations each of this agency's own analysts may spend per UTC day at
    /// each partner (one per reading of a value): their share of the partners'
    /// `daily_quota` for this node.
    pub analyst_daily_share: u32,
    /// Length of a key epoch in hours (1..=168); keys and filters rotate with it.
    pub epoch_hours: u32,
    /// Shortest time between two rebuilds of the filters when records change.
    pub rebuild_min_seconds: u64,
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            daily_quota: 1000,
            analyst_daily_share: 250,
            epoch_hours: 24,
            rebuild_min_seconds: 10,
        }
    }
}

impl LookupConfig {
    /// The default table (left out of config.toml).
    pub fn is_default(&self) -> bool {
        *self == LookupConfig::default()
    }

    /// Refuses settings that cannot work, naming the field.
    pub fn check(&self) -> Result<(), LookupError> {
        if !(1..=168).contains(&self.epoch_hours) {
            return Err(LookupError::Invalid(
                "lookup.epoch_hours: must be between 1 and 168".into(),
            ));
        }
        Ok(())
    }
}
