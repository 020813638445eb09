//! TLS 1.3 with client certificates, on both ends, with our own trust rules:
//! a partner is trusted by the pin (SHA-256) of its enrolled certificate; the
//! agency's own users by a certificate from the node's local CA. No other
//! certificate completes a handshake.
//!
//! This module must never accept a certificate without checking it against a pin
//! or the local CA, and never enable TLS 1.2.

mod alerts;
mod client;
mod live;
mod pins;
mod principal;
mod server;

pub use alerts::{alert_received, revoked_by_peer, REVOKED_CLIENT};
pub use client::{client_config, client_config_live};
pub use live::LiveTls;
pub use pins::PinSet;
pub use principal::{principal_of, Principal};
pub use server::{local_ca_verifier, server_config, server_config_live};

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// Why a TLS configuration could not be built, or a caller's certificate is refused.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A key, certificate or rustls setting does not work (the operator's to fix).
    #[error("TLS setup failed: {0}")]
    Setup(String),
    /// The caller's certificate grants nothing here (the message says why).
    #[error("{0}")]
    Denied(String),
}

/// The one crypto provider (ring); passed explicitly so no process default is needed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

static TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

pub(crate) fn tls13_only() -> &'static [&'static rustls::SupportedProtocolVersion] {
    TLS13_ONLY
}

/// Verifies a TLS 1.3 handshake signature with the provider's algorithms.
pub(crate) fn verify_tls13(
    message: &[u8],
    cert: &rustls::pki_types::CertificateDer<'_>,
    dss: &rustls::DigitallySignedStruct,
) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(
        message,
        cert,
        dss,
        &provider().signature_verification_algorithms,
    )
}

pub(crate) fn supported_schemes() -> Vec<rustls::SignatureScheme> {
    provider()
        .signature_verification_algorithms
        .supported_schemes()
}

pub(crate) fn tls12_refused() -> rustls::Error {
    rustls::Error::PeerIncompatible(rustls::PeerIncompatible::Tls12NotOffered)
}
