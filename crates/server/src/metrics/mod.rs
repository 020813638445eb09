//! Prometheus metrics: what the node counts while it runs, and the plain-HTTP
//! endpoint (`liaison run --metrics-listen ADDR`, or `[metrics] listen` in
//! config.toml; off by default) that serves them in the Prometheus text format.
//!
//! Two kinds of figures:
//! - event counters and histograms kept in one process-wide [`Metrics`]
//!   (RPCs by method and status, flush latency, audit writes, records rejected
//!   by partner and reason, the partner's change-log head seen while syncing);
//! - figures read from the node at each scrape ([`state`]): records held,
//!   per-partner cursor, lag, connection state, received/rejected totals and
//!   pending sets, the same numbers `partner list` shows.
//!
//! This module must never decide anything about records or partners, and never
//! let a caller-chosen string become a label value (label values are node ids,
//! gRPC method names from a fixed set, and short reason classes).

mod http;
mod rpc;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};

pub use http::serve;
pub use rpc::RpcMetricsLayer;

/// The `[metrics]` table of config.toml.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address for the plain-HTTP Prometheus endpoint, e.g. "127.0.0.1:9464".
    /// Unset: no endpoint. Bind it to loopback or a monitoring network only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

impl MetricsConfig {
    /// No endpoint configured (the table is then left out of config.toml).
    pub fn is_off(&self) -> bool {
        self.listen.is_none()
    }
}

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics listen: cannot listen on {address}: {reason}")]
    Bind { address: String, reason: String },
}

/// The endpoint's listener, bound before the node starts so a wrong address
/// fails `liaison run` at once; `flag` (the command line) wins over the config.
pub async fn bind(
    flag: Option<&str>,
    config: &MetricsConfig,
) -> Result<Option<tokio::net::TcpListener>, MetricsError> {
    let Some(address) = flag.or(config.listen.as_deref()) else {
        return Ok(None);
    };
    tokio::net::TcpListener::bind(address)
        .await
        .map(Some)
        .map_err(|e| MetricsError::Bind {
            address: address.to_string(),
            reason: e.to_string(),
        })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RpcLabels {
    pub method: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RejectLabels {
    pub partner: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PartnerLabels {
    pub partner: String,
}

/// The process-wide event metrics (cheap atomics; recorded whether or not an
/// endpoint serves them).
#[derive(Debug)]
pub struct Metrics {
    rpc_calls: Family<RpcLabels, Counter>,
    rpc_seconds: Family<RpcLabels, Histogram>,
    flush_seconds: Histogram,
    audit_writes: Counter,
    rejected: Family<RejectLabels, Counter>,
    partner_head: Family<PartnerLabels, Gauge>,
    heads_refused: Family<RejectLabels, Counter>,
    /// The reason classes counted in `rejected` for each partner (hex id):
    /// a Family cannot be listed, so this says which counters to read back
    /// for `partner list` ([`rejected_by_reason_of`]).
    rejected_classes: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    rpc_calls: Family::default(),
    rpc_seconds: Family::new_with_constructor(|| {
        Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
    }),
    flush_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
    audit_writes: Counter::default(),
    rejected: Family::default(),
    partner_head: Family::default(),
    heads_refused: Family::default(),
    rejected_classes: Mutex::new(BTreeMap::new()),
});

/// Records one finished RPC (see [`RpcMetricsLayer`]).
pub(crate) fn rpc_finished(method: String, status: String, elapsed: Duration) {
    let labels = RpcLabels { method, status };
    METRICS.rpc_calls.get_or_create(&labels).inc();
    METRICS
        .rpc_seconds
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
}

/// Records how long one group commit's flush took (store/commit.rs).
pub fn flush_observed(elapsed: Duration) {
    METRICS.flush_seconds.observe(elapsed.as_secs_f64());
}

/// Counts one entry appended to the audit log.
pub fn audit_written() {
    METRICS.audit_writes.inc();
}

/// The runtime's events, counted here (installed by [`install_telemetry`]).
struct StoreTelemetry;

impl liaison_core::telemetry::Telemetry for StoreTelemetry {
    fn rejected(&self, peer: &liaison_core::record::NodeId, class: &str, records: u64) {
        count_rejected(peer, class, records);
    }

    fn flush_observed(&self, took: Duration) {
        flush_observed(took);
    }

    fn audit_written(&self) {
        audit_written();
    }

    fn partner_head(&self, peer: &liaison_core::record::NodeId, head: u64) {
        partner_head(peer, head);
    }

    fn forget_partner(&self, peer: &liaison_core::record::NodeId) {
        forget_partner(peer);
    }

    fn heads_refused(&self, peer: &liaison_core::record::NodeId, reason: &'static str, heads: u64) {
        heads_refused(peer, reason, heads);
    }
}

/// Routes the runtime's events (store, audit writer, node) to these counters
/// (once per process; the server calls it before it opens the node).
pub fn install_telemetry() {
    liaison_core::telemetry::install(&StoreTelemetry);
}

/// Counts records refused from `partner`, by reason class (see [`reason_class`]).
pub fn rejected(partner: &liaison_core::record::NodeId, classes: &BTreeMap<String, u64>) {
    for (class, records) in classes {
        count_rejected(partner, class, *records);
    }
}

/// The one place a refusal is counted: the metric family and the list of
/// classes [`rejected_by_reason_of`] reads it back through.
fn count_rejected(partner: &liaison_core::record::NodeId, class: &str, records: u64) {
    let labels = RejectLabels {
        partner: partner.to_hex(),
        reason: class.to_string(),
    };
    METRICS.rejected.get_or_create(&labels).inc_by(records);
    if let Ok(mut seen) = METRICS.rejected_classes.lock() {
        seen.entry(labels.partner)
            .or_default()
            .insert(labels.reason);
    }
}

/// Records refused from `partner` since the node started, by reason class:
/// the `sync_rejected_by_reason` counters, read back (`partner list`).
pub(crate) fn rejected_by_reason_of(
    partner: &liaison_core::record::NodeId,
) -> BTreeMap<String, u64> {
    let partner = partner.to_hex();
    let classes = match METRICS.rejected_classes.lock() {
        Ok(seen) => seen.get(&partner).cloned().unwrap_or_default(),
        Err(_) => BTreeSet::new(),
    };
    classes
        .into_iter()
        .filter_map(|reason| {
            let labels = RejectLabels {
                partner: partner.clone(),
                reason,
            };
            let count = METRICS.rejected.get(&labels)?.get();
            Some((labels.reason, count))
        })
        .collect()
}

/// Change-log entries `partner` holds past our `cursor`: its head as its last
/// batch announced it, minus the cursor; 0 before it announced one. The one
/// computation behind the `partner_sync_lag` metric and `partner list`.
pub(crate) fn partner_lag(partner: &liaison_core::record::NodeId, cursor: u64) -> u64 {
    lag_behind(partner_head_of(partner), cursor)
}

fn lag_behind(head: Option<u64>, cursor: u64) -> u64 {
    head.unwrap_or(cursor).saturating_sub(cursor)
}

/// Counts signed heads a partner sent that were refused or not kept
/// (audit/heads: `reason` is one of a fixed set).
pub fn heads_refused(partner: &liaison_core::record::NodeId, reason: &'static str, heads: u64) {
    let labels = RejectLabels {
        partner: partner.to_hex(),
        reason: reason.to_string(),
    };
    METRICS.heads_refused.get_or_create(&labels).inc_by(heads);
}

/// The partner's change-log head, as its last batch announced it.
pub fn partner_head(partner: &liaison_core::record::NodeId, head: u64) {
    let labels = PartnerLabels {
        partner: partner.to_hex(),
    };
    let head = i64::try_from(head).unwrap_or(i64::MAX);
    METRICS.partner_head.get_or_create(&labels).set(head);
}

/// Drops a revoked partner's live series (its persisted totals go with its
/// sync state; reason counters stay until restart, as counters should).
pub fn forget_partner(partner: &liaison_core::record::NodeId) {
    let labels = PartnerLabels {
        partner: partner.to_hex(),
    };
    METRICS.partner_head.remove(&labels);
}

pub(crate) fn partner_head_of(partner: &liaison_core::record::NodeId) -> Option<u64> {
    let labels = PartnerLabels {
        partner: partner.to_hex(),
    };
    // `get` would create the entry; read through the family's lookup instead.
    METRICS
        .partner_head
        .get(&labels)
        .and_then(|gauge| u64::try_from(gauge.get()).ok())
}

/// A registry holding the process-wide metrics and, when given, the node's
/// scrape-time figures.
pub(crate) fn registry(node: Option<std::sync::Arc<liaison_node::node::Node>>) -> Registry {
    let mut registry = Registry::with_prefix("liaison");
    let m = &*METRICS;
    registry.register(
        "rpc_requests",
        "gRPC calls served, by method and final status",
        m.rpc_calls.clone(),
    );
    registry.register(
        "rpc_duration_seconds",
        "gRPC call latency until the response headers, by method and status",
        m.rpc_seconds.clone(),
    );
    registry.register(
        "store_flush_duration_seconds",
        "Time to make one group commit durable (flush)",
        m.flush_seconds.clone(),
    );
    registry.register(
        "audit_writes",
        "Entries appended to the audit log since the node started",
        m.audit_writes.clone(),
    );
    registry.register(
        "sync_rejected_by_reason",
        "Records refused from a partner since the node started, by reason class",
        m.rejected.clone(),
    );
    registry.register(
        "heads_refused",
        "Signed log heads from a partner refused or not kept, by reason: invalid, unknown_origin, excess (over 64 a batch), conflict (first proof of an equivocation), conflict_repeat, book_full",
        m.heads_refused.clone(),
    );
    registry.register(
        "partner_head",
        "The partner's change-log position as its last sync batch announced it",
        m.partner_head.clone(),
    );
    if let Some(node) = node {
        registry.register_collector(Box::new(state::NodeState::new(node)));
    }
    registry
}

/// The metrics in the Prometheus text format.
pub(crate) fn render(registry: &Registry) -> String {
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, registry).is_err() {
        text.clear();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_names_every_family() {
        flush_observed(Duration::from_millis(3));
        audit_written();
        rpc_finished(
            "/liaison.v1.Analyst/Search".into(),
            "Ok".into(),
            Duration::from_millis(2),
        );
        let text = render(&registry(None));
        for name in [
            "liaison_rpc_requests_total{method=\"/liaison.v1.Analyst/Search\",status=\"Ok\"}",
            "liaison_rpc_duration_seconds_bucket",
            "liaison_store_flush_duration_seconds_count",
            "liaison_audit_writes_total",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }

    #[test]
    fn lag_is_the_announced_head_past_our_cursor_and_zero_before_one() {
        assert_eq!(lag_behind(None, 7), 0);
        assert_eq!(lag_behind(Some(10), 7), 3);
        assert_eq!(lag_behind(Some(7), 7), 0);
        // A head behind our cursor (the partner restored a backup) is no lag.
        assert_eq!(lag_behind(Some(5), 7), 0);
        let partner = liaison_core::record::NodeId([0x5a; 32]);
        assert_eq!(partner_lag(&partner, 4), 0);
        partner_head(&partner, 9);
        assert_eq!(partner_lag(&partner, 4), 5);
    }

    #[test]
    fn refusals_read_back_by_reason_for_their_partner_only() {
        let partner = liaison_core::record::NodeId([0x6b; 32]);
        let other = liaison_core::record::NodeId([0x6c; 32]);
        assert!(rejected_by_reason_of(&partner).is_empty());
        rejected(&partner, &BTreeMap::from([("signature".to_string(), 2)]));
        count_rejected(&partner, "signature", 1);
        count_rejected(&partner, "oversized", 4);
        count_rejected(&other, "malformed", 1);
        assert_eq!(
            rejected_by_reason_of(&partner),
            BTreeMap::from([("oversized".to_string(), 4), ("signature".to_string(), 3)])
        );
    }
}
