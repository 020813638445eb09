//! The node's error type: every failure of the node's operations, with a
//! message the user can act on. The servers map it to what their clients see
//! (one mapping to gRPC statuses, `liaison_server::status`); this module must
//! never know about a wire status.

use liaison_core::indicator::IndicatorError;
use liaison_core::record::RecordError;
use liaison_identity::identity::{BundleError, IdentityError};
use liaison_store::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Indicator(#[from] IndicatorError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no record {0}")]
    NotFound(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the node is shutting down; retry shortly")]
    ShuttingDown,
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("audit log write failed, action not taken: {0}")]
    Audit(String),
    /// The partner speaks a protocol version this node does not (the handshake).
    #[error("{0}")]
    Incompatible(String),
    #[error(transparent)]
    RateLimited(#[from] crate::limits::RateLimited),
    #[error(transparent)]
    Lookup(#[from] liaison_core::lookup::LookupError),
}

impl From<liaison_identity::tls::TlsError> for Error {
    fn from(error: liaison_identity::tls::TlsError) -> Error {
        match error {
            liaison_identity::tls::TlsError::Setup(reason) => Error::Tls(reason),
            liaison_identity::tls::TlsError::Denied(reason) => Error::PermissionDenied(reason),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
