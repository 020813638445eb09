//! Bounded work per peer and client, across real processes: one Pull stream per
//! partner, rate limits per client certificate, and a bounded handshake pool
//! that a flood of silent TCP connections cannot exhaust for everyone.

use crate::common;

use std::time::{Duration, Instant};

use common::{TestNode, WAIT};
use liaison::config::Config;
use liaison::config::NodeDirSetup;
use liaison::proto;
use liaison::proto::federation_client::FederationClient;

/// Rewrites the node's config.toml (before `start`) with `edit` applied.
fn configure(node: &TestNode, edit: impl FnOnce(&mut Config)) {
    let path = node.node_dir().config();
    let mut config = Config::from_toml(&std::fs::read_to_string(&path).expect("read config"))
        .expect("parse config");
    edit(&mut config);
    std::fs::write(&path, config.to_toml()).expect("write config");
}

fn search(value: &str) -> proto::SearchRequest {
    proto::SearchRequest {
        value: value.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_pull_from_the_same_partner_ends_the_first() {
    let mut a = TestNode::init("Agency A (example)");
    // The test speaks Federation with P's enrolled identity; P runs only so
    // that its bundle can be exported (A is not enrolled at P).
    let mut p = TestNode::init("Agency P (example)");
    a.start();
    p.start();
    a.enroll(&p, "green", false);

    let a_config = a.node_dir().load_config().expect("a config");
    let a_identity = a.node_dir().load_identity(&a_config).expect("a identity");
    let p_config = p.node_dir().load_config().expect("p config");
    let p_identity = p.node_dir().load_identity(&p_config).expect("p identity");
    let connect = || async {
        let tls = liaison::tls::client_config(
            &p_identity.tls_cert_der,
            &p_identity.tls_key_der,
            &a_identity.tls_cert_der,
        )
        .expect("client tls");
        let channel = liaison::channel::connect_channel(&a.address(), tls, false)
            .await
            .expect("connect as partner P");
        FederationClient::new(channel)
    };

    let mut first = connect()
        .await
        .pull(proto::PullRequest {
            cursor: 0,
            ..Default::default()
        })
        .await
        .expect("first pull")
        .into_inner();
    let mut second = connect()
        .await
        .pull(proto::PullRequest {
            cursor: 0,
            ..Default::default()
        })
        .await
        .expect("second pull")
        .into_inner();

    // The first stream ends with a clear status, though nothing was published
    // (before that it may carry A's signed log head: a batch without records).
    let status = loop {
        let next = tokio::time::timeout(Duration::from_secs(15), first.message())
            .await
            .expect("the replaced stream ends promptly");
        match next {
            Ok(Some(batch)) => assert!(batch.records.is_empty(), "nothing was published"),
            Ok(None) => panic!("the replaced stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), tonic::Code::Aborted, "{status:?}");
    assert!(
        status.message().contains("replaced by a newer Pull stream"),
        "{status:?}"
    );

    // The second stream is alive: it delivers a record published now.
    let id = a.publish("phone", "+44 7700 900301", "clear", &[]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut delivered = false;
    while !delivered && Instant::now() < deadline {
        let batch = tokio::time::timeout(Duration::from_secs(15), second.message())
            .await
            .expect("the newer stream delivers")
            .expect("no error on the newer stream")
            .expect("the newer stream stays open");
        delivered = !batch.records.is_empty();
    }
    assert!(
        delivered,
        "record {id} was not delivered on the newer stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_certificate_over_its_rate_is_refused_while_another_is_served() {
    let mut a = TestNode::init("Agency A (example)");
    configure(&a, |config| {
        config.node.limits.client_calls_per_second = 1;
        config.node.limits.client_burst = 5;
    });
    a.start();
    let one = a.issue("Analyst One", "analyst");
    let two = a.issue("Analyst Two", "analyst");
    let hammer = a.client_with(&one).await.expect("analyst one connects");

    let mut refused = None;
    for _ in 0..30 {
        match hammer.analyst().search(search("+44 7700 900401")).await {
            Ok(_) => {}
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    let status = refused.expect("30 calls at once exceed a burst of 5");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().starts_with(
            "rate limit: at most 1 calls/s (burst 5) for this certificate; retry after"
        ),
        "{status:?}"
    );

    // Another certificate has its own bucket.
    let other = a.client_with(&two).await.expect("analyst two connects");
    other
        .analyst()
        .search(search("+44 7700 900401"))
        .await
        .expect("a second certificate is still served");
}

/// Opens a TCP connection from `source` (another loopback address) that never
/// sends a byte, and reports how long the node took to close it.
async fn silent_connection(source: &str, target: std::net::SocketAddr) -> Option<Duration> {
    use tokio::io::AsyncReadExt;
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(format!("{source}:0").parse().ok()?).ok()?;
    let mut stream = socket.connect(target).await.ok()?;
    let opened = Instant::now();
    let mut buf = [0u8; 64];
    // Any outcome (EOF, reset, or bytes such as a TLS alert) within the bound
    // is the node's doing: we never send anything.
    match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
        Ok(_) => Some(opened.elapsed()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_cannot_starve_a_real_client() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    let target: std::net::SocketAddr = a.address().parse().expect("address");
    let timeout = Duration::from_secs(5); // limits.handshake_timeout_seconds default

    let flood: Vec<_> = (0..220)
        .map(|_| tokio::spawn(silent_connection("127.0.0.2", target)))
        .collect();
    // The flood holds its slots once the node starts turning connections away.
    let deadline = Instant::now() + WAIT;
    while !a.log().contains("closing new connections at once") {
        assert!(
            Instant::now() < deadline,
            "the flood never hit a limit:\n{}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A real client (from 127.0.0.1) is served while the flood holds its slots.
    let started = Instant::now();
    let admin = a.admin_client().await;
    admin
        .admin()
        .show_identity(proto::ShowIdentityRequest {})
        .await
        .expect("the admin is served during the flood");
    let served = started.elapsed();
    println!("admin call during a flood of 220 silent connections: {served:?}");
    assert!(
        served < timeout,
        "the admin waited {served:?}, as long as a handshake timeout"
    );

    let mut closed_at_once = 0;
    let mut cut_later = 0;
    for handle in flood {
        let closed = handle
            .await
            .expect("join")
            .expect("every silent connection is closed by the node");
        if closed < Duration::from_millis(500) {
            closed_at_once += 1;
        } else {
            // Cut when its ClientHello did not come, long before the
            // handshake timeout (loose bound for a loaded machine).
            assert!(closed < timeout - Duration::from_secs(1), "{closed:?}");
            cut_later += 1;
        }
    }
    println!("silent connections: {closed_at_once} closed at once, {cut_later} cut at the ClientHello timeout");
    // At most max_handshakes_per_prefix (8) at a time wait for the ClientHello
    // timeout; the rest are refused. A connection the kernel admitted late
    // (its SYN retried after a second) can take a slot the first eight freed,
    // so allow a few rounds; without the per-network bound it would be ~64.
    assert!(
        cut_later <= 3 * 8,
        "{cut_later} connections held a handshake slot"
    );
    assert!(closed_at_once >= 220 - 3 * 8, "{closed_at_once}");
    assert!(
        a.log().contains("closing new connections at once"),
        "{}",
        a.log()
    );
}
