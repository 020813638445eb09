//! Enrollment bundles: what an agency hands a partner so the partner can pin it.
//! Self-signed with the node's Ed25519 key; written to a file as PEM
//! ("LIAISON BUNDLE") so it survives e-mail and copy-paste.

use ed25519_dalek::{Signature, Signer, VerifyingKey};
use prost::Message;

use super::node_identity::{cert_pin, fingerprint, NodeIdentity};
use liaison_core::proto;
use liaison_core::record::NodeId;

const SIGNING_PREFIX: &[u8] = b"liaison/v1/bundle\0";
const PEM_TAG: &str = "LIAISON BUNDLE";
const MAX_BUNDLE_BYTES: usize = 16 * 1024;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BundleError {
    #[error("not a Liaison enrollment bundle: {0}")]
    Malformed(String),
    #[error("the bundle's signature does not verify: it was altered or not made by `liaison identity export`")]
    BadSignature,
}

/// A verified enrollment bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub name: String,
    pub node_id: NodeId,
    pub tls_cert_der: Vec<u8>,
    pub endpoints: Vec<String>,
    pub created_ms: i64,
    /// The encoded SignedBundle, kept verbatim to pass on.
    pub signed: Vec<u8>,
}

impl Bundle {
    /// Makes and signs this node's bundle.
    pub fn create(identity: &NodeIdentity, endpoints: Vec<String>, created_ms: i64) -> Bundle {
        let inner = proto::Bundle {
            name: identity.name.clone(),
            node_id: identity.node_id().0.to_vec(),
            tls_cert_der: identity.tls_cert_der.clone(),
            endpoints: endpoints.clone(),
            created_unix_ms: created_ms,
        }
        .encode_to_vec();
        let signature = identity
            .signing_key
            .sign(&[SIGNING_PREFIX, &inner].concat());
        let signed = proto::SignedBundle {
            bundle: inner,
            signature: signature.to_bytes().to_vec(),
            signer: identity.node_id().0.to_vec(),
        }
        .encode_to_vec();
        Bundle {
            name: identity.name.clone(),
            node_id: identity.node_id(),
            tls_cert_der: identity.tls_cert_der.clone(),
            endpoints,
            created_ms,
            signed,
        }
    }

    /// Verifies the signature over the exact bundle bytes, then decodes them.
    pub fn from_signed(bytes: &[u8]) -> Result<Bundle, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::Malformed(format!(
                "{} bytes is over the {MAX_BUNDLE_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let outer = proto::SignedBundle::decode(bytes)
            .map_err(|e| BundleError::Malformed(e.to_string()))?;
        let signer: [u8; 32] = outer
            .signer
            .as_slice()
            .try_into()
            .map_err(|_| BundleError::Malformed("signer is not 32 bytes".into()))?;
        let signature: [u8; 64] = outer
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| BundleError::Malformed("signature is not 64 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&signer).map_err(|_| BundleError::BadSignature)?;
        if key.is_weak() {
            return Err(BundleError::BadSignature);
        }
        key.verify_strict(
            &[SIGNING_PREFIX, &outer.bundle].concat(),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| BundleError::BadSignature)?;
        let inner = proto::Bundle::decode(outer.bundle.as_slice())
            .map_err(|e| BundleError::Malformed(e.to_string()))?;
        if inner.node_id != outer.signer {
            return Err(BundleError::Malformed(
                "node id differs from the signing key".into(),
            ));
        }
        if inner.name.trim().is_empty() || inner.tls_cert_der.is_empty() {
            return Err(BundleError::Malformed(
                "name or TLS certificate missing".into(),
            ));
        }
        check_bundle_text(&inner)?;
        x509_parser::parse_x509_certificate(&inner.tls_cert_der)
            .map_err(|_| BundleError::Malformed("TLS certificate does not parse".into()))?;
        Ok(Bundle {
            name: inner.name,
            node_id: NodeId(signer),
            tls_cert_der: inner.tls_cert_der,
            endpoints: inner.endpoints,
            created_ms: inner.created_unix_ms,
            signed: bytes.to_vec(),
        })
    }

    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new(PEM_TAG, self.signed.clone()))
    }

    pub fn from_pem(text: &str) -> Result<Bundle, BundleError> {
        let parsed = pem::parse(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
        if parsed.tag() != PEM_TAG {
            return Err(BundleError::Malformed(format!(
                "expected a {PEM_TAG} block, found {}",
                parsed.tag()
            )));
        }
        Bundle::from_signed(parsed.contents())
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.node_id, &self.tls_cert_der)
    }

    pub fn tls_pin(&self) -> String {
        cert_pin(&self.tls_cert_der)
    }
}

/// Longest agency name, and most endpoints, a bundle may carry.
const MAX_NAME_CHARS: usize = 200;
const MAX_ENDPOINTS: usize = 16;

/// A partner's name and endpoints are shown to admins and analysts: printable,
/// one line, bounded.
fn check_bundle_text(inner: &proto::Bundle) -> Result<(), BundleError> {
    use liaison_core::untrusted::{check_text, Lines};
    let malformed =
        |field: &str, reason: String| BundleError::Malformed(format!("{field}: {reason}"));
    if inner.name.chars().count() > MAX_NAME_CHARS {
        return Err(malformed(
            "name",
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    check_text(&inner.name, Lines::Single).map_err(|r| malformed("name", r))?;
    if inner.endpoints.len() > MAX_ENDPOINTS {
        return Err(malformed("endpoints", format!("more than {MAX_ENDPOINTS}")));
    }
    for endpoint in &inner.endpoints {
        if endpoint.len() > 300 {
            return Err(malformed(
                "endpoints",
                "an endpoint longer than 300 bytes".into(),
            ));
        }
        check_text(endpoint, Lines::Single).map_err(|r| malformed("endpoints", r))?;
    }
    Ok(())
}
