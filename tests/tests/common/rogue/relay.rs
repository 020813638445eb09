//! A scripted partner for the attacks a relay (or any partner) makes with
//! signed material (extends the rogue peer): as a server it serves the batches
//! the test hands it one at a time, each with the origin bundles the test
//! chooses, and records every Pull the victim makes (its cursor); as a client it
//! calls the victim's Federation service with its enrolled certificate.
//!
//! It also mints what the attacks carry: third-party identities, bundles that
//! name another certificate or another node, and TLS rotation statements.
//! Every key and certificate is real; nothing here weakens TLS.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ed25519_dalek::{Signer, SigningKey};
use liaison::config::NodeDirSetup;
use liaison::identity::{Bundle, NodeDir, NodeIdentity, RotationFile};
use liaison::proto;
use liaison::proto::federation_server::{Federation, FederationServer};
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// One batch: records and the origin bundles handed over with them.
#[derive(Clone, Default)]
pub struct Step {
    pub records: Vec<proto::Envelope>,
    pub origins: Vec<proto::SignedBundle>,
}

#[derive(Default)]
struct Shared {
    steps: Mutex<Vec<Step>>,
    /// Cursor of every Pull the victim opened, in order.
    pulls: Mutex<Vec<u64>>,
    /// Batches written to a victim's stream.
    sent: AtomicUsize,
}

struct StepFederation {
    shared: Arc<Shared>,
    count: watch::Sender<usize>,
}

#[tonic::async_trait]
impl Federation for StepFederation {
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

    /// Serves step `i` as cursor `i + 1`, from the victim's cursor on, each as
    /// soon as the test has handed it over; holds the stream open meanwhile.
    async fn pull(
        &self,
        request: Request<proto::PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let resume = request.get_ref().cursor;
        if let Ok(mut pulls) = self.shared.pulls.lock() {
            pulls.push(resume);
        }
        let (tx, rx) = mpsc::channel(2);
        let (shared, mut count) = (self.shared.clone(), self.count.subscribe());
        tokio::spawn(async move {
            let mut next = usize::try_from(resume).unwrap_or(usize::MAX);
            loop {
                tokio::select! {
                    ready = count.wait_for(|n| *n > next) => if ready.is_err() { return },
                    _ = tx.closed() => return,
                }
                let Some(step) = shared.steps.lock().ok().and_then(|s| s.get(next).cloned()) else {
                    return;
                };
                let batch = proto::PullBatch {
                    records: step.records,
                    origins: step.origins,
                    cursor: next as u64 + 1,
                    ..Default::default()
                };
                if tx.send(Ok(batch)).await.is_err() {
                    return;
                }
                shared.sent.fetch_add(1, Ordering::SeqCst);
                next += 1;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn search(
        &self,
        _request: Request<proto::FederatedQuery>,
    ) -> Result<Response<proto::FederatedAnswer>, Status> {
        Ok(Response::new(proto::FederatedAnswer::default()))
    }

    async fn announce_tls_rotation(
        &self,
        _request: Request<proto::SignedTlsRotation>,
    ) -> Result<Response<proto::TlsRotationAck>, Status> {
        Err(Status::unimplemented("a scripted peer does not rotate"))
    }

    async fn ping(
        &self,
        _request: Request<proto::PingRequest>,
    ) -> Result<Response<proto::PingResponse>, Status> {
        Ok(Response::new(proto::PingResponse {
            now_unix_ms: liaison::now_ms(),
            ..Default::default()
        }))
    }

    async fn acknowledge(
        &self,
        _request: Request<proto::Receipt>,
    ) -> Result<Response<proto::ReceiptAck>, Status> {
        Ok(Response::new(proto::ReceiptAck {}))
    }
}

/// A running scripted partner.
pub struct StepPeer {
    pub identity: NodeIdentity,
    victim_cert_der: Vec<u8>,
    /// Its own bundle (PEM), for the victim to enroll.
    pub bundle_pem: String,
    shared: Arc<Shared>,
    count: watch::Sender<usize>,
}

pub fn identity_of(dir: &NodeDir) -> NodeIdentity {
    let config = dir.load_config().expect("config");
    dir.load_identity(&config).expect("identity")
}

impl StepPeer {
    /// Serves (TLS 1.3, pinning the victim) as the node in `rogue_dir`.
    pub async fn start(rogue_dir: &NodeDir, victim_dir: &NodeDir) -> StepPeer {
        let identity = identity_of(rogue_dir);
        let victim = identity_of(victim_dir);
        let (address, incoming) = super::pinned_tls_listener(&identity, &victim).await;
        let shared = Arc::new(Shared::default());
        let (count, _) = watch::channel(0);
        let service = StepFederation {
            shared: shared.clone(),
            count: count.clone(),
        };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(FederationServer::new(service))
                .serve_with_incoming(incoming),
        );
        let bundle_pem = Bundle::create(&identity, vec![address], liaison::now_ms()).to_pem();
        StepPeer {
            identity,
            victim_cert_der: victim.tls_cert_der,
            bundle_pem,
            shared,
            count,
        }
    }

    /// Hands the victim one more batch; returns its cursor.
    pub fn send(&self, step: Step) -> u64 {
        let mut steps = self.shared.steps.lock().expect("steps");
        steps.push(step);
        let n = steps.len();
        self.count.send_replace(n);
        n as u64
    }

    /// Batches written to the victim's streams so far.
    pub fn sent(&self) -> usize {
        self.shared.sent.load(Ordering::SeqCst)
    }

    /// The cursor of every Pull the victim opened, in order.
    pub fn pulls(&self) -> Vec<u64> {
        self.shared
            .pulls
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// A channel to the victim over mTLS with this partner's real certificate.
    pub async fn channel(
        &self,
        victim_address: &str,
    ) -> Result<tonic::transport::Channel, liaison::Error> {
        let tls = liaison::tls::client_config(
            &self.identity.tls_cert_der,
            &self.identity.tls_key_der,
            &self.victim_cert_der,
        )?;
        liaison::channel::connect_channel(victim_address, tls, false).await
    }

    /// A TLS rotation statement, signed with this partner's identity key, that
    /// moves its pin from its enrolled certificate to `new_cert_der`.
    pub fn rotation_to(&self, new_cert_der: &[u8]) -> proto::SignedTlsRotation {
        let now = liaison::now_ms();
        let file = RotationFile {
            old_pin: liaison::identity::cert_pin(&self.identity.tls_cert_der),
            new_pin: liaison::identity::cert_pin(new_cert_der),
            rotated_ms: now,
            old_valid_until_ms: now + 3_600_000,
            acknowledged: Vec::new(),
        };
        let claimed = with_cert(&self.identity, &self.identity.name, new_cert_der);
        let bundle = Bundle::create(&claimed, vec!["127.0.0.1:9".into()], now);
        liaison::identity::sign_rotation(&self.identity, &file, &bundle)
    }
}

/// A fresh, real node identity (keys and certificates) made in-process.
pub fn fresh_identity(name: &str) -> NodeIdentity {
    let tmp = tempfile::tempdir().expect("tempdir");
    NodeDir::new(tmp.path().join("node"))
        .init(&liaison::config::Config::new(name, "127.0.0.1:0"))
        .expect("init identity")
}

/// `identity` claiming the name `name` and the TLS certificate `cert_der`
/// (its own signing key; the TLS key is not needed to sign a bundle).
pub fn with_cert(identity: &NodeIdentity, name: &str, cert_der: &[u8]) -> NodeIdentity {
    NodeIdentity {
        name: name.into(),
        signing_key: identity.signing_key.clone(),
        tls_cert_der: cert_der.to_vec(),
        tls_key_der: Vec::new(),
        ca_cert_der: Vec::new(),
    }
}

/// The signed bundle of `identity` as a relay carries it.
pub fn carried(identity: &NodeIdentity) -> proto::SignedBundle {
    as_carried(&Bundle::create(identity, vec![], liaison::now_ms()))
}

pub fn as_carried(bundle: &Bundle) -> proto::SignedBundle {
    proto::SignedBundle::decode(bundle.signed.as_slice()).expect("own bundle decodes")
}

/// A bundle naming `claimed` as its node, correctly signed by `signer`:
/// the signature verifies, but not as the node it names.
pub fn bundle_naming(
    signer: &SigningKey,
    claimed: &NodeIdentity,
    name: &str,
) -> proto::SignedBundle {
    let inner = proto::Bundle {
        name: name.into(),
        node_id: claimed.node_id().0.to_vec(),
        tls_cert_der: claimed.tls_cert_der.clone(),
        endpoints: vec![],
        created_unix_ms: liaison::now_ms(),
    }
    .encode_to_vec();
    let signature = signer.sign(&[b"liaison/v1/bundle\0".as_slice(), &inner].concat());
    proto::SignedBundle {
        bundle: inner,
        signature: signature.to_bytes().to_vec(),
        signer: signer.verifying_key().to_bytes().to_vec(),
    }
}

/// `bundle` with its signer's key swapped for `claimed`'s: the signature no
/// longer verifies (a forged bundle for a real origin).
pub fn forged_bundle(claimed: &NodeIdentity, by: &SigningKey) -> proto::SignedBundle {
    let mut signed = carried(claimed);
    signed.signature = by
        .sign(&[b"liaison/v1/bundle\0".as_slice(), &signed.bundle].concat())
        .to_bytes()
        .to_vec();
    signed
}
