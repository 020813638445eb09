//! The cryptography of private hit/no-hit lookups (docs/PRIVATE_LOOKUP.md), as
//! pure functions: the VOPRF steps ([`oprf`]), signed binary fuse filters
//! ([`filter`]) and key epochs ([`epoch`]).
//!
//! Serving and asking (quotas, caches, the key file, the RPCs) belong to the
//! node. This module must never do I/O or trust a filter before its signature,
//! digest and epoch are checked.

pub mod epoch;
pub mod filter;
pub mod oprf;

/// Why a lookup step failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// A request or setting is malformed (`field: reason`).
    #[error("{0}")]
    Invalid(String),
    /// A partner's filter or proof does not check out.
    #[error("{0}")]
    Untrusted(String),
    /// The caller has used up its evaluations for today.
    #[error("lookup quota: {0}")]
    QuotaExhausted(String),
    /// The key file could not be read or written.
    #[error("lookup key {path}: {reason}")]
    Key { path: String, reason: String },
}
