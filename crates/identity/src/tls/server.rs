//! The server side: which client certificates complete a handshake.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};

use super::TlsError;
use super::{provider, supported_schemes, tls12_refused, tls13_only, verify_tls13, PinSet};

/// Accepts an enrolled partner's pinned certificate, or one issued by the local CA.
#[derive(Debug)]
struct PartnerOrLocalCa {
    pins: PinSet,
    local_ca: Arc<dyn ClientCertVerifier>,
}

impl std::fmt::Debug for PinSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinSet")
    }
}

impl ClientCertVerifier for PartnerOrLocalCa {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.pins.partner_for(end_entity).is_some() {
            return Ok(ClientCertVerified::assertion());
        }
        if self.pins.is_denied(end_entity) {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked,
            ));
        }
        self.local_ca
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        supported_schemes()
    }
}

/// Verifies a client certificate against the agency's local CA only.
pub fn local_ca_verifier(ca_cert_der: &[u8]) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_cert_der.to_vec()))
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))
}

/// The node's rustls server configuration: TLS 1.3, client certificate required,
/// HTTP/2 only.
pub fn server_config(
    cert_der: &[u8],
    key_der: &[u8],
    ca_cert_der: &[u8],
    pins: PinSet,
) -> Result<ServerConfig, TlsError> {
    let tls = |e: rustls::Error| TlsError::Setup(e.to_string());
    let local_ca = local_ca_verifier(ca_cert_der)?;
    let verifier = Arc::new(PartnerOrLocalCa { pins, local_ca });
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(tls13_only())
        .map_err(tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(cert_der.to_vec())], key)
        .map_err(tls)?;
    // h2 for gRPC (and HTTP/2 clients), http/1.1 for TAXII and MISP feed clients.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Like [`server_config`], presenting the node's current certificate at each
/// handshake (it changes at a live TLS rotation).
pub fn server_config_live(
    live: &Arc<super::LiveTls>,
    ca_cert_der: &[u8],
    pins: PinSet,
) -> Result<ServerConfig, TlsError> {
    let tls = |e: rustls::Error| TlsError::Setup(e.to_string());
    let local_ca = local_ca_verifier(ca_cert_der)?;
    let verifier = Arc::new(PartnerOrLocalCa { pins, local_ca });
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(tls13_only())
        .map_err(tls)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(super::live::ServerCert(live.clone())));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
