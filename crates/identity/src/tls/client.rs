//! The client side: a node pulling from a partner, or the CLI calling its node.
//! The server is trusted only if its certificate is the pinned one.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::TlsError;
use super::{provider, supported_schemes, tls12_refused, tls13_only, verify_tls13, PinSet};
use crate::identity::cert_pin;

/// Trusts exactly one server certificate, by its SHA-256.
#[derive(Debug)]
struct PinnedServer {
    pin: [u8; 32],
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin replaces name and chain checks: it names one exact certificate.
        match PinSet::pin_of(end_entity) == self.pin {
            true => Ok(ServerCertVerified::assertion()),
            false => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
        }
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

/// A client configuration presenting `cert`/`key` and trusting only the server
/// certificate whose DER is `server_cert_der`.
pub fn client_config(
    cert_der: &[u8],
    key_der: &[u8],
    server_cert_der: &[u8],
) -> Result<ClientConfig, TlsError> {
    let tls = |e: rustls::Error| TlsError::Setup(e.to_string());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
    let verifier = Arc::new(PinnedServer {
        pin: PinSet::pin_of(server_cert_der),
    });
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(tls13_only())
        .map_err(tls)?
        .dangerous() // rustls' name for "custom verifier"; ours checks the pin.
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![CertificateDer::from(cert_der.to_vec())], key)
        .map_err(tls)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    tracing::trace!(server_pin = %cert_pin(server_cert_der), "client TLS configured");
    Ok(config)
}

/// Like [`client_config`], offering the node's current certificate at each
/// handshake (it changes at a live TLS rotation).
pub fn client_config_live(
    live: &Arc<super::LiveTls>,
    server_cert_der: &[u8],
) -> Result<ClientConfig, TlsError> {
    let tls = |e: rustls::Error| TlsError::Setup(e.to_string());
    let verifier = Arc::new(PinnedServer {
        pin: PinSet::pin_of(server_cert_der),
    });
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(tls13_only())
        .map_err(tls)?
        .dangerous() // rustls' name for "custom verifier"; ours checks the pin.
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(super::live::ClientCert(live.clone())));
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}
