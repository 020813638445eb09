//! Liaison's durable storage: everything the node keeps on disk that is not a
//! key file.
//!
//! The record store keeps records, their indexes and the change log in sled
//! behind this crate's own interface, and acknowledges a write only after it is
//! durable (group commit). The audit log is an append-only file of hash-chained
//! entries with signed checkpoints. This crate must never let a sled type escape
//! its interface, never rewrite the audit log, never count its events itself
//! (they go through `liaison_core::telemetry`), and never take a sharing decision
//! (that is `liaison_core::policy`'s, asked by the node).
//!
//! # Layout
//!
//! - [`store`]: the record store (records, indexes, change log, partners,
//!   pending sets, bulletins' openings, warninglists, snapshots).
//! - [`audit`]: the audit log (append, writer thread, checkpoints, verification,
//!   queries, reports, receipts' format).
#![forbid(unsafe_code)]

pub mod audit;
pub mod store;
