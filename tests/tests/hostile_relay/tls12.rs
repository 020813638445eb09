//! TLS 1.2 offered to the node, by a client with a real certificate (an
//! enrolled partner's, an admin's) or by a partner's server to the node's
//! puller: refused during the handshake, and named in the node's log or the
//! partner's connection state.

use super::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

static TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// Trusts exactly the victim's certificate, and verifies handshake signatures
/// properly (TLS 1.2 ones included): the downgrade is the only thing wrong.
#[derive(Debug)]
struct Pinned(Vec<u8>);

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match end_entity.as_ref() == self.0.as_slice() {
            true => Ok(ServerCertVerified::assertion()),
            false => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = liaison::tls::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = liaison::tls::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        liaison::tls::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client offering only TLS 1.2, presenting `cert`/`key`.
fn tls12_client(cert: &[u8], key: &[u8], server_cert: &[u8]) -> rustls::ClientConfig {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec()));
    let mut config = rustls::ClientConfig::builder_with_provider(liaison::tls::provider())
        .with_protocol_versions(TLS12_ONLY)
        .expect("TLS 1.2 is available to the test client")
        .dangerous() // a pinning verifier, as the node's own
        .with_custom_certificate_verifier(Arc::new(Pinned(server_cert.to_vec())))
        .with_client_auth_cert(vec![CertificateDer::from(cert.to_vec())], key)
        .expect("client certificate");
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

/// Connects (the TCP connection must be made) and handshakes with `config`;
/// the handshake's error.
async fn downgrade(address: &str, config: rustls::ClientConfig) -> rustls::Error {
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("the TCP connection is made");
    let name = ServerName::try_from("liaison.example.org").unwrap();
    let result = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await;
    let error = result.expect_err("a TLS 1.2 handshake completed");
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned()
        .unwrap_or_else(|| panic!("not a TLS error: {error}"))
}

fn refusals_logged(node: &TestNode) -> usize {
    node.log()
        .lines()
        .filter(|l| l.contains("TLS handshake refused"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_2_from_a_partner_or_an_admin_is_refused_in_the_handshake() {
    let mut victim = TestNode::init(VICTIM);
    victim.start();
    let victim_cert = identity_of(&victim.node_dir()).tls_cert_der;
    let relay_dir = TestNode::init(RELAY);
    let peer = StepPeer::start(&relay_dir.node_dir(), &victim.node_dir()).await;
    enroll(&victim, &peer, &["--max-tlp", "green"]);
    let admin = victim.issue("downgrader", "admin");

    // Control: over TLS 1.3 the same certificates are served.
    FederationClient::new(peer.channel(&victim.address()).await.unwrap())
        .ping(proto::PingRequest {})
        .await
        .expect("the partner is served over TLS 1.3");
    victim
        .client_with(&admin)
        .await
        .expect("admin connects")
        .admin()
        .show_identity(proto::ShowIdentityRequest {})
        .await
        .expect("the admin is served over TLS 1.3");

    let admin_cert = liaison::identity::read_pem_cert(&admin.join("client.crt")).unwrap();
    let admin_key = liaison::identity::read_pem_key(&admin.join("client.key")).unwrap();
    let clients = [
        (
            "partner",
            peer.identity.tls_cert_der.clone(),
            peer.identity.tls_key_der.clone(),
        ),
        ("admin", admin_cert, admin_key),
    ];
    for (who, cert, key) in clients {
        let before = refusals_logged(&victim);
        let error = downgrade(&victim.address(), tls12_client(&cert, &key, &victim_cert)).await;
        assert_eq!(
            error,
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
            "{who}"
        );
        assert!(
            eventually(WAIT, || refusals_logged(&victim) > before),
            "the {who}'s refused handshake is not logged:\n{}",
            victim.log()
        );
    }
    let logged = victim.log();
    let line = logged
        .lines()
        .rfind(|l| l.contains("TLS handshake refused"))
        .unwrap();
    assert!(
        line.contains("127.0.0.1") && line.contains("Tls12"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_server_offering_only_tls_1_2_is_refused_by_the_puller() {
    let mut victim = TestNode::init(VICTIM);
    victim.start();
    let old = TestNode::init(RELAY);
    let identity = identity_of(&old.node_dir());
    let config = rustls::ServerConfig::builder_with_provider(liaison::tls::provider())
        .with_protocol_versions(TLS12_ONLY)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(identity.tls_cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.tls_key_der.clone())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (attempts, completed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, c, e) = (attempts.clone(), completed.clone(), errors.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            match acceptor.accept(tcp).await {
                Ok(_) => c.fetch_add(1, Ordering::SeqCst),
                Err(error) => {
                    e.lock().unwrap().push(error.to_string());
                    0
                }
            };
        }
    });
    let pem = Bundle::create(&identity, vec![address], liaison::now_ms()).to_pem();
    let path = write_bundle(&victim, "old.pem", &pem);
    victim.cli_ok(&["partner", "add", &path, "--max-tlp", "green", "--yes"]);

    let refused = eventually(WAIT, || {
        !errors.lock().unwrap().is_empty()
            && partner_row(&victim, RELAY)["connection"]
                .as_str()
                .is_some_and(|c| c.starts_with("disconnected"))
    });
    assert!(
        refused,
        "attempts {}, errors {:?}, row {}",
        attempts.load(Ordering::SeqCst),
        errors.lock().unwrap(),
        partner_row(&victim, RELAY)
    );
    assert_eq!(
        completed.load(Ordering::SeqCst),
        0,
        "a TLS 1.2 handshake completed"
    );
    let said = errors.lock().unwrap()[0].clone();
    assert!(
        said.contains("ProtocolVersion") || said.contains("incompatible"),
        "{said}"
    );
    let row = partner_row(&victim, RELAY);
    assert_eq!(int(&row["cursor"]), 0, "{row}");
    assert_eq!(int(&row["recordsReceived"]), 0, "{row}");
}
