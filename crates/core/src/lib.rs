//! Liaison's pure core: what an indicator is, what a signed record is, who may
//! receive it, and how it is written in other tools' formats.
//!
//! Everything here is a function of its inputs (times are passed in; [`now_ms`]
//! is the one clock reading, offered to the layers above). This crate must never
//! do I/O or depend on an async runtime, the store, or a network stack (tokio,
//! sled, tonic, axum, hyper): the node, the store and the servers build on it,
//! never the other way round.
//!
//! # Layout
//!
//! - [`untrusted`]: rules for outside text (no control characters) and how it is quoted and shown.
//! - [`indicator`]: kinds of indicator and the normalisation of raw input.
//! - [`record`]: signed records: ids, markings, envelopes, wire conversion, size bounds.
//! - [`bulletin`]: member commitments of signed bulletins and their openings.
//! - [`policy`]: who may receive which record (TLP, handling, relay), and
//!   [`policy::disclose`], the one decision every disclosure path asks.
//! - [`formats`]: CSV, MISP and STIX 2.1 files ↔ import items and exported records (streaming),
//!   and the report of what an import does not carry (`formats::loss`).
//! - `cli_names` (feature `clap`): the command line's names for these enumerations.
//! - [`lookup`]: the cryptography of private lookups (VOPRF, signed binary fuse filters, epochs).
//! - [`telemetry`]: the events the layers above report, and the one hook that counts them.
#![forbid(unsafe_code)]

pub mod bulletin;
#[cfg(feature = "clap")]
pub mod cli_names;
pub mod formats;
pub mod indicator;
pub mod lookup;
pub mod policy;
pub mod record;
pub mod telemetry;
pub mod untrusted;

/// Generated protobuf types: the wire contract from `proto/`.
pub use liaison_proto as proto;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
