//! The store's events for whoever counts them: the node installs one
//! [`Telemetry`] at start (its Prometheus counters), and the store and the audit
//! writer report through [`emit`]. Without one installed, events are dropped.
//!
//! This module must never decide anything, block, or let a caller-chosen string
//! become more than the short reason class it is given.

use std::sync::OnceLock;
use std::time::Duration;

use liaison_core::record::NodeId;

/// Receives the store's events; every method defaults to doing nothing.
pub trait Telemetry: Send + Sync {
    /// `_records` records from `_peer` were refused, for the reason class `_class`.
    fn rejected(&self, _peer: &NodeId, _class: &str, _records: u64) {}
    /// One group commit reached the disk in `_took`.
    fn flush_observed(&self, _took: Duration) {}
    /// One audit entry was written.
    fn audit_written(&self) {}
}

static INSTALLED: OnceLock<&'static dyn Telemetry> = OnceLock::new();

/// Installs the process's telemetry; the first call wins (one per process).
pub fn install(telemetry: &'static dyn Telemetry) {
    let _ = INSTALLED.set(telemetry);
}

/// The installed telemetry, or one that drops every event.
pub fn emit() -> &'static dyn Telemetry {
    struct Dropped;
    impl Telemetry for Dropped {}
    INSTALLED.get().copied().unwrap_or(&Dropped)
}
