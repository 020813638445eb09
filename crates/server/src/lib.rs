//! Liaison's servers: the node's gRPC services, its HTTP surfaces (TAXII 2.1, a
//! MISP feed) and its metrics endpoint, on one TLS listener with bounded
//! handshakes; plus the operator's tools that need the whole node (backups,
//! `doctor`'s checks) and the assembled `config.toml`.
//!
//! Services are thin: they check the caller, convert the request, call the node
//! and map its errors through the one [`status::status`]. This crate must never
//! take a policy decision (the node asks `liaison_core::policy`).
//!
//! # Layout
//!
//! - [`server`]: the listener, TLS accept loop (bounded handshakes and connections), shutdown;
//!   `server::run` is the testable entry point.
//! - [`service`]: the gRPC services (Analyst, Admin, Federation) and per-call authorization.
//! - [`status`]: the one mapping from the node's errors to gRPC statuses.
//! - [`http`]: TAXII 2.1 and a MISP feed over the node's own TLS port, beside gRPC.
//! - [`metrics`]: Prometheus counters (the runtime's telemetry), scrape-time figures,
//!   and their plain-HTTP endpoint.
//! - [`config`]: the whole `config.toml` (the node's settings and the server's tables),
//!   and setting up a node directory.
//! - [`backup`]: backup files (database snapshot, audit log, config, encrypted keys) and restore.
//! - [`ops`]: `liaison doctor`'s checks (permissions, certificate expiry, database, partners).
#![forbid(unsafe_code)]

pub mod backup;
pub mod config;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod server;
pub mod service;
pub mod status;
