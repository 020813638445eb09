//! Liaison: a federated, signed indicator-sharing node for law-enforcement agencies.
//!
//! Each agency runs one node. The node signs the indicator records it originates
//! with the agency's Ed25519 key, stores them in a local database, serves them to
//! its own analysts over mutually authenticated gRPC, and exchanges them with
//! enrolled partner agencies, enforcing TLP 2.0 and handling codes itself.
//!
//! # Layout
//!
//! - [`indicator`]: kinds of indicator and the normalisation of raw input.
//! - [`record`]: signed records: ids, markings, envelopes, wire conversion.
//! - [`store`]: durable storage behind our own interface (sled inside), group commit.
//! - [`identity`]: keys, certificates, the node directory, enrollment bundles.
//! - [`tls`]: rustls verifiers (partner pins, local CA) and caller principals.
//! - [`policy`]: who may receive which record (TLP, handling, relay), and
//!   [`policy::disclose`], the one decision every disclosure path asks.
//! - [`disclosure`]: the node's facts for that decision (expiry, revocation, platform
//!   hold, blocked origin), read once per pass by a [`disclosure::Judge`].
//! - [`correlation`]: which agencies hold or sighted a value, from the indexes.
//! - [`retention`]: purging records past their valid-until.
//! - [`node`]: the running node's shared state and the publish path.
//! - [`bulletin`]: signed bulletins grouping indicators; member commitments and their openings.
//! - [`bulk`]: publishing a chunk of drafts in one durable write (import, `PublishBatch`).
//! - [`listing`]: what the node holds, newest first, by pages over the change log.
//! - [`service`]: the gRPC services (Analyst, Admin, Federation).
//! - [`sync`]: pulling records from partners.
//! - [`federated`]: asking every partner a search in parallel, within a deadline.
//! - [`audit`]: the append-only audit log (hash chain, signed checkpoints), its queries,
//!   signed receipts and signed log heads.
//! - [`server`]: the listener, TLS accept loop (bounded handshakes and connections), shutdown.
//! - [`limits`]: rate limits per partner and per client certificate, one Pull stream per partner.
//! - [`channel`]: dialling a partner or the node over pinned mTLS (tonic channels).
//! - [`client`]: connecting to a node as its admin/analyst (used by the CLI).
//! - [`cli`], [`demo`], [`bench`]: the `liaison` command; [`lab`]: throwaway loopback nodes for demo and bench.
//! - [`config`], [`error`]: settings file and the error type.
//! - [`untrusted`]: rules for outside text (no control characters) and how it is quoted and shown.
//! - [`formats`]: CSV, MISP and STIX 2.1 files ↔ import items and exported records (pure, streaming).
//! - [`names`]: how an origin agency is named to this node's people ("Name (via Relay)").
//! - [`metrics`]: Prometheus counters, histograms and scrape-time figures, and their plain-HTTP endpoint.
//! - [`backup`]: backup files (database snapshot, audit log, config, encrypted keys) and restore.
//! - [`ops`]: `liaison doctor`'s checks (permissions, certificate expiry, database, partners).
//! - [`http`]: TAXII 2.1 and a MISP feed over the node's own TLS port, beside gRPC.
//! - [`lookup`]: private hit/no-hit lookups (VOPRF, signed binary fuse filters).
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
        let line = $crate::untrusted::escape(&format!($($arg)*));
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }};
}

pub mod accountability;
pub mod backup;
pub mod bench;
pub mod bulk;
pub mod bulletin;
pub mod channel;
pub mod cli;
pub mod client;
pub mod config;
pub mod correlation;
pub mod demo;
pub mod disclosure;
pub mod error;
pub mod federated;
pub mod http;
pub mod lab;
pub mod limits;
pub mod listing;
pub mod lookup;
pub mod metrics;
pub mod names;
pub mod node;
pub mod ops;
pub mod platform;
pub mod retention;
pub mod server;
pub mod service;
pub mod sync;
pub mod warninglist;

/// Generated protobuf and gRPC types: the wire contract from `proto/`, built
/// in the `liaison-proto` crate.
pub use liaison_proto as proto;

// The pure core, under the paths the rest of this crate has always used.
pub use liaison_core::{formats, indicator, now_ms, policy, record, untrusted};
pub use liaison_identity::{identity, tls};
pub use liaison_store::{audit, store};

pub use error::{Error, Result};
