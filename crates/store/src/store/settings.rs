//! The `[store]` table of config.toml: how the record store lays its files out.
//! Owns the value log's segment size setting and its one default; the store
//! reads it at open (a segment is closed once an append would take it past
//! this size). This module must never touch the database itself.

use serde::{Deserialize, Serialize};

/// Segment size of the value log when `config.toml` names none, MiB.
pub const DEFAULT_SEGMENT_MIB: u32 = 64;
/// Smallest and largest segment size accepted, MiB (entry offsets are 32-bit).
pub const SEGMENT_MIB_RANGE: std::ops::RangeInclusive<u32> = 1..=1024;

/// Settings of the `[store]` table in config.toml.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Size at which a value-log segment is closed, MiB. Smaller segments are
    /// compacted sooner after a purge (a closed segment is rewritten once less
    /// than half of it is live) at the cost of more files.
    pub value_log_segment_mib: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            value_log_segment_mib: DEFAULT_SEGMENT_MIB,
        }
    }
}

impl StoreConfig {
    /// Refuses a size the value log cannot use, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        if !SEGMENT_MIB_RANGE.contains(&self.value_log_segment_mib) {
            return Err(format!(
                "store.value_log_segment_mib: {} is outside {}..={} (MiB; default {DEFAULT_SEGMENT_MIB})",
                self.value_log_segment_mib,
                SEGMENT_MIB_RANGE.start(),
                SEGMENT_MIB_RANGE.end()
            ));
        }
        Ok(())
    }

    pub fn is_default(&self) -> bool {
        *self == StoreConfig::default()
    }

    /// The segment size in bytes (the size is clamped to the accepted range).
    pub fn segment_bytes(&self) -> u32 {
        let mib = self
            .value_log_segment_mib
            .clamp(*SEGMENT_MIB_RANGE.start(), *SEGMENT_MIB_RANGE.end());
        mib << 20
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_segment_size_is_checked_and_converted() {
        assert_eq!(StoreConfig::default().segment_bytes(), 64 << 20);
        for mib in [1, 64, 1024] {
            let config = StoreConfig {
                value_log_segment_mib: mib,
            };
            assert!(config.validate().is_ok());
            assert_eq!(config.segment_bytes(), mib << 20);
        }
        for mib in [0, 1025, u32::MAX] {
            let error = StoreConfig {
                value_log_segment_mib: mib,
            }
            .validate()
            .unwrap_err();
            assert!(error.contains("store.value_log_segment_mib"), "{error}");
        }
    }
}
