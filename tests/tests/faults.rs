//! Network faults between two real nodes: a TCP fault proxy (common/proxy.rs)
//! sits where the source's bundle says it can be reached, so every connection
//! the sink makes to it (sync, federated search) crosses the fault. Sync must
//! resume from its cursor with nothing lost or duplicated, a federated search
//! must keep its deadline and say what happened to the partner, and a thousand
//! reconnects must not leak descriptors, threads or memory.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::proxy::{FaultProxy, Mode};
use common::reliability::{
    advertise, domain_request, hex_set, pid, publish_many, received_from, stored_ids, wait_for,
    ProcStats, Rng,
};
use common::TestNode;
use liaison::config::NodeDirSetup;
use liaison::proto::Tlp;

const SOURCE: &str = "Agency Source (example)";

/// A source reachable only through `proxy` (its bundle advertises the proxy),
/// and a sink enrolled with it at a GREEN ceiling, both running.
fn pair_through_proxy() -> (TestNode, TestNode, FaultProxy) {
    let proxy = FaultProxy::start();
    let mut source = TestNode::init(SOURCE);
    advertise(&source, &proxy.address());
    source.start();
    proxy.set_target(&source.address());
    let mut sink = TestNode::init("Agency Sink (example)");
    sink.start();
    sink.enroll(&source, "green", false);
    source.enroll(&sink, "green", false);
    (source, sink, proxy)
}

/// Publishes `count` GREEN domain records at `node` from index `first`; their ids.
fn publish_range(node: &TestNode, first: u64, count: u64) -> Vec<String> {
    publish_many(node, count, 4, move |i| {
        domain_request(first + i, Tlp::Green)
    })
    .into_iter()
    .map(|(_, id)| id)
    .collect()
}

#[test]
fn sync_resumes_from_its_cursor_after_every_kind_of_fault() {
    let mut rng = Rng::from_env_or_time("faults_sync");
    let (source, mut sink, proxy) = pair_through_proxy();
    let mut published = publish_range(&source, 0, 30);
    wait_for(Duration::from_secs(60), "the first sync", || {
        received_from(&sink, SOURCE) == published.len() as u64
    });
    let faults = [
        Mode::Delay(Duration::from_millis(rng.range(20, 200))),
        Mode::Stall,
        Mode::DropAfter(rng.range(1_000, 20_000)),
        Mode::Reset,
        Mode::Truncate(rng.range(1_000, 20_000)),
        Mode::Stall,
        Mode::Reset,
    ];
    for (round, fault) in faults.into_iter().enumerate() {
        proxy.set_mode(fault);
        if fault == Mode::Reset {
            proxy.reset_now();
        }
        // Records are published while the fault is on.
        let first = published.len() as u64;
        published.extend(publish_range(&source, first, 20));
        std::thread::sleep(Duration::from_millis(rng.range(200, 1_200)));
        if matches!(fault, Mode::DropAfter(_) | Mode::Truncate(_)) {
            // Cut whatever connection survived so far, mid-stream.
            proxy.reset_now();
        }
        proxy.set_mode(Mode::Pass);
        let healed = Instant::now();
        wait_for(Duration::from_secs(60), "sync to catch up", || {
            received_from(&sink, SOURCE) >= published.len() as u64
        });
        println!(
            "FIGURE faults sync round={round} fault={fault:?} caught_up_after_heal={:?} records={}",
            healed.elapsed(),
            published.len()
        );
        assert_eq!(
            received_from(&sink, SOURCE),
            published.len() as u64,
            "a record was counted twice after {fault:?}"
        );
    }
    // It resumed from its cursor rather than starting over.
    let log = sink.log();
    let reopened: Vec<String> = log
        .lines()
        .map(plain)
        .filter(|l| l.contains("sync stream open"))
        .collect();
    assert!(reopened.len() > 1, "the stream was never re-opened");
    assert!(
        reopened.iter().skip(1).all(|l| !l.ends_with("cursor=0")),
        "a reconnect started over from cursor 0:\n{}",
        reopened.join("\n")
    );
    assert!(proxy.accepted() > 1);
    sink.stop();
    let held = hex_set(&stored_ids(&sink));
    let sent: HashSet<String> = published.into_iter().collect();
    assert_eq!(
        held, sent,
        "the sink's records differ from what was published"
    );
}

#[test]
fn a_federated_search_keeps_its_deadline_and_reports_a_stalled_or_reset_partner() {
    let (source, sink, proxy) = pair_through_proxy();
    let id = source.publish("domain", "stalled.example.org", "green", &[]);
    let search = |deadline_ms: u32| -> (Duration, serde_json::Value) {
        let started = Instant::now();
        let answer = sink.cli_json(&[
            "search",
            "stalled.example.org",
            "--federated",
            "--deadline-ms",
            &deadline_ms.to_string(),
            "--justification",
            "fault test (fictional)",
        ]);
        (started.elapsed(), answer)
    };
    let (took, answer) = search(5_000);
    assert_eq!(answer["partners"][0]["status"], "answered", "{answer}");
    println!("FIGURE faults federated mode=Pass took={took:?}");
    let _ = id;

    for (fault, allowed) in [
        (Mode::Stall, &["timed out", "unreachable"][..]),
        (Mode::Reset, &["unreachable", "timed out"][..]),
        (Mode::Truncate(200), &["unreachable", "timed out"][..]),
    ] {
        proxy.set_mode(fault);
        proxy.reset_now();
        const DEADLINE_MS: u32 = 1_500;
        let (took, answer) = search(DEADLINE_MS);
        println!(
            "FIGURE faults federated mode={fault:?} deadline_ms={DEADLINE_MS} took={took:?} status={}",
            answer["partners"][0]["status"]
        );
        let status = answer["partners"][0]["status"].as_str().unwrap_or_default();
        assert!(
            allowed.contains(&status),
            "{fault:?}: partner status {status:?}: {answer}"
        );
        assert_eq!(answer["partners"][0]["name"], SOURCE, "{answer}");
        // The deadline plus a generous allowance for starting the CLI in a debug build.
        assert!(
            took < Duration::from_millis(u64::from(DEADLINE_MS)) + Duration::from_secs(5),
            "{fault:?}: the search took {took:?} with a {DEADLINE_MS} ms deadline"
        );
        proxy.set_mode(Mode::Pass);
    }
    // Healed: the partner answers again.
    proxy.reset_now();
    assert!(
        common::eventually(Duration::from_secs(20), || {
            search(3_000).1["partners"][0]["status"] == "answered"
        }),
        "the partner never answered again after the faults"
    );
}

/// Opens `count` partner connections through the proxy as `puller` would (same
/// certificate), each asking for a live Pull stream, and resets each while it is
/// open; 4 at a time. Returns how many Pull streams were opened.
fn churn(puller: &TestNode, source: &TestNode, proxy: &FaultProxy, count: u64, cursor: u64) -> u64 {
    let identity_of = |node: &TestNode| {
        let config = node.node_dir().load_config().expect("config");
        node.node_dir().load_identity(&config).expect("identity")
    };
    let identity = identity_of(puller);
    let source_cert = identity_of(source).tls_cert_der;
    let address = proxy.address();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    runtime.block_on(async {
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let (next, address, opened) = (next.clone(), address.clone(), opened.clone());
            let tls = liaison::tls::client_config(
                &identity.tls_cert_der,
                &identity.tls_key_der,
                &source_cert,
            )
            .expect("client tls");
            let resetter = proxy_resetter(proxy);
            workers.push(tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < count {
                    let Ok(channel) =
                        liaison::channel::connect_channel(&address, tls.clone(), false).await
                    else {
                        continue;
                    };
                    let mut client =
                        liaison::proto::federation_client::FederationClient::new(channel);
                    let pull = client.pull(liaison::proto::PullRequest {
                        cursor,
                        ..Default::default()
                    });
                    if let Ok(Ok(response)) =
                        tokio::time::timeout(Duration::from_millis(500), pull).await
                    {
                        opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let mut stream = response.into_inner();
                        let _ =
                            tokio::time::timeout(Duration::from_millis(20), stream.message()).await;
                    }
                    // Records are flowing on this connection (and on the node's
                    // own sync stream): cut them all.
                    resetter();
                }
            }));
        }
        for worker in workers {
            worker.await.expect("churn worker");
        }
    });
    opened.load(std::sync::atomic::Ordering::SeqCst)
}

/// A `Send` closure resetting every connection open through `proxy`.
fn proxy_resetter(proxy: &FaultProxy) -> impl Fn() + Send + 'static {
    let handle = proxy.reset_handle();
    move || handle.reset_now()
}

/// A log line without its ANSI colours.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn figures(label: &str, who: &str, stats: ProcStats) {
    println!(
        "FIGURE faults reconnects {label} node={who} fds={} threads={} rss_kib={}",
        stats.fds, stats.threads, stats.rss_kib
    );
}

#[test]
fn a_thousand_reconnects_leave_no_growth_in_descriptors_threads_or_memory() {
    const RECONNECTS: u64 = 1_000;
    const WARM_UP: u64 = 100;
    let (source, sink, proxy) = pair_through_proxy();
    let mut published = publish_range(&source, 0, 20);
    wait_for(Duration::from_secs(60), "the first sync", || {
        received_from(&sink, SOURCE) == published.len() as u64
    });
    let cursor = published.len() as u64;
    // Warm up: the runtimes, allocator arenas and connection pools reach their
    // working size before the baseline is taken.
    churn(&sink, &source, &proxy, WARM_UP, cursor);
    std::thread::sleep(Duration::from_secs(1));
    let (source_pid, sink_pid) = (pid(&source), pid(&sink));
    let before = (ProcStats::of(source_pid), ProcStats::of(sink_pid));
    figures("before", "source", before.0);
    figures("before", "sink", before.1);
    let accepted_before = proxy.accepted();
    // Records keep flowing while the connections are reset.
    let flow = {
        let dir_source = source.node_dir();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let client = liaison::client::NodeClient::for_dir(&dir_source)
                    .await
                    .expect("connect");
                let mut analyst = client.analyst();
                let mut ids = Vec::new();
                for i in 0..150 {
                    let request = domain_request(10_000 + i, Tlp::Green);
                    let response = analyst.publish(request).await.expect("publish");
                    ids.push(response.into_inner().record_id);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                ids
            })
        })
    };
    let started = Instant::now();
    let streams = churn(&sink, &source, &proxy, RECONNECTS, cursor);
    let churn_time = started.elapsed();
    published.extend(flow.join().expect("publisher"));
    let reconnects = proxy.accepted() - accepted_before;
    println!(
        "FIGURE faults reconnects count={reconnects} pull_streams_opened={streams} took={churn_time:?} published_meanwhile=150"
    );
    assert!(reconnects >= RECONNECTS, "only {reconnects} connections");
    let after_raw = (ProcStats::of(source_pid), ProcStats::of(sink_pid));
    figures("after", "source", after_raw.0);
    figures("after", "sink", after_raw.1);
    // Idle blocking threads and closed sockets take a while to go (tokio keeps an
    // idle blocking thread 10 s): wait for the figures to settle within bounds.
    let within = |b: ProcStats, a: ProcStats| {
        a.fds <= b.fds + 16
            && a.threads <= b.threads + 32
            && a.rss_kib <= b.rss_kib * 3 / 2 + 32_768
    };
    let settled = common::eventually(Duration::from_secs(20), || {
        within(before.0, ProcStats::of(source_pid)) && within(before.1, ProcStats::of(sink_pid))
    });
    let after = (ProcStats::of(source_pid), ProcStats::of(sink_pid));
    figures("final", "source", after.0);
    figures("final", "sink", after.1);
    assert!(
        settled,
        "growth after {reconnects} reconnects: source {before:?} → {after:?} (pairs: source, sink)"
    );
    // And the sync, reset all along, ends with every record exactly once.
    proxy.set_mode(Mode::Pass);
    wait_for(Duration::from_secs(60), "sync to catch up", || {
        received_from(&sink, SOURCE) >= published.len() as u64
    });
    assert_eq!(received_from(&sink, SOURCE), published.len() as u64);
}
