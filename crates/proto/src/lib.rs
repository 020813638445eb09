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
//!   both ends of a connection enforce.
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
