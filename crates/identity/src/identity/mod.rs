//! The node's identity: its Ed25519 signing key (the node id), its TLS key and
//! certificate, the local CA for the agency's own users, and the self-signed
//! enrollment bundle partners import.
//!
//! This module owns key files and their permissions. It must never log or print
//! a private key, and never overwrite an existing node.

mod bundle;
mod certs;
mod files;
mod pairs;
mod rotation;
mod rotation_guard;

pub use bundle::{Bundle, BundleError};
pub use certs::{
    cert_summary, issue_client_cert, issue_client_cert_for_days, renew_ca_cert, CertSummary,
    ClientCert, Role, NODE_CERT_NAME,
};
pub use files::{read_pem_cert, read_pem_key, write_private, write_public, NodeDir, KEY_FOLDERS};
pub use pairs::check_key_pairs;
pub use rotation::{
    load_rotation, promote_staged_tls, sign_rotation, stage_tls_rotation, verify_rotation,
    Rotation, RotationConfig, RotationFile, VerifiedRotation, MAX_GRACE_MS,
};
pub use rotation_guard::{check_rotation, would_lock_out, Enrolled};

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use liaison_core::record::NodeId;

/// Identity failures.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0} already holds a node; refusing to overwrite it (choose another --dir)")]
    AlreadyExists(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    #[error("invalid configuration in {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("{cert} does not match {key}: the certificate was replaced (by a tampered backup or an edit); put back the certificate issued for that key, or restore from a backup whose signature you checked")]
    KeyMismatch { cert: String, key: String },
    #[error("refusing to rotate the TLS certificate: the last rotation has not reached {partners} yet, and a new one now would lock them out (they would have to enroll this node again). Wait until they connect and acknowledge it (`liaison doctor` shows who is still waiting) or until its grace period ends at {until}, or run `liaison identity rotate-tls --force` to rotate anyway and lock them out")]
    RotationPending { partners: String, until: String },
}

/// Everything a running node needs from its directory, loaded once.
pub struct NodeIdentity {
    pub name: String,
    pub signing_key: SigningKey,
    pub tls_cert_der: Vec<u8>,
    pub tls_key_der: Vec<u8>,
    pub ca_cert_der: Vec<u8>,
}

impl NodeIdentity {
    pub fn node_id(&self) -> NodeId {
        NodeId(self.signing_key.verifying_key().to_bytes())
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.node_id(), &self.tls_cert_der)
    }
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately omits every private key.
        f.debug_struct("NodeIdentity")
            .field("name", &self.name)
            .field("node_id", &self.node_id())
            .finish_non_exhaustive()
    }
}

/// Short, human-comparable fingerprint of a node id and its TLS certificate:
/// five groups of five digits, read aloud over the phone when enrolling.
pub fn fingerprint(node_id: &NodeId, tls_cert_der: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"liaison/v1/fingerprint\0");
    hasher.update(node_id.0);
    hasher.update(tls_cert_der);
    let digest = hasher.finalize();
    digest[..15]
        .chunks(3)
        .map(|c| {
            format!(
                "{:05}",
                (u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2])) % 100_000
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hex SHA-256 of a DER certificate: the TLS pin.
pub fn cert_pin(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}
