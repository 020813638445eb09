//! The node's configuration file (`DIR/config.toml`): plain settings an operator
//! may edit. Secrets never live here.

use serde::{Deserialize, Serialize};

use crate::identity::{write_public, IdentityError, NodeDir, NodeIdentity};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
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
    /// Bounds on work per caller and per connection (`[limits]` table).
    #[serde(default)]
    pub limits: crate::limits::LimitsConfig,
    /// The Prometheus endpoint (`[metrics]` table; off unless `listen` is set).
    #[serde(default, skip_serializing_if = "crate::metrics::MetricsConfig::is_off")]
    pub metrics: crate::metrics::MetricsConfig,
    /// Certificate rotation (`[rotation]` table).
    #[serde(default)]
    pub rotation: crate::identity::RotationConfig,
    /// Standard HTTP endpoints beside gRPC (`[http]` table: TAXII 2.1, MISP feed).
    #[serde(default)]
    pub http: crate::http::HttpConfig,
    /// The audit log: checkpoints, and whether consultations are logged (`[audit]`).
    #[serde(default)]
    pub audit: crate::audit::AuditConfig,
    /// Private lookups (`[lookup]` table: daily quota per partner, epoch length).
    #[serde(
        default,
        skip_serializing_if = "crate::lookup::LookupConfig::is_default"
    )]
    pub lookup: crate::lookup::LookupConfig,
}

fn default_max_clock_skew_seconds() -> u64 {
    300
}

fn default_max_retention_days() -> u32 {
    3650
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

impl Config {
    pub fn new(name: &str, listen: &str) -> Config {
        Config {
            name: name.to_string(),
            listen: listen.to_string(),
            endpoints: Vec::new(),
            cache_mb: default_cache_mb(),
            default_valid_days: default_valid_days(),
            default_country: String::new(),
            purge_interval_seconds: default_purge_seconds(),
            max_clock_skew_seconds: default_max_clock_skew_seconds(),
            max_retention_days: default_max_retention_days(),
            limits: crate::limits::LimitsConfig::default(),
            metrics: crate::metrics::MetricsConfig::default(),
            rotation: crate::identity::RotationConfig::default(),
            http: crate::http::HttpConfig::default(),
            audit: crate::audit::AuditConfig::default(),
            lookup: crate::lookup::LookupConfig::default(),
        }
    }

    pub fn from_toml(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        if config.name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        crate::untrusted::check_text(&config.name, crate::untrusted::Lines::Single)
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
        Ok(config)
    }

    /// The local maximum retention, milliseconds.
    pub fn max_retention_ms(&self) -> i64 {
        i64::from(self.max_retention_days).saturating_mul(86_400_000)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
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

/// A node directory's setup with this config: the identity crate owns the keys
/// and certificates, this layer the config file and the database.
pub trait NodeDirSetup {
    /// Creates a new node: keys, certificates, admin client certificate, an empty
    /// database, then `config.toml` last (its presence marks a complete node).
    /// Refuses if the directory already holds a node.
    fn init(&self, config: &Config) -> Result<NodeIdentity, IdentityError>;
    /// Reads and checks `config.toml`.
    fn load_config(&self) -> Result<Config, IdentityError>;
    /// The keys and certificates of the node `config` names.
    fn load_identity(&self, config: &Config) -> Result<NodeIdentity, IdentityError>;
}

impl NodeDirSetup for NodeDir {
    fn init(&self, config: &Config) -> Result<NodeIdentity, IdentityError> {
        self.init_identity(&config.name)?;
        crate::store::Store::open(&self.database(), 1024 * 1024)
            .and_then(|store| store.flush_blocking())
            .map_err(|e| IdentityError::File {
                path: self.database().display().to_string(),
                reason: e.to_string(),
            })?;
        write_public(&self.config(), config.to_toml().as_bytes())?;
        self.load_identity(config)
    }

    fn load_config(&self) -> Result<Config, IdentityError> {
        let text = self.read_config_text()?;
        Config::from_toml(&text).map_err(|reason| IdentityError::Config {
            path: self.config().display().to_string(),
            reason,
        })
    }

    fn load_identity(&self, config: &Config) -> Result<NodeIdentity, IdentityError> {
        self.load_identity_named(&config.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown_keys() {
        let config = Config::new("Agency A (example)", "127.0.0.1:7400");
        assert_eq!(Config::from_toml(&config.to_toml()).unwrap(), config);
        assert!(Config::from_toml("name = \"x\"\nlisten = \"a\"\nbogus = 1\n").is_err());
        assert!(Config::from_toml("name = \"\"\nlisten = \"a\"\n").is_err());
    }

    #[test]
    fn limits_table_is_optional_and_partial() {
        let config = Config::from_toml("name = \"x\"\nlisten = \"a\"\n").unwrap();
        assert_eq!(config.limits, crate::limits::LimitsConfig::default());
        let text = "name = \"x\"\nlisten = \"a\"\n[limits]\nclient_burst = 5\n";
        let config = Config::from_toml(text).unwrap();
        assert_eq!(config.limits.client_burst, 5);
        assert_eq!(config.limits.max_handshakes, 64);
        let text = "name = \"x\"\nlisten = \"a\"\n[limits]\nmax_handshakes = 0\n";
        let error = Config::from_toml(text).unwrap_err();
        assert!(error.starts_with("limits.max_handshakes:"), "{error}");
    }
}
