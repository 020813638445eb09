//! Liaison: a federated, signed indicator-sharing node for law-enforcement
//! agencies. This crate is the `liaison` command: the CLI, the loopback demo, the
//! benchmarks, throwaway lab nodes and the client the CLI uses to call a node.
//!
//! The layers below it are crates of their own, each depending only on those
//! beneath (docs/ARCHITECTURE.md draws the graph):
//!
//! ```text
//! liaison (this crate: cli, console, demo, bench, lab, client)
//!   └─ liaison-server   gRPC services, TAXII / MISP feed, metrics, backups, config.toml
//!        └─ liaison-node     the running node: publish, sync, bulletins, lookups, heads
//!             └─ liaison-store    records (sled) and the audit log
//!                  └─ liaison-identity  keys, certificates, rotation, TLS trust rules
//!                       └─ liaison-core      indicators, records, policy, formats, lookup crypto
//!                            └─ liaison-proto     the generated wire contract
//! ```
//!
//! No library crate imports this one. Its modules re-export the layers' modules
//! under `liaison::…` for the black-box tests and scripts that drive a node.
//!
//! # Layout
//!
//! - [`cli`]: the `liaison` command's parsing and subcommands.
//! - [`client`]: connecting to a node as its admin or an analyst.
//! - [`console`]: `liaison console`, the analyst console in a browser.
//! - [`demo`]: `liaison demo`, a small federation on loopback.
//! - [`bench`]: `liaison bench`, the benchmarks behind docs/BENCHMARKS.md.
//! - [`lab`]: throwaway loopback nodes for the demo and the benchmarks.
#![forbid(unsafe_code)]

/// `println!` for command output that tolerates a closed pipe (`liaison … | head`):
/// the rest of the output is dropped instead of panicking. Control characters
/// (partner-controlled names and text) are escaped, never sent to the terminal.
macro_rules! out {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = ::liaison_core::untrusted::escape(&format!($($arg)*));
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }};
}

pub mod bench;
pub mod cli;
pub mod client;
pub mod console;
pub mod demo;
pub mod lab;

/// Generated protobuf and gRPC types: the wire contract from `proto/`.
pub use liaison_proto as proto;

// The layers' modules under the paths the tests and scripts use.
pub use liaison_core::{formats, indicator, now_ms, policy, record, telemetry, untrusted};
pub use liaison_identity::{identity, tls};
pub use liaison_node::{
    accountability, bulk, bulletin, channel, correlation, disclosure, error, federated, limits,
    listing, lookup, names, node, platform, retention, sync, warninglist, Error, Result,
};
pub use liaison_server::{backup, config, http, metrics, ops, server, service, status};
pub use liaison_store::{audit, store};
