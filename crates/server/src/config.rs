//! The node's configuration file (`DIR/config.toml`), assembled: the node's own
//! settings and tables ([`NodeConfig`], checked by the node crate) and the
//! server's tables, `[http]` ([`HttpConfig`]) and `[metrics]` ([`MetricsConfig`]),
//! each named here explicitly so an unknown key anywhere is refused (serde's
//! `deny_unknown_fields` does not work through `flatten`). Plain settings an
//! operator may edit; secrets never live here.
//!
//! This module also sets up a node directory ([`NodeDirSetup`]): keys and
//! certificates from the identity crate, then the database, then this file.

use liaison_identity::identity::{write_public, IdentityError, NodeDir, NodeIdentity};
pub use liaison_node::config::NodeConfig;

use crate::http::HttpConfig;
use crate::metrics::MetricsConfig;

/// The whole of `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Everything but the server's tables.
    pub node: NodeConfig,
    /// Standard HTTP endpoints beside gRPC (`[http]` table: TAXII 2.1, MISP feed).
    pub http: HttpConfig,
    /// The Prometheus endpoint (`[metrics]` table; off unless `listen` is set).
    pub metrics: MetricsConfig,
}

impl Config {
    pub fn new(name: &str, listen: &str) -> Config {
        Config {
            node: NodeConfig::new(name, listen),
            http: HttpConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }

    /// Parses and checks the file; an error names the table or field at fault.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let http = section(&mut table, "http")?;
        let metrics = section(&mut table, "metrics")?;
        let node = NodeConfig::from_table(table)?;
        Ok(Config {
            node,
            http,
            metrics,
        })
    }

    /// The file's text: the node's settings, then `[http]`, then `[metrics]`
    /// when an endpoint is configured.
    pub fn to_toml(&self) -> String {
        let mut text = toml::to_string_pretty(&self.node).unwrap_or_default();
        let mut tables = toml::Table::new();
        if let Ok(http) = toml::Value::try_from(&self.http) {
            tables.insert("http".into(), http);
        }
        if !self.metrics.is_off() {
            if let Ok(metrics) = toml::Value::try_from(&self.metrics) {
                tables.insert("metrics".into(), metrics);
            }
        }
        text.push('\n');
        text.push_str(&toml::to_string_pretty(&tables).unwrap_or_default());
        text
    }
}

/// Takes the table `name` out of the file (absent: its defaults).
fn section<T: serde::de::DeserializeOwned + Default>(
    table: &mut toml::Table,
    name: &str,
) -> Result<T, String> {
    match table.remove(name) {
        None => Ok(T::default()),
        Some(value) => value
            .try_into()
            .map_err(|e: toml::de::Error| format!("[{name}]: {}", e.message())),
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
        self.init_identity(&config.node.name)?;
        liaison_store::store::Store::open(&self.database(), 1024 * 1024)
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
        self.load_identity_named(&config.node.name)
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
        let mut served = Config::new("Agency A (example)", "127.0.0.1:7400");
        served.http.taxii = false;
        served.metrics.listen = Some("127.0.0.1:9464".into());
        assert_eq!(Config::from_toml(&served.to_toml()).unwrap(), served);
        let error =
            Config::from_toml("name = \"x\"\nlisten = \"a\"\n[http]\nbogus = 1\n").unwrap_err();
        assert!(
            error.starts_with("[http]:") && error.contains("bogus"),
            "{error}"
        );
    }

    #[test]
    fn a_federated_search_needs_a_justification_unless_turned_off() {
        let config = Config::from_toml("name = \"x\"\nlisten = \"a\"\n").unwrap();
        assert!(config.node.require_justification);
        let written = Config::new("Agency A (example)", "127.0.0.1:7400").to_toml();
        assert!(
            written.contains("require_justification = true"),
            "{written}"
        );
        let text = "name = \"x\"\nlisten = \"a\"\nrequire_justification = false\n";
        let config = Config::from_toml(text).unwrap();
        assert!(!config.node.require_justification);
        assert_eq!(Config::from_toml(&config.to_toml()).unwrap(), config);
        let text = "name = \"x\"\nlisten = \"a\"\nrequire_justification = \"no\"\n";
        let error = Config::from_toml(text).unwrap_err();
        assert!(error.contains("require_justification"), "{error}");
        let text = "name = \"x\"\nlisten = \"a\"\nrequire_justifications = false\n";
        assert!(Config::from_toml(text).is_err());
    }

    #[test]
    fn limits_table_is_optional_and_partial() {
        let config = Config::from_toml("name = \"x\"\nlisten = \"a\"\n").unwrap();
        assert_eq!(
            config.node.limits,
            liaison_node::limits::LimitsConfig::default()
        );
        let text = "name = \"x\"\nlisten = \"a\"\n[limits]\nclient_burst = 5\n";
        let config = Config::from_toml(text).unwrap();
        assert_eq!(config.node.limits.client_burst, 5);
        assert_eq!(config.node.limits.max_handshakes, 64);
        let text = "name = \"x\"\nlisten = \"a\"\n[limits]\nmax_handshakes = 0\n";
        let error = Config::from_toml(text).unwrap_err();
        assert!(error.starts_with("limits.max_handshakes:"), "{error}");
    }
}
