//! Liaison's wire contract as Rust: the messages, clients and servers generated
//! from `proto/liaison/v1/*.proto` (the one source for every client in every
//! language), their proto3 JSON mapping, and the encoded descriptor set that
//! gRPC reflection serves.
//!
//! # Layout
//!
//! - the `liaison.v1` package's generated code, at the crate root;
//! - [`FILE_DESCRIPTOR_SET`]: every file's descriptor, for reflection;
//! - [`MAX_REQUEST_BYTES`], [`MAX_SYNC_MESSAGE_BYTES`]: the message size limits
//!   both ends of a connection enforce;
//! - [`PROTOCOL_VERSION`], [`FEATURES`], [`FIRST_RELEASE_FEATURES`]: what this
//!   build states in the federation handshake (docs/PROTOCOL.md, "Versions").
//!
//! Must never hold logic: domain types and their conversions live above it
//! (`liaison_core::record::wire`, the server's `service::convert`), so the generated code
//! can be regenerated at will.
#![forbid(unsafe_code)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/liaison.v1.rs"));
// serde impls in the canonical proto3 JSON mapping (pbjson-build), for `--json`.
include!(concat!(env!("OUT_DIR"), "/liaison.v1.serde.rs"));

/// The encoded descriptor set of every Liaison proto file (for reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/liaison_descriptor.bin"));

/// Largest request any service decodes.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Largest message a sync stream carries (a batch of records).
pub const MAX_SYNC_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// The federation protocol's major version: it changes only with a
/// wire-breaking change (an additive field or call never changes it; those are
/// named in [`FEATURES`]). Stated in `PingResponse` and `PullRequest`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The names of the optional parts of the federation protocol.
pub mod feature {
    /// Bulletin bodies in Pull batches and their member openings.
    pub const BULLETINS: &str = "bulletins";
    /// Private lookups: `GetLookupFilter` and `Evaluate`.
    pub const LOOKUPS: &str = "lookups";
    /// Signed receipts for served batches: `Acknowledge`.
    pub const RECEIPTS: &str = "receipts";
    /// Signed log heads and their gossip in Pull batches.
    pub const HEADS: &str = "heads";
    /// Indicators of kind `network` (CIDR ranges, `IndicatorKind` 14).
    pub const KINDS_NETWORK: &str = "kinds.network";
    /// Indicators of kind `file-hash` (`IndicatorKind` 15).
    pub const KINDS_FILE_HASH: &str = "kinds.file-hash";
    /// Wallets of the coins after release 0.1.0's Bitcoin, Ethereum and Tron
    /// (Litecoin, Bitcoin Cash, Monero, Dogecoin, Dash, Solana).
    pub const WALLETS_COINS: &str = "wallets.coins";
}

/// The features this build speaks (stated in the handshake).
pub const FEATURES: &[&str] = &[
    feature::BULLETINS,
    feature::LOOKUPS,
    feature::RECEIPTS,
    feature::HEADS,
    feature::KINDS_NETWORK,
    feature::KINDS_FILE_HASH,
    feature::WALLETS_COINS,
];

/// What a partner that states no protocol version (0) and no features speaks:
/// protocol 1 with the features of release 0.1.0, which predates the
/// handshake fields. Never shrink this list: it describes deployed nodes.
pub const FIRST_RELEASE_FEATURES: &[&str] = &[
    feature::BULLETINS,
    feature::LOOKUPS,
    feature::RECEIPTS,
    feature::HEADS,
];
