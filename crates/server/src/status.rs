//! The one mapping from the node's errors to gRPC statuses, with messages a
//! user can act on. Internal details (paths, sled errors) are logged here, never
//! sent to a remote peer. Every service answers a failure through [`status`];
//! this module must never decide whether a call may proceed.

use liaison_core::lookup::LookupError;
use liaison_identity::identity::IdentityError;
use liaison_node::Error;
use liaison_store::store::StoreError;
use tonic::Status;

/// The one mapping from the node's errors to gRPC statuses: every failure a
/// client sees passes through here.
pub fn status(error: Error) -> Status {
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
        Error::Incompatible(_) => Status::failed_precondition(error.to_string()),
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

fn lookup_status(error: &LookupError) -> Status {
    match error {
        LookupError::Invalid(_) => Status::invalid_argument(error.to_string()),
        LookupError::Untrusted(_) => Status::failed_precondition(error.to_string()),
        LookupError::QuotaExhausted(_) => Status::resource_exhausted(error.to_string()),
        LookupError::Key { .. } => {
            tracing::error!(%error, "internal error");
            Status::internal("internal storage or configuration error on the node; its operator can see details in its log")
        }
    }
}
