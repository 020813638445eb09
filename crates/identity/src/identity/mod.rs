//! The node's identity: its Ed25519 signing key (the node id), its TLS key and
//! certificate, the local CA for the agency's own users, and the self-signed
//! enrollment bundle partners import.
//!
//! This module owns key files and their permissions. It must never log or print
//! a private key, and never overwrite an existing node.

mod bundle;
mod certs;
mod error;
mod files;
mod node_identity;
mod pairs;
mod rotation;
mod rotation_guard;

pub use bundle::{Bundle, BundleError};
pub use certs::{
    cert_summary, issue_client_cert, issue_client_cert_for_days, renew_ca_cert, CertSummary,
    ClientCert, Role, NODE_CERT_NAME,
};
pub use error::IdentityError;
pub use files::{read_pem_cert, read_pem_key, write_private, write_public, NodeDir, KEY_FOLDERS};
pub use node_identity::{cert_pin, fingerprint, NodeIdentity};
pub use pairs::check_key_pairs;
pub use rotation::{
    load_rotation, promote_staged_tls, sign_rotation, stage_tls_rotation, verify_rotation,
    Rotation, RotationConfig, RotationFile, VerifiedRotation, MAX_GRACE_MS,
};
pub use rotation_guard::{check_rotation, would_lock_out, Enrolled};
