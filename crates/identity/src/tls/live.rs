//! The node's own TLS certificate while it runs, replaceable without a restart
//! (issue 13, live `identity rotate-tls`): the server presents, and the node's
//! outgoing partner connections offer, whatever pair is current at each new
//! handshake. Open connections keep the certificate they were made with.
//!
//! This module only holds and hands out the pair; it must never decide which
//! certificates are trusted (the verifiers in this module's siblings do).

use std::sync::{Arc, RwLock};

use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use zeroize::Zeroizing;

use super::provider;
use super::TlsError;

/// The current certificate and key, and the rustls form handed to handshakes.
struct Current {
    cert_der: Vec<u8>,
    key_der: Zeroizing<Vec<u8>>,
    certified: Arc<CertifiedKey>,
}

/// The node's TLS certificate and key, swapped atomically by [`LiveTls::replace`].
pub struct LiveTls {
    current: RwLock<Arc<Current>>,
}

impl std::fmt::Debug for LiveTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveTls")
    }
}

fn certified(cert_der: &[u8], key_der: &[u8]) -> Result<Arc<CertifiedKey>, TlsError> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Setup(format!("tls key: {e}")))?;
    let certified = CertifiedKey::new(vec![CertificateDer::from(cert_der.to_vec())], signing);
    // A key that does not belong to the certificate would fail every handshake.
    certified
        .keys_match()
        .map_err(|e| TlsError::Setup(format!("tls key: does not match the certificate: {e}")))?;
    Ok(Arc::new(certified))
}

impl LiveTls {
    pub fn new(cert_der: &[u8], key_der: &[u8]) -> Result<Arc<LiveTls>, TlsError> {
        let current = Current {
            cert_der: cert_der.to_vec(),
            key_der: Zeroizing::new(key_der.to_vec()),
            certified: certified(cert_der, key_der)?,
        };
        Ok(Arc::new(LiveTls {
            current: RwLock::new(Arc::new(current)),
        }))
    }

    fn now(&self) -> Option<Arc<Current>> {
        self.current.read().ok().map(|c| c.clone())
    }

    /// Puts a new pair in force for every later handshake; checked first, so a
    /// bad pair leaves the current one in place.
    pub fn replace(&self, cert_der: &[u8], key_der: &[u8]) -> Result<(), TlsError> {
        let next = Arc::new(Current {
            cert_der: cert_der.to_vec(),
            key_der: Zeroizing::new(key_der.to_vec()),
            certified: certified(cert_der, key_der)?,
        });
        let mut current = self
            .current
            .write()
            .map_err(|_| TlsError::Setup("tls: certificate lock poisoned".into()))?;
        *current = next;
        Ok(())
    }

    /// The certificate in force (DER).
    pub fn cert_der(&self) -> Vec<u8> {
        self.now().map(|c| c.cert_der.clone()).unwrap_or_default()
    }

    /// The key in force (PKCS#8 DER).
    pub fn key_der(&self) -> Zeroizing<Vec<u8>> {
        self.now()
            .map(|c| c.key_der.clone())
            .unwrap_or_else(|| Zeroizing::new(Vec::new()))
    }

    fn certified(&self) -> Option<Arc<CertifiedKey>> {
        self.now().map(|c| c.certified.clone())
    }
}

/// Hands the current pair to the server's handshakes.
#[derive(Debug)]
pub struct ServerCert(pub Arc<LiveTls>);

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.certified()
    }
}

/// Hands the current pair to outgoing connections' client authentication.
#[derive(Debug)]
pub struct ClientCert(pub Arc<LiveTls>);

impl ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.certified()
    }

    fn has_certs(&self) -> bool {
        true
    }
}
