//! The runtime's events for whoever counts them: the server installs one
//! [`Telemetry`] at start (its Prometheus counters), and the store, the audit
//! writer and the node report through [`emit`], so none of them imports the
//! metrics endpoint. Without one installed, events are dropped.
//!
//! This module must never decide anything, block, or let a caller-chosen string
//! become more than the short reason class it is given.

use std::sync::OnceLock;
use std::time::Duration;

use crate::record::NodeId;

/// Receives the runtime's events; every method defaults to doing nothing.
pub trait Telemetry: Send + Sync {
    /// `_records` records from `_peer` were refused, for the reason class `_class`.
    fn rejected(&self, _peer: &NodeId, _class: &str, _records: u64) {}
    /// One group commit reached the disk in `_took`.
    fn flush_observed(&self, _took: Duration) {}
    /// One audit entry was written.
    fn audit_written(&self) {}
    /// `_peer`'s change-log head, as its latest batch said.
    fn partner_head(&self, _peer: &NodeId, _head: u64) {}
    /// `_peer` is no longer enrolled: drop its per-partner series.
    fn forget_partner(&self, _peer: &NodeId) {}
    /// `_heads` signed heads sent by `_peer` were refused or not kept, for `_reason`.
    fn heads_refused(&self, _peer: &NodeId, _reason: &'static str, _heads: u64) {}
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

/// A bounded label for a rejection reason: the field it names (reasons follow
/// `field: reason`, after an optional `record <id>: ` prefix), else `other`.
pub fn reason_class(reason: &str) -> String {
    let reason = match reason.strip_prefix("record ") {
        Some(rest) => rest.split_once(": ").map(|(_, r)| r).unwrap_or(rest),
        None => reason,
    };
    let field = reason.split_once(':').map(|(f, _)| f.trim()).unwrap_or("");
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
    if !field.is_empty() && field.len() <= 32 && field.chars().all(plain) {
        return field.to_string();
    }
    let lower = reason.to_ascii_lowercase();
    // The refusals sync/verify.rs and policy.rs make without a field name.
    let known = [
        ("malformed envelope", "malformed"),
        ("does not decode", "malformed"),
        ("signature does not verify", "signature"),
        ("weak ed25519", "signature"),
        ("differs from envelope signer", "signer_mismatch"),
        ("exceeds the limit", "oversized"),
        ("without relay rights", "no_relay_rights"),
        ("may not be relayed", "not_relayable"),
        ("unknown origin", "unknown_origin"),
        ("not addressed to this agency", "red_recipient"),
        ("not among its recipients", "red_recipient"),
        ("blocked", "blocked_origin"),
        ("our own record", "own_record"),
        ("batch of", "batch_size"),
        ("does not hold", "missing_target"),
        ("another origin", "wrong_origin"),
    ];
    known
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, class)| class.to_string())
        .unwrap_or_else(|| "other".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_reasons_become_few_stable_classes() {
        assert_eq!(
            reason_class("record 0a1b2c3d: created: 400 s ahead"),
            "created"
        );
        assert_eq!(reason_class("tlp: amber exceeds the grant"), "tlp");
        assert_eq!(
            reason_class("record 0a1b: origin 12ab is blocked by this agency's admin"),
            "blocked_origin"
        );
        assert_eq!(
            reason_class("batch of 9000 records refused: at most 1000 per batch"),
            "batch_size"
        );
        assert_eq!(
            reason_class("record of third-party origin 12ab from a partner without relay rights"),
            "no_relay_rights"
        );
        assert_eq!(
            reason_class("record 0a1b: RED record not addressed to this agency"),
            "red_recipient"
        );
        assert_eq!(
            reason_class("payload of 65537 bytes exceeds the limit of 65536 bytes"),
            "oversized"
        );
        assert_eq!(reason_class("Something \"odd\": with CAPS"), "other");
    }
}
