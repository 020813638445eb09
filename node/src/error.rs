//! The node's error type and its single mapping to gRPC statuses.
//!
//! Every failure a client can see passes through `From<Error> for tonic::Status`,
//! with a message the user can act on. Internal details (paths, sled errors) are
//! logged, not sent to remote peers.

use crate::identity::{BundleError, IdentityError};
use crate::indicator::IndicatorError;
use crate::record::RecordError;
use crate::store::StoreError;

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
    #[error(transparent)]
    RateLimited(#[from] crate::limits::RateLimited),
    #[error(transparent)]
    Lookup(#[from] crate::lookup::LookupError),
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> tonic::Status {
        use tonic::Status;
        match &error {
            Error::Indicator(e) => Status::invalid_argument(format!("{}: {e}", e.field())),
            Error::Record(_) | Error::Bundle(_) | Error::InvalidRequest(_) => {
                Status::invalid_argument(error.to_string())
            }
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::PermissionDenied(_) => Status::permission_denied(error.to_string()),
            Error::Conflict(_) => Status::already_exists(error.to_string()),
            Error::RateLimited(_) => Status::resource_exhausted(error.to_string()),
            Error::Lookup(e) => lookup_status(e),
            Error::Identity(IdentityError::RotationPending { .. }) => {
                Status::failed_precondition(error.to_string())
            }
            Error::ShuttingDown
            | Error::Store(StoreError::Closed)
            | Error::Store(StoreError::Stopped(_)) => Status::unavailable(error.to_string()),
            Error::Store(_) | Error::Identity(_) | Error::Tls(_) | Error::Audit(_) => {
                tracing::error!(%error, "internal error");
                Status::internal("internal storage or configuration error on the node; its operator can see details in its log")
            }
        }
    }
}

fn lookup_status(error: &crate::lookup::LookupError) -> tonic::Status {
    use crate::lookup::LookupError;
    match error {
        LookupError::Invalid(_) => tonic::Status::invalid_argument(error.to_string()),
        LookupError::Untrusted(_) => tonic::Status::failed_precondition(error.to_string()),
        LookupError::QuotaExhausted(_) => tonic::Status::resource_exhausted(error.to_string()),
        LookupError::Key { .. } => {
            tracing::error!(%error, "internal error");
            tonic::Status::internal("internal storage or configuration error on the node; its operator can see details in its log")
        }
    }
}

impl From<crate::tls::TlsError> for Error {
    fn from(error: crate::tls::TlsError) -> Error {
        match error {
            crate::tls::TlsError::Setup(reason) => Error::Tls(reason),
            crate::tls::TlsError::Denied(reason) => Error::PermissionDenied(reason),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
