//! A misbehaving partner: a real TLS 1.3 + gRPC Federation server with a real
//! enrolled identity, which serves one batch of good, forged and malformed records,
//! or a [`Script`] of batches (an oversized batch, far-future records, a sighting
//! before its target, ...).

use std::sync::Arc;

use ed25519_dalek::{Signer, SigningKey};
use liaison::config::NodeDirSetup;
use liaison::identity::{Bundle, NodeDir};
use liaison::indicator::Kind;
use liaison::proto;
use liaison::proto::federation_server::{Federation, FederationServer};
use liaison::record::{sign_payload, Body, Evaluation, Indicator, NodeId, Payload, Tlp};
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

pub fn indicator(value: &str, tlp: Tlp, recipients: Vec<NodeId>) -> Indicator {
    Indicator {
        source: String::new(),
        first_seen_ms: None,
        kind: Kind::Phone,
        value: value.into(),
        labels: vec![],
        tlp,
        handling: vec![],
        handling_note: String::new(),
        evaluation: Evaluation::UNEVALUATED,
        valid_until_ms: liaison::now_ms() + 86_400_000,
        description: "served by a misbehaving test peer".into(),
        case_reference: String::new(),
        recipients,
        supersedes: None,
        outside_known_ranges: true,
    }
}

pub fn signed(key: &SigningKey, seq: u64, body: Indicator) -> proto::Envelope {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: seq,
        created_ms: liaison::now_ms(),
        body: Body::Indicator(body),
    };
    sign_payload(key, &payload)
        .expect("sign")
        .envelope
        .to_wire()
}

/// The batch: index 0 is the only acceptable record.
pub fn hostile_batch(rogue: &SigningKey, victim: NodeId) -> Vec<proto::Envelope> {
    let good = signed(rogue, 1, indicator("+447700900501", Tlp::Green, vec![]));
    // Forged: claims the rogue's origin, signed by another key.
    let mut forged = signed(rogue, 2, indicator("+447700900502", Tlp::Green, vec![]));
    let other = SigningKey::from_bytes(&[42; 32]);
    forged.signature = other
        .sign(&[b"liaison/v1/record\0".as_slice(), &forged.payload].concat())
        .to_bytes()
        .to_vec();
    // Tampered after signing.
    let mut tampered = signed(rogue, 3, indicator("+447700900503", Tlp::Green, vec![]));
    let last = tampered.payload.len() - 1;
    tampered.payload[last] ^= 1;
    // Malformed envelope.
    let malformed = proto::Envelope {
        payload: vec![1, 2, 3],
        signature: vec![0; 3],
        signer: vec![0; 32],
    };
    // A third-party origin from a partner without relay rights.
    let third = SigningKey::from_bytes(&[7; 32]);
    let relayed = signed(&third, 1, indicator("+447700900505", Tlp::Clear, vec![]));
    // RED addressed to someone else.
    let elsewhere = NodeId([9; 32]);
    assert_ne!(elsewhere, victim);
    let red = signed(
        rogue,
        6,
        indicator("+447700900506", Tlp::Red, vec![elsewhere]),
    );
    // Over the 64 KiB payload limit: refused before any signature work.
    let mut oversized = signed(rogue, 7, indicator("+447700900507", Tlp::Green, vec![]));
    oversized.payload.resize(64 * 1024 + 1, 0);
    vec![good, forged, tampered, malformed, relayed, red, oversized]
}

/// Batches served in order (cursor = position + 1), optionally holding back
/// the batches from `gate.0` on until `gate.1` is set to true (on every stream).
#[derive(Clone, Default)]
pub struct Script {
    pub batches: Vec<Vec<proto::Envelope>>,
    pub gate: Option<(usize, Arc<watch::Sender<bool>>)>,
    /// A signed log head sent with the first batch.
    pub head: Option<proto::SignedHead>,
    /// The protocol version its Ping answer states (0: unstated, as release 0.1.0).
    pub protocol: u32,
}

/// A record signed by `key` with any body and creation time.
pub fn signed_body(key: &SigningKey, seq: u64, body: Body, created_ms: i64) -> proto::Envelope {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: seq,
        created_ms,
        body,
    };
    sign_payload(key, &payload)
        .expect("sign")
        .envelope
        .to_wire()
}

struct RogueFederation {
    batch: Vec<proto::Envelope>,
    script: Option<Script>,
    /// Bulletin openings sent with the first scripted batch (issue 15).
    openings: Vec<proto::BulletinOpenings>,
}

#[tonic::async_trait]
impl Federation for RogueFederation {
    type PullStream = ReceiverStream<Result<proto::PullBatch, Status>>;

    async fn get_lookup_filter(
        &self,
        _request: Request<proto::LookupFilterRequest>,
    ) -> Result<Response<proto::LookupFilter>, Status> {
        Err(Status::unimplemented("no private lookups here"))
    }

    async fn evaluate(
        &self,
        _request: Request<proto::EvaluateRequest>,
    ) -> Result<Response<proto::EvaluateResponse>, Status> {
        Err(Status::unimplemented("no private lookups here"))
    }

    async fn pull(
        &self,
        request: Request<proto::PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let (tx, rx) = mpsc::channel(2);
        let script = self.script.clone().unwrap_or_default();
        let openings = self.openings.clone();
        let single = self.script.is_none().then(|| proto::PullBatch {
            records: self.batch.clone(),
            cursor: 7,
            origins: vec![],
            ..Default::default()
        });
        let resume = request.get_ref().cursor;
        tokio::spawn(async move {
            if let Some(batch) = single {
                if resume < 7 {
                    let _ = tx.send(Ok(batch)).await;
                }
            }
            for (i, records) in script.batches.into_iter().enumerate() {
                let cursor = i as u64 + 1;
                if let Some((from, gate)) = &script.gate {
                    if i == *from && gate.subscribe().wait_for(|open| *open).await.is_err() {
                        return;
                    }
                }
                if cursor <= resume {
                    continue;
                }
                let batch = proto::PullBatch {
                    records,
                    cursor,
                    origins: vec![],
                    // A scripted head rides on the first batch.
                    signed_head: (i == 0).then(|| script.head.clone()).flatten(),
                    bulletin_openings: if i == 0 { openings.clone() } else { vec![] },
                    ..Default::default()
                };
                if tx.send(Ok(batch)).await.is_err() {
                    return;
                }
            }
            // Hold the stream open like a real node.
            tx.closed().await;
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    /// Answers every search with the whole hostile batch, whatever was asked.
    async fn search(
        &self,
        _request: Request<proto::FederatedQuery>,
    ) -> Result<Response<proto::FederatedAnswer>, Status> {
        Ok(Response::new(proto::FederatedAnswer {
            records: self.batch.clone(),
            origins: vec![],
        }))
    }

    async fn announce_tls_rotation(
        &self,
        _request: Request<proto::SignedTlsRotation>,
    ) -> Result<Response<proto::TlsRotationAck>, Status> {
        Err(Status::unimplemented("a rogue peer does not rotate"))
    }

    async fn ping(
        &self,
        _request: Request<proto::PingRequest>,
    ) -> Result<Response<proto::PingResponse>, Status> {
        Ok(Response::new(proto::PingResponse {
            now_unix_ms: 0,
            protocol_version: self.script.as_ref().map_or(0, |s| s.protocol),
            ..Default::default()
        }))
    }

    /// Receipts are accepted and ignored.
    async fn acknowledge(
        &self,
        _request: Request<proto::Receipt>,
    ) -> Result<Response<proto::ReceiptAck>, Status> {
        Ok(Response::new(proto::ReceiptAck {}))
    }
}

/// Starts the rogue server for `rogue_dir`, trusting the victim's TLS certificate.
/// Returns the bundle (PEM) to enroll at the victim.
pub async fn start(rogue_dir: &NodeDir, victim_dir: &NodeDir) -> String {
    start_with(rogue_dir, victim_dir, |_, _| None).await
}

/// Like [`start`], serving the script `make(rogue key, victim id)` returns
/// (the hostile batch when it returns None).
pub async fn start_with(
    rogue_dir: &NodeDir,
    victim_dir: &NodeDir,
    make: impl FnOnce(&SigningKey, NodeId) -> Option<Script>,
) -> String {
    start_with_openings(rogue_dir, victim_dir, |key, victim| {
        (make(key, victim), Vec::new())
    })
    .await
}

/// Like [`start_with`], also sending bulletin openings (which may be forged)
/// with the script's first batch.
pub async fn start_with_openings(
    rogue_dir: &NodeDir,
    victim_dir: &NodeDir,
    make: impl FnOnce(&SigningKey, NodeId) -> (Option<Script>, Vec<proto::BulletinOpenings>),
) -> String {
    let config = rogue_dir.load_config().expect("config");
    let identity = rogue_dir.load_identity(&config).expect("identity");
    let victim_config = victim_dir.load_config().expect("victim config");
    let victim = victim_dir
        .load_identity(&victim_config)
        .expect("victim identity");
    let (address, incoming) = pinned_tls_listener(&identity, &victim).await;
    let (script, openings) = make(&identity.signing_key, victim.node_id());
    let service = RogueFederation {
        batch: hostile_batch(&identity.signing_key, victim.node_id()),
        script,
        openings,
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(FederationServer::new(service))
            .serve_with_incoming(incoming),
    );
    Bundle::create(&identity, vec![address], liaison::now_ms()).to_pem()
}

/// A TLS 1.3 listener on 127.0.0.1:0 with `identity`'s certificate that admits
/// only `victim` (pinned), as a real node's would; its address and its stream of
/// accepted connections for tonic.
pub async fn pinned_tls_listener(
    identity: &liaison::identity::NodeIdentity,
    victim: &liaison::identity::NodeIdentity,
) -> (
    String,
    ReceiverStream<Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>, std::io::Error>>,
) {
    let pins = liaison::tls::PinSet::default();
    pins.insert(
        liaison::tls::PinSet::pin_of(&victim.tls_cert_der),
        victim.node_id(),
    );
    let tls = liaison::tls::server_config(
        &identity.tls_cert_der,
        &identity.tls_key_der,
        &identity.ca_cert_der,
        pins,
    )
    .expect("tls");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(tcp).await {
                    let _ = tx.send(Ok::<_, std::io::Error>(stream)).await;
                }
            });
        }
    });
    (address, ReceiverStream::new(rx))
}

pub mod hostile;
pub mod relay;
