//! A hostile enrolled partner for load and abuse (extends the rogue peer): as a
//! server it answers the victim's Pull with a 10,000-record batch, replays of
//! records already sent, and records created far in the future; as a client it
//! opens a thousand concurrent Pull streams, floods Federation.Search, and holds
//! raw TCP connections that trickle a byte a second into the TLS handshake.
//!
//! Every record it serves is correctly signed with its enrolled key: the point
//! is volume and timing, not forgery (forgery is `rogue::hostile_batch`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use liaison::config::NodeDirSetup;
use liaison::identity::{Bundle, NodeDir, NodeIdentity};
use liaison::indicator::Kind;
use liaison::proto;
use liaison::proto::federation_client::FederationClient;
use liaison::proto::federation_server::{Federation, FederationServer};
use liaison::record::{sign_payload, Body, Evaluation, Indicator, NodeId, Payload, Tlp};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Records in the oversized batch.
pub const FLOOD: usize = 10_000;
/// Ordinary records, served first and then replayed again and again.
pub const ORDINARY: usize = 200;
/// Records created a year in the future.
pub const FUTURE: usize = 5;

pub fn ordinary_value(i: usize) -> String {
    format!("ordinary{i}.rogue.example.org")
}

pub fn future_value(i: usize) -> String {
    format!("future{i}.rogue.example.org")
}

fn flood_value(i: usize) -> String {
    format!("flood{i}.rogue.example.org")
}

fn domain(value: String) -> Indicator {
    Indicator {
        source: String::new(),
        first_seen_ms: None,
        kind: Kind::Domain,
        value,
        labels: vec![],
        tlp: Tlp::Green,
        handling: vec![],
        handling_note: String::new(),
        evaluation: Evaluation::UNEVALUATED,
        valid_until_ms: liaison::now_ms() + 86_400_000,
        description: "served by a hostile test peer (fictional)".into(),
        case_reference: String::new(),
        recipients: Vec::<NodeId>::new(),
        supersedes: None,
        outside_known_ranges: false,
    }
}

fn sign(key: &SigningKey, sequence: u64, created_ms: i64, body: Indicator) -> proto::Envelope {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence,
        created_ms,
        body: Body::Indicator(body),
    };
    sign_payload(key, &payload)
        .expect("sign")
        .envelope
        .to_wire()
}

/// The records the hostile server serves, signed once.
struct Records {
    ordinary: Vec<proto::Envelope>,
    flood: Vec<proto::Envelope>,
    future: Vec<proto::Envelope>,
}

fn records(key: &SigningKey) -> Records {
    let now = liaison::now_ms();
    let ordinary = (0..ORDINARY)
        .map(|i| sign(key, 1 + i as u64, now, domain(ordinary_value(i))))
        .collect();
    let flood = (0..FLOOD)
        .map(|i| sign(key, 1_000 + i as u64, now, domain(flood_value(i))))
        .collect();
    let year_ms = 365 * 86_400_000;
    let future = (0..FUTURE)
        .map(|i| {
            sign(
                key,
                100_000 + i as u64,
                now + year_ms,
                domain(future_value(i)),
            )
        })
        .collect();
    Records {
        ordinary,
        flood,
        future,
    }
}

struct HostileFederation {
    records: Arc<Records>,
    /// Batches sent so far (all streams).
    batches: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl Federation for HostileFederation {
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

    /// Ordinary records (cursor 1), far-future records (2), the 10k batch (3),
    /// then replays of what was already sent every 100 ms (4, 5, …) until the
    /// puller hangs up. A resuming puller gets what follows its cursor.
    async fn pull(
        &self,
        request: Request<proto::PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let resume = request.get_ref().cursor;
        let (tx, rx) = mpsc::channel(2);
        let (records, batches) = (self.records.clone(), self.batches.clone());
        tokio::spawn(async move {
            let batch = |records: Vec<proto::Envelope>, cursor: u64| proto::PullBatch {
                records,
                cursor,
                origins: vec![],
                ..Default::default()
            };
            let first = [
                batch(records.ordinary.clone(), 1),
                batch(records.future.clone(), 2),
                batch(records.flood.clone(), 3),
            ];
            for b in first.into_iter().filter(|b| b.cursor > resume) {
                if tx.send(Ok(b)).await.is_err() {
                    return;
                }
                batches.fetch_add(1, Ordering::SeqCst);
            }
            for round in resume.saturating_sub(3).. {
                let chunk = (round as usize * 1_000) % FLOOD;
                let mut replay = records.ordinary.clone();
                replay.extend_from_slice(&records.flood[chunk..chunk + 1_000]);
                if tx.send(Ok(batch(replay, 4 + round))).await.is_err() {
                    return;
                }
                batches.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn search(
        &self,
        _request: Request<proto::FederatedQuery>,
    ) -> Result<Response<proto::FederatedAnswer>, Status> {
        Ok(Response::new(proto::FederatedAnswer {
            records: self.records.ordinary.clone(),
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

/// A running hostile peer.
pub struct HostilePeer {
    identity: NodeIdentity,
    victim_cert_der: Vec<u8>,
    /// The bundle (PEM) for the victim to enroll.
    pub bundle_pem: String,
    /// Pull batches served to the victim so far.
    pub batches: Arc<AtomicU64>,
}

fn identity_of(dir: &NodeDir) -> NodeIdentity {
    let config = dir.load_config().expect("config");
    dir.load_identity(&config).expect("identity")
}

impl HostilePeer {
    /// Signs its records (on a blocking thread) and starts serving, trusting the
    /// victim's TLS certificate.
    pub async fn start(rogue_dir: &NodeDir, victim_dir: &NodeDir) -> HostilePeer {
        let identity = identity_of(rogue_dir);
        let victim = identity_of(victim_dir);
        let key = identity.signing_key.clone();
        let records = tokio::task::spawn_blocking(move || records(&key))
            .await
            .expect("sign records");
        let (address, incoming) = super::pinned_tls_listener(&identity, &victim).await;
        let batches = Arc::new(AtomicU64::new(0));
        let service = HostileFederation {
            records: Arc::new(records),
            batches: batches.clone(),
        };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(
                    FederationServer::new(service)
                        .max_encoding_message_size(liaison::service::MAX_SYNC_MESSAGE_BYTES),
                )
                .serve_with_incoming(incoming),
        );
        let bundle_pem = Bundle::create(&identity, vec![address], liaison::now_ms()).to_pem();
        HostilePeer {
            identity,
            victim_cert_der: victim.tls_cert_der,
            bundle_pem,
            batches,
        }
    }

    /// A connection for the attack; failing to make one fails the test, since
    /// an attack that never connected would prove nothing.
    async fn channel_to(&self, victim_address: &str) -> tonic::transport::Channel {
        let tls = liaison::tls::client_config(
            &self.identity.tls_cert_der,
            &self.identity.tls_key_der,
            &self.victim_cert_der,
        )
        .expect("client tls");
        liaison::channel::connect_channel(victim_address, tls, false)
            .await
            .unwrap_or_else(|e| panic!("the hostile peer cannot connect to {victim_address}: {e}"))
    }

    /// Starts the client-side abuse against the (enrolling) victim: `streams`
    /// concurrent Pull streams from cursor 0 that are never read, a continuous
    /// Federation.Search flood, and `slow` raw connections sending one byte a
    /// second. Everything stops when the returned guard is dropped.
    pub async fn attack(&self, victim_address: &str, streams: usize, slow: usize) -> Attack {
        let (stop, stopped) = watch::channel(false);
        let counts = Arc::new(AttackCounts::default());
        for connection in 0..4 {
            let channel = self.channel_to(victim_address).await;
            for _ in 0..streams / 4 + usize::from(connection < streams % 4) {
                let (mut client, mut stopped, counts) = (
                    FederationClient::new(channel.clone()),
                    stopped.clone(),
                    counts.clone(),
                );
                tokio::spawn(async move {
                    let pull = client.pull(proto::PullRequest {
                        cursor: 0,
                        ..Default::default()
                    });
                    let held = tokio::select! {
                        r = pull => r,
                        _ = stopped.wait_for(|s| *s) => return,
                    };
                    match held {
                        Ok(_stream) => {
                            counts.streams_open.fetch_add(1, Ordering::SeqCst);
                            // Held and never read: the server's sends back up.
                            let _ = stopped.wait_for(|s| *s).await;
                        }
                        Err(status) => {
                            counts.note_refusal(&status);
                            counts.streams_refused.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        }
        for _ in 0..4 {
            let channel = self.channel_to(victim_address).await;
            let (mut client, stopped, counts) = (
                FederationClient::new(channel),
                stopped.clone(),
                counts.clone(),
            );
            tokio::spawn(async move {
                while !*stopped.borrow() {
                    let query = proto::FederatedQuery {
                        // The most one search may carry: each call costs the victim the most.
                        queries: (0..16)
                            .map(|i| proto::federated_query::Query {
                                kind: proto::IndicatorKind::Domain as i32,
                                value: format!("probe{i}.example.org"),
                            })
                            .collect(),
                        analyst: "hostile".into(),
                        justification: "flood".into(),
                        case_reference: String::new(),
                    };
                    match client.search(query).await {
                        Ok(_) => counts.searches_answered.fetch_add(1, Ordering::SeqCst),
                        Err(status) => {
                            counts.note_refusal(&status);
                            counts.searches_refused.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                }
            });
        }
        for _ in 0..slow {
            let (address, stopped) = (victim_address.to_string(), stopped.clone());
            tokio::spawn(slow_client(address, stopped));
        }
        Attack { stop, counts }
    }
}

/// Connects and sends a TLS handshake one byte a second, reconnecting when cut.
async fn slow_client(address: String, stopped: watch::Receiver<bool>) {
    // The start of a TLS 1.3 ClientHello record.
    const HELLO: [u8; 8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01];
    while !*stopped.borrow() {
        let Ok(mut tcp) = connect_from_stranger(&address).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        for byte in HELLO.iter().cycle() {
            if *stopped.borrow() || tcp.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Connects from 127.0.0.2 (a stranger's address: the node's per-address
/// handshake bound must not penalise its partners and analysts on 127.0.0.1).
async fn connect_from_stranger(address: &str) -> std::io::Result<tokio::net::TcpStream> {
    let target: std::net::SocketAddr = address.parse().map_err(std::io::Error::other)?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.2:0".parse().map_err(std::io::Error::other)?)?;
    socket.connect(target).await
}

#[derive(Default, Debug)]
pub struct AttackCounts {
    pub streams_open: AtomicU64,
    pub streams_refused: AtomicU64,
    pub searches_answered: AtomicU64,
    pub searches_refused: AtomicU64,
    /// The last refusal the victim gave (code and message), for the report.
    pub last_refusal: std::sync::Mutex<String>,
}

impl AttackCounts {
    fn note_refusal(&self, status: &Status) {
        if let Ok(mut last) = self.last_refusal.lock() {
            *last = format!("{:?}: {}", status.code(), status.message());
        }
    }
}

/// The abuse in progress; dropping it stops every task.
pub struct Attack {
    stop: watch::Sender<bool>,
    pub counts: Arc<AttackCounts>,
}

impl Drop for Attack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
