//! Idle TCP connections must not lock everyone out before authentication
//! (issue 20 item 7): 128 connections that never send a byte, from 16 loopback
//! addresses (127.0.0.2 … 127.0.0.17; Linux routes all of 127/8 to lo), held
//! open and renewed as the node closes them, while an analyst's calls and a
//! partner's sync, both from 127.0.0.1, still get through promptly.
//!
//! The flood shares the loopback network's handshake slots; 127.0.0.1 (local
//! admin use, and here also the partner's endpoint) gets through on the
//! reserved slots. Before the fix every call failed at once.

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{eventually, holds, TestNode, WAIT};
use liaison::proto;

/// Generous for a loaded 2-core machine; without the fix the calls fail at once.
const PROMPTLY: Duration = Duration::from_secs(10);
const FLOOD_CONNECTIONS: usize = 128;
const FLOOD_SOURCES: usize = 16;

#[derive(Default)]
struct FloodCounts {
    opened: AtomicU64,
    /// Closed by the node within half a second: refused at once.
    refused: AtomicU64,
    /// Closed by the node later: it held a handshake slot until the timeout.
    cut: AtomicU64,
}

/// One flood slot: a silent connection from `source`, renewed whenever the
/// node closes it, and every 5 s anyway, until `stop`.
async fn idle_slot(
    source: String,
    target: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<FloodCounts>,
) {
    use tokio::io::AsyncReadExt;
    while !stop.load(Ordering::SeqCst) {
        let connected = async {
            let socket = tokio::net::TcpSocket::new_v4().ok()?;
            socket.bind(format!("{source}:0").parse().ok()?).ok()?;
            socket.connect(target).await.ok()
        };
        let Ok(Some(mut stream)) = tokio::time::timeout(Duration::from_secs(2), connected).await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        counts.opened.fetch_add(1, Ordering::Relaxed);
        let opened = Instant::now();
        let mut buf = [0u8; 64];
        if let Ok(_closed) =
            tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await
        {
            match opened.elapsed() < Duration::from_millis(500) {
                true => counts.refused.fetch_add(1, Ordering::Relaxed),
                false => counts.cut.fetch_add(1, Ordering::Relaxed),
            };
        }
        drop(stream);
        // Renew at once, with a breath so the flood does not spin.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn keep_port(node: &TestNode) {
    let config = node.node_dir().config();
    let toml = std::fs::read_to_string(&config).unwrap();
    let pinned = toml.replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{}\"", node.address()),
    );
    assert_ne!(toml, pinned, "{toml}");
    std::fs::write(&config, pinned).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_from_many_addresses_leave_analysts_and_partners_through() {
    let (a, mut b) = crate::common::two_agencies("green");
    let analyst = a.issue("Dana", "analyst");
    // B comes back during the flood, so its sync needs new handshakes at A.
    keep_port(&b);
    b.stop();

    let target: SocketAddr = a.address().parse().expect("address");
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(FloodCounts::default());
    let flood: Vec<_> = (0..FLOOD_CONNECTIONS)
        .map(|n| {
            let source = format!("127.0.0.{}", 2 + n % FLOOD_SOURCES);
            tokio::spawn(idle_slot(source, target, stop.clone(), counts.clone()))
        })
        .collect();
    // The flood is in force once the node starts closing connections at once.
    let flooding = tokio::task::block_in_place(|| {
        eventually(WAIT, || {
            a.log().contains("closing new connections at once")
                && counts.opened.load(Ordering::Relaxed) >= FLOOD_CONNECTIONS as u64
        })
    });
    assert!(flooding, "the flood never filled a bound:\n{}", a.log());

    // An analyst on the node's host: the CLI (admin certificate) and a gRPC
    // client with an analyst certificate.
    let started = Instant::now();
    let out = tokio::task::block_in_place(|| a.cli(&["list"]));
    let listed = started.elapsed();
    assert!(
        out.status.success(),
        "`liaison list` during the flood: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        a.log()
    );
    let started = Instant::now();
    let client = a
        .client_with(&analyst)
        .await
        .expect("the analyst connects during the flood");
    let connected = started.elapsed();
    // The search also asks the partners (B is down: it waits for that).
    client
        .analyst()
        .search(proto::SearchRequest {
            value: "+44 7700 900331".into(),
            ..Default::default()
        })
        .await
        .expect("the analyst's search is served during the flood");
    let searched = started.elapsed();

    // A partner's sync: B starts afresh, connects to A and pulls a record.
    let started = Instant::now();
    let id = tokio::task::block_in_place(|| {
        b.start();
        a.publish("phone", "+44 7700 900331", "green", &[])
    });
    let synced =
        tokio::task::block_in_place(|| eventually(PROMPTLY, || holds(&b, "+447700900331", &id)));
    let sync_took = started.elapsed();
    let still_flooding = counts.refused.load(Ordering::Relaxed);
    stop.store(true, Ordering::SeqCst);
    for slot in flood {
        let _ = slot.await;
    }
    println!(
        "during a flood of {FLOOD_CONNECTIONS} idle connections from {FLOOD_SOURCES} addresses \
         ({} opened, {} refused at once, {} cut at the ClientHello timeout): \
         `liaison list` {listed:?}, analyst connect {connected:?} (+search {searched:?}), partner restart+sync {sync_took:?}",
        counts.opened.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.cut.load(Ordering::Relaxed),
    );
    assert!(
        synced,
        "B did not sync from A during the flood:\nA log:\n{}\nB log:\n{}",
        a.log(),
        b.log()
    );
    assert!(listed < PROMPTLY, "`liaison list` took {listed:?}");
    assert!(connected < PROMPTLY, "the analyst waited {connected:?}");
    assert!(
        searched < PROMPTLY,
        "the analyst's search took {searched:?}"
    );
    assert!(still_flooding > 0, "the flood was refused throughout");
    assert!(
        counts.cut.load(Ordering::Relaxed) > 0,
        "some idle connections held a slot until the ClientHello timeout"
    );
}
