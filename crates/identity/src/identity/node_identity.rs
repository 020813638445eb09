//! The node's identity as loaded (its signing key, TLS key and certificate, and
//! the local CA's certificate), and the fingerprint read aloud at enrollment. This
//! module must never print or log a private key.

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use liaison_core::record::NodeId;

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
