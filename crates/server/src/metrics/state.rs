//! Figures read from the running node at each scrape: what it holds and where
//! each partner's sync stands. They come from the same store reads as
//! `partner list` (a few keyed reads per partner), so a scrape costs little and
//! never scans the records.
//!
//! This module must never write: a scrape may not change the node.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use liaison_core::record::NodeId;
use liaison_node::node::Node;
use liaison_node::partner_state::PartnerState;

/// The scrape-time collector; holds the node for as long as the endpoint runs.
pub(super) struct NodeState {
    node: Arc<Node>,
}

impl std::fmt::Debug for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeState")
    }
}

impl NodeState {
    pub(super) fn new(node: Arc<Node>) -> NodeState {
        NodeState { node }
    }
}

/// One partner's figures at scrape time.
struct PartnerFigures {
    id: String,
    cursor: u64,
    lag: u64,
    received: u64,
    rejected: u64,
    pending: u64,
    state: &'static str,
}

impl NodeState {
    fn partners(&self) -> Vec<PartnerFigures> {
        let Ok(partners) = self.node.store.partners() else {
            return Vec::new();
        };
        partners
            .into_iter()
            .map(|(id, _)| {
                let sync = self.node.store.sync_state(&id).unwrap_or_default();
                PartnerFigures {
                    id: id.to_hex(),
                    cursor: sync.cursor,
                    lag: super::partner_lag(&id, sync.cursor),
                    received: sync.received,
                    rejected: sync.rejected,
                    pending: sync.pending,
                    state: self.node.partner_state(&id).label(),
                }
            })
            .collect()
    }

    /// Every origin the node may hold records of: itself, partners, known origins.
    fn origins(&self) -> Vec<NodeId> {
        let mut origins = vec![self.node.node_id()];
        origins.extend(self.node.partner_ids());
        if let Ok(known) = self.node.store.known_origins() {
            origins.extend(
                known
                    .iter()
                    .filter_map(|k| k.node_id.parse::<NodeId>().ok()),
            );
        }
        origins.sort_by_key(|o| o.to_hex());
        origins.dedup();
        origins
    }
}

fn gauge(value: u64) -> ConstGauge {
    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX))
}

type PerPartner = fn(&PartnerFigures) -> u64;

impl NodeState {
    /// The private-lookup filters: ready for the epoch now, or building.
    fn encode_lookup(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let epoch = liaison_node::lookup::epoch::Epoch::at(
            liaison_core::now_ms(),
            self.node.config.lookup.epoch_hours,
        );
        let status = self.node.lookup.server.status(epoch.number);
        let figures: [(&str, &str, u64); 6] = [
            ("lookup_filter_epoch", "The key epoch now (private lookups)", status.epoch),
            ("lookup_filter_ready", "1 when this epoch's lookup filters are built (a partner's first lookup does not wait for a build)", u64::from(status.is_ready())),
            ("lookup_filter_values", "Values in the widest lookup filter served (0 before the first build)", status.ready.map_or(0, |(_, v)| v as u64)),
            ("lookup_filter_next_ready", "1 when the next epoch's lookup filters are built ahead of the turn", u64::from(status.next_ready.is_some_and(|n| n > status.epoch))),
            ("lookup_filter_build_done", "Change-log entries read by the lookup filter build under way (0 when none runs)", status.building.map_or(0, |b| b.done)),
            ("lookup_filter_build_total", "Records to read by the lookup filter build under way (0 when none runs)", status.building.map_or(0, |b| b.total)),
        ];
        for (name, help, value) in figures {
            gauge(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

impl Collector for NodeState {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let held = gauge(self.node.store.record_count());
        held.encode(encoder.encode_descriptor(
            "records_held",
            "Records stored on this node (live and revoked, all origins)",
            None,
            MetricType::Gauge,
        )?)?;

        let mut family = encoder.encode_descriptor(
            "origin_sequence",
            "Highest sequence stored from each origin agency (this node, partners, origins known via relays)",
            None,
            MetricType::Gauge,
        )?;
        for origin in self.origins() {
            let sequence = self.node.store.origin_sequence(&origin).unwrap_or(0);
            let labels = [("origin", origin.to_hex())];
            gauge(sequence).encode(family.encode_family(&labels)?)?;
        }

        // Exact: per-origin counters moved with each record write and purge
        // (store/held.rs), read without scanning the records.
        let mut family = encoder.encode_descriptor(
            "records_held_by_origin",
            "Records stored on this node from each origin agency (this node, partners, origins known via relays)",
            None,
            MetricType::Gauge,
        )?;
        for (origin, held) in self.node.store.held_by_origins().unwrap_or_default() {
            let labels = [("origin", origin.to_hex())];
            gauge(held).encode(family.encode_family(&labels)?)?;
        }

        let partners = self.partners();
        let gauges: [(&str, &str, PerPartner); 3] = [
            ("partner_cursor", "Our position in the partner's change log (durable)", |p| p.cursor),
            ("partner_sync_lag", "Change-log entries the partner holds past our cursor (its head as last announced minus our cursor)", |p| p.lag),
            ("partner_records_pending", "Records from the partner waiting in its pending set for a retry", |p| p.pending),
        ];
        for (name, help, value) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for p in &partners {
                gauge(value(p)).encode(family.encode_family(&[("partner", p.id.as_str())])?)?;
            }
        }
        let counters: [(&str, &str, PerPartner); 2] = [
            ("partner_records_received", "Records accepted from the partner (persisted total)", |p| p.received),
            ("partner_records_rejected", "Records refused from the partner (persisted total; reasons in liaison_sync_rejected_by_reason_total)", |p| p.rejected),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for p in &partners {
                ConstCounter::new(value(p))
                    .encode(family.encode_family(&[("partner", p.id.as_str())])?)?;
            }
        }

        self.encode_lookup(&mut encoder)?;

        let mut family = encoder.encode_descriptor(
            "partner_connection",
            "1 for the partner's current sync connection state (connected, connecting, or why not: not_enrolled, revoked, …), 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for p in &partners {
            for state in PartnerState::ALL.map(PartnerState::label) {
                let labels = [("partner", p.id.as_str()), ("state", state)];
                gauge(u64::from(p.state == state)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
