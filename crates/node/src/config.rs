//! The node's own settings in `DIR/config.toml`: its name and addresses, record
//! validity and retention, and the tables of the layers it runs (`[limits]`,
//! `[rotation]`, `[audit]`, `[lookup]`, `[store]`). The server assembles the whole file from
//! this and its own tables (`[http]`, `[metrics]`). Secrets never live here.
//!
//! This module must never read or write the file itself (the server does), and
//! never accept a setting it cannot honour: every table is checked here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The agency's name, shown to partners.
    pub name: String,
    /// Where `liaison run` listens, e.g. "0.0.0.0:7400".
    pub listen: String,
    /// Where partners reach this node (host:port); defaults to the bound address.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// sled page cache, MiB. 16 keeps a node under 300 MB resident at a million
    /// records; 64 syncs ~10-20 % faster for ~90 MB more (docs/BENCHMARKS.md).
    #[serde(default = "default_cache_mb")]
    pub cache_mb: u64,
    /// Validity of a published record when the analyst gives none, days.
    #[serde(default = "default_valid_days")]
    pub default_valid_days: u32,
    /// Country used for phone numbers written in national format, e.g. "GB".
    #[serde(default)]
    pub default_country: String,
    /// Seconds between retention purges of records past their valid-until.
    #[serde(default = "default_purge_seconds")]
    pub purge_interval_seconds: u64,
    /// How far in the future a received record's creation time may lie, seconds.
    #[serde(default = "default_max_clock_skew_seconds")]
    pub max_clock_skew_seconds: u64,
    /// Longest this node keeps any record, days from its receipt, whatever its
    /// valid-until says.
    #[serde(default = "default_max_retention_days")]
    pub max_retention_days: u32,
    /// Whether a federated search must say why (its justification is sent to
    /// and logged by every partner asked). On by default: law-enforcement logging
    /// rules expect a reason for every consultation of another agency's data.
    #[serde(default = "default_require_justification")]
    pub require_justification: bool,
    /// Bounds on work per caller and per connection (`[limits]` table).
    #[serde(default)]
    pub limits: crate::limits::LimitsConfig,
    /// Certificate rotation (`[rotation]` table).
    #[serde(default)]
    pub rotation: liaison_identity::identity::RotationConfig,
    /// The audit log: checkpoints, and whether consultations are logged (`[audit]`).
    #[serde(default)]
    pub audit: liaison_store::audit::AuditConfig,
    /// Private lookups (`[lookup]` table: daily quota per partner, epoch length).
    #[serde(
        default,
        skip_serializing_if = "crate::lookup::LookupConfig::is_default"
    )]
    pub lookup: crate::lookup::LookupConfig,
    /// The record store's files (`[store]` table: the value log's segment size).
    #[serde(
        default,
        skip_serializing_if = "liaison_store::store::StoreConfig::is_default"
    )]
    pub store: liaison_store::store::StoreConfig,
}

fn default_max_clock_skew_seconds() -> u64 {
    300
}

fn default_max_retention_days() -> u32 {
    3650
}

fn default_require_justification() -> bool {
    true
}

fn default_purge_seconds() -> u64 {
    60
}

fn default_cache_mb() -> u64 {
    16
}

fn default_valid_days() -> u32 {
    365
}

impl NodeConfig {
    pub fn new(name: &str, listen: &str) -> NodeConfig {
        NodeConfig {
            name: name.to_string(),
            listen: listen.to_string(),
            endpoints: Vec::new(),
            cache_mb: default_cache_mb(),
            default_valid_days: default_valid_days(),
            default_country: String::new(),
            purge_interval_seconds: default_purge_seconds(),
            max_clock_skew_seconds: default_max_clock_skew_seconds(),
            max_retention_days: default_max_retention_days(),
            require_justification: default_require_justification(),
            limits: crate::limits::LimitsConfig::default(),
            rotation: liaison_identity::identity::RotationConfig::default(),
            audit: liaison_store::audit::AuditConfig::default(),
            lookup: crate::lookup::LookupConfig::default(),
            store: liaison_store::store::StoreConfig::default(),
        }
    }

    /// Reads the node's part of the file (the server has taken out its tables),
    /// refusing unknown keys and settings that cannot work, naming the field.
    pub fn from_table(table: toml::Table) -> Result<NodeConfig, String> {
        let config: NodeConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Refuses settings that cannot work, naming the field.
    pub fn check(&self) -> Result<(), String> {
        let config = self;
        if config.name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        liaison_core::untrusted::check_text(&config.name, liaison_core::untrusted::Lines::Single)
            .map_err(|reason| format!("name: {reason}"))?;
        if config.default_valid_days == 0 {
            return Err("default_valid_days must be at least 1".into());
        }
        if config.max_retention_days == 0 {
            return Err("max_retention_days: must be at least 1".into());
        }
        if config.default_valid_days > config.max_retention_days {
            return Err(format!(
                "default_valid_days: {} is more than max_retention_days ({}); records would be purged before they expire",
                config.default_valid_days, config.max_retention_days
            ));
        }
        config.limits.validate()?;
        if config.rotation.tls_grace_seconds == 0 {
            return Err("rotation.tls_grace_seconds: must be at least 1 (partners are told over the old certificate during the grace period)".into());
        }
        config.audit.validate()?;
        config.lookup.check().map_err(|e| e.to_string())?;
        config.store.validate()?;
        Ok(())
    }

    /// The local maximum retention, milliseconds.
    pub fn max_retention_ms(&self) -> i64 {
        i64::from(self.max_retention_days).saturating_mul(86_400_000)
    }

    pub fn purge_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.purge_interval_seconds.max(1))
    }

    /// The endpoints advertised in the enrollment bundle: the configured ones, or
    /// else the address the node actually bound (which resolves port 0).
    pub fn advertised_endpoints(&self, bound: Option<&str>) -> Vec<String> {
        match (self.endpoints.is_empty(), bound) {
            (false, _) => self.endpoints.clone(),
            (true, Some(bound)) => vec![bound.to_string()],
            (true, None) => vec![self.listen.clone()],
        }
    }
}
