//! The gRPC services and the per-call authorization that guards them.
//!
//! Every RPC first derives the caller's [`Principal`] from its TLS certificate and
//! checks it: partners reach only `Federation`, analysts only `Analyst`, admins
//! `Analyst` and `Admin`. This module must never trust a principal named in a
//! request body.
//!
//! The same check admits the call against the caller's rate limit (per partner,
//! per client certificate; see [`liaison_node::limits`]), so every RPC of these three
//! services is covered and only authenticated callers get a bucket.

mod admin;
mod analyst;
mod audit_read;
mod bulk;
mod convert;
pub(crate) mod federation;
mod ops;
mod rotation;
mod search;

pub use admin::AdminService;
pub use analyst::AnalystService;
pub use federation::FederationService;

use tonic::{Request, Status};

use crate::status::status;
use liaison_core::record::NodeId;
use liaison_identity::identity::Role;
use liaison_identity::tls::{principal_of, PinSet, Principal};
use liaison_node::error::Error;
use liaison_node::node::Node;

pub use liaison_core::proto::{MAX_REQUEST_BYTES, MAX_SYNC_MESSAGE_BYTES};

fn caller<T>(node: &Node, request: &Request<T>) -> Result<Principal, Status> {
    let certs = request.peer_certs();
    let chain = certs.as_deref().map(|v| v.as_slice());
    let principal = principal_of(chain, &node.pins, node.local_ca.as_ref())
        .map_err(Error::from)
        .map_err(status)?;
    match &principal {
        Principal::Partner(id) => node
            .limits
            .admit_partner(*id)
            .map_err(Error::from)
            .map_err(status)?,
        Principal::Local { role, .. } => {
            // principal_of succeeded, so the chain has a leaf.
            let leaf = chain.and_then(|c| c.first()).map(|c| c.as_ref());
            let fingerprint = PinSet::pin_of(leaf.unwrap_or_default());
            node.limits
                .admit_client(*role, fingerprint)
                .map_err(Error::from)
                .map_err(status)?
        }
    }
    Ok(principal)
}

/// The caller must be one of the agency's own users with at least `role`.
fn require_local<T>(node: &Node, request: &Request<T>, role: Role) -> Result<Principal, Status> {
    match caller(node, request)? {
        Principal::Local {
            role: Role::Admin,
            name,
        } => Ok(Principal::Local {
            role: Role::Admin,
            name,
        }),
        Principal::Local {
            role: Role::Analyst,
            name,
        } if role == Role::Analyst => Ok(Principal::Local {
            role: Role::Analyst,
            name,
        }),
        Principal::Local { .. } => Err(status(Error::PermissionDenied(
            "this call needs an admin certificate and this one is an analyst's; \
             ask the node's admin for one (`liaison client issue --role admin`)"
                .into(),
        ))),
        Principal::Partner(_) => Err(status(Error::PermissionDenied(
            "partners may only call the Federation service".into(),
        ))),
    }
}

/// The caller must be an enrolled partner.
fn require_partner<T>(node: &Node, request: &Request<T>) -> Result<NodeId, Status> {
    match caller(node, request)? {
        Principal::Partner(id) => Ok(id),
        Principal::Local { .. } => Err(status(Error::PermissionDenied(
            "the Federation service is for enrolled partner nodes".into(),
        ))),
    }
}
