//! Signed log heads from a partner that floods them (issue 20, item 5): an
//! enrolled rogue sends, batch after batch, dozens of conflicting heads of its
//! own origin, more heads than a batch may carry, and heads of an origin it
//! made up. The victim keeps one proof of equivocation, drops the made-up
//! origin, and counts every refused head against the rogue.

use crate::common;
use crate::metrics::{get, with_metrics};

use ed25519_dalek::SigningKey;
use liaison::identity::Bundle;
use liaison::proto;
use liaison::proto::federation_server::{Federation, FederationServer};
use liaison::record::{Envelope, RecordId, Tlp};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use common::{eventually, holds, TestNode, WAIT};
use liaison::config::NodeDirSetup;

/// Serves its batches once, in order, then holds the stream open.
struct Flood {
    batches: Vec<proto::PullBatch>,
}

#[tonic::async_trait]
impl Federation for Flood {
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
        let resume = request.get_ref().cursor;
        let batches = self.batches.clone();
        tokio::spawn(async move {
            for batch in batches.into_iter().filter(|b| b.cursor > resume) {
                if tx.send(Ok(batch)).await.is_err() {
                    return;
                }
            }
            tx.closed().await;
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
        Err(Status::unimplemented("no rotation here"))
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

    async fn acknowledge(
        &self,
        _request: Request<proto::Receipt>,
    ) -> Result<Response<proto::ReceiptAck>, Status> {
        Ok(Response::new(proto::ReceiptAck {}))
    }
}

fn head(key: &SigningKey, size: u64, root: [u8; 32]) -> proto::SignedHead {
    let head = proto::LogHead {
        origin: key.verifying_key().to_bytes().to_vec(),
        size,
        root: root.to_vec(),
        last_sequence: size,
        signed_unix_ms: liaison::now_ms(),
    };
    liaison::accountability::heads::sign(key, &head)
}

fn batch(cursor: u64, records: Vec<proto::Envelope>) -> proto::PullBatch {
    proto::PullBatch {
        records,
        cursor,
        ..Default::default()
    }
}

/// The rogue's script: its honest first head, then floods, then a sentinel.
fn flood(key: &SigningKey) -> Vec<proto::PullBatch> {
    let first = common::rogue::signed(
        key,
        1,
        common::rogue::indicator("+447700900811", Tlp::Green, vec![]),
    );
    let id: RecordId = Envelope::from_wire(first.clone()).unwrap().id();
    let mut one = batch(1, vec![first]);
    one.signed_head = Some(head(
        key,
        1,
        liaison::accountability::heads::chain(&[0; 32], &id),
    ));
    // 70 heads of size 1, each with another root: 64 are read, 6 are excess.
    one.seen_heads = (0..70u8).map(|i| head(key, 1, [i; 32])).collect();
    let mut two = batch(2, vec![]);
    // Two roots for each of 30 later sizes, and 3 heads of a made-up origin.
    two.seen_heads = (0..30u8)
        .flat_map(|i| {
            [
                head(key, 10 + u64::from(i), [i; 32]),
                head(key, 10 + u64::from(i), [!i; 32]),
            ]
        })
        .collect();
    let invented = SigningKey::from_bytes(&[0x01; 32]);
    two.seen_heads
        .extend((0..3).map(|i| head(&invented, 5, [i; 32])));
    let sentinel = common::rogue::signed(
        key,
        2,
        common::rogue::indicator("+447700900812", Tlp::Green, vec![]),
    );
    vec![one, two, batch(3, vec![sentinel])]
}

fn counted(metrics: &str, rogue: &str, reason: &str) -> u64 {
    let series = format!("liaison_heads_refused_total{{partner=\"{rogue}\",reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_flooding_conflicting_heads_leaves_one_proof_and_is_counted() {
    let mut victim = TestNode::init("Agency Victim (example)");
    let rogue = TestNode::init("Agency Rogue (example)");
    with_metrics(&victim);
    victim.start();
    let (rogue_dir, victim_dir) = (rogue.node_dir(), victim.node_dir());
    let identity = rogue_dir
        .load_identity(&rogue_dir.load_config().unwrap())
        .unwrap();
    let victim_identity = victim_dir
        .load_identity(&victim_dir.load_config().unwrap())
        .unwrap();
    let rogue_id = identity.node_id().to_hex();
    let (address, incoming) = common::rogue::pinned_tls_listener(&identity, &victim_identity).await;
    let service = Flood {
        batches: flood(&identity.signing_key),
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(FederationServer::new(service))
            .serve_with_incoming(incoming),
    );
    let bundle = victim.tmp.path().join("rogue.pem");
    std::fs::write(
        &bundle,
        Bundle::create(&identity, vec![address], liaison::now_ms()).to_pem(),
    )
    .unwrap();
    victim.cli_ok(&[
        "partner",
        "add",
        bundle.to_str().unwrap(),
        "--max-tlp",
        "green",
        "--yes",
    ]);

    // The sentinel comes after both floods on the same stream.
    assert!(
        eventually(WAIT, || !victim.search_ids("+447700900812").is_empty()),
        "sentinel not received; log:\n{}",
        victim.log()
    );
    assert!(holds(
        &victim,
        "+447700900811",
        &victim.search_ids("+447700900811")[0]
    ));

    let heads = victim.cli_json(&["audit", "heads"]);
    let conflicts = heads["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "one proof per origin: {heads:#}");
    assert_eq!(conflicts[0]["origin"], rogue_id.as_str());
    let invented = hex::encode(
        SigningKey::from_bytes(&[0x01; 32])
            .verifying_key()
            .to_bytes(),
    );
    assert!(
        heads["latest"].get(&invented).is_none(),
        "a made-up origin was kept"
    );
    let logged = || {
        let list = victim.cli_json(&["audit", "list", "--action", "heads.conflict"]);
        list.as_array().map_or(0, Vec::len)
    };
    assert!(
        eventually(WAIT, || logged() > 0),
        "heads.conflict not logged"
    );
    assert_eq!(logged(), 1);

    let (_, metrics) = get(&victim, "/metrics");
    assert_eq!(counted(&metrics, &rogue_id, "conflict"), 1, "{metrics}");
    // 63 more of size 1, then 30 second roots of later sizes.
    assert_eq!(
        counted(&metrics, &rogue_id, "conflict_repeat"),
        63 + 30,
        "{metrics}"
    );
    assert_eq!(counted(&metrics, &rogue_id, "excess"), 6, "{metrics}");
    assert_eq!(
        counted(&metrics, &rogue_id, "unknown_origin"),
        3,
        "{metrics}"
    );
    assert!(victim
        .log()
        .contains("signed heads from this partner refused or not kept"));
    victim.stop();
}
