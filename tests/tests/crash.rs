//! Crash loops: `kill -9` at seeded random points, many times, against a node
//! that is publishing and against a node that is pulling its initial sync.
//! Afterwards the id sets are compared exactly: every acknowledged record is
//! there, nothing is there twice, a puller holds exactly what it may receive.
//! The puller keeps its bodies in 1 MiB value-log segments and receives about
//! 2.3 MiB of incompressible ones, so kills land while the sync's appends cross
//! segment boundaries; every record it logged must read back.
//! The seed is printed (`SEED …`); `LIAISON_TEST_SEED=N` replays a run.

use crate::common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::reliability::{
    domain_request, hex_set, noise, publish_many, received_from, stored_ids, wait_for, Rng,
};
use common::TestNode;
use liaison::config::NodeDirSetup;
use liaison::proto::{self, Tlp};

const KILLS: usize = 20;

/// Publishes with 4 calls in flight until the node dies; records what was acknowledged.
fn burst_until_killed(
    node: &TestNode,
    first_index: u64,
    acked: Arc<Mutex<Vec<(u64, String)>>>,
) -> std::thread::JoinHandle<u64> {
    let dir = node.node_dir();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let Ok(client) = liaison::client::NodeClient::for_dir(&dir).await else {
                return 0;
            };
            let next = Arc::new(std::sync::atomic::AtomicU64::new(first_index));
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let (mut analyst, next, acked) = (client.analyst(), next.clone(), acked.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        match analyst.publish(domain_request(i, Tlp::Green)).await {
                            // Acknowledged: it must survive whatever happens next.
                            Ok(r) => acked
                                .lock()
                                .expect("lock")
                                .push((i, r.into_inner().record_id)),
                            // Rate-limited: refused before anything was signed; go on.
                            Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                                tokio::time::sleep(Duration::from_millis(50)).await
                            }
                            // The node died: this call's fate is unknown, and allowed to be.
                            Err(_) => return,
                        }
                    }
                }));
            }
            for task in tasks {
                let _ = task.await;
            }
            next.load(std::sync::atomic::Ordering::SeqCst)
        })
    })
}

#[test]
fn a_publisher_killed_mid_burst_keeps_every_acknowledged_record_once() {
    let mut rng = Rng::from_env_or_time("crash_publisher");
    let mut node = TestNode::init("Agency Crash (example)");
    let acked = Arc::new(Mutex::new(Vec::<(u64, String)>::new()));
    let mut next_index = 0;
    for round in 0..KILLS {
        node.start();
        let before = acked.lock().expect("lock").len();
        let burst = burst_until_killed(&node, next_index, acked.clone());
        // The clock starts at the round's first acknowledgement, so every round
        // is killed mid-burst rather than while connecting.
        wait_for(Duration::from_secs(10), "a first publish", || {
            acked.lock().expect("lock").len() > before
        });
        let after = Duration::from_millis(rng.range(30, 400));
        std::thread::sleep(after);
        node.kill();
        // Never reuse a value: an unacknowledged call may or may not be stored.
        next_index = burst.join().expect("burst") + 8;
        println!(
            "crash publisher round {round}: killed after {after:?}, {} acknowledged so far",
            acked.lock().expect("lock").len()
        );
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= KILLS,
        "too few publishes were acknowledged ({}) for the test to mean anything",
        acked.len()
    );
    // Every acknowledged id is readable through the API after a last restart.
    node.start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = node.node_dir();
    let missing = runtime.block_on(async {
        let client = liaison::client::NodeClient::for_dir(&dir)
            .await
            .expect("connect");
        let mut analyst = client.analyst();
        let mut missing = Vec::new();
        for (_, id) in &acked {
            let request = proto::GetRequest {
                record_id: id.clone(),
            };
            if analyst.get(request).await.is_err() {
                missing.push(id.clone());
            }
        }
        missing
    });
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    node.stop();
    // And stored exactly once, with no origin sequence signed twice.
    let stored = hex_set(&stored_ids(&node));
    let acked_ids: HashSet<String> = acked.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(acked_ids.len(), acked.len(), "two acks with one id");
    assert!(acked_ids.is_subset(&stored));
    println!(
        "FIGURE crash publisher kills={KILLS} acknowledged={} stored={} (unacknowledged but stored: {})",
        acked.len(),
        stored.len(),
        stored.len() - acked_ids.len()
    );
}

/// How many value-log segment files a node's database holds.
fn segment_files(node: &TestNode) -> usize {
    std::fs::read_dir(node.node_dir().database().join("vlog"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
                .count()
        })
        .unwrap_or(0)
}

/// A fresh puller enrolled both ways with `source` at a GREEN ceiling, its
/// value log in 1 MiB segments; stopped.
fn new_sink(source: &TestNode, n: usize) -> TestNode {
    let mut sink = TestNode::init(&format!("Agency Sink {n} (example)"));
    let dir = sink.node_dir();
    let mut config = dir.load_config().expect("config");
    config.node.store.value_log_segment_mib = 1;
    std::fs::write(dir.config(), config.to_toml()).expect("write config");
    sink.start();
    sink.enroll(source, "green", false);
    source.enroll(&sink, "green", false);
    sink.kill();
    sink
}

/// Asserts a stopped sink holds exactly `expected`, each once.
fn assert_exact(sink: &TestNode, expected: &HashSet<String>) {
    let held = hex_set(&stored_ids(sink));
    let lost: Vec<_> = expected.difference(&held).collect();
    let extra: Vec<_> = held.difference(expected).collect();
    assert!(
        lost.is_empty(),
        "{} lost {} records: {lost:?}",
        sink.name,
        lost.len()
    );
    assert!(
        extra.is_empty(),
        "{} holds {} records it may not: {extra:?}",
        sink.name,
        extra.len()
    );
}

#[test]
fn a_puller_killed_again_and_again_during_initial_sync_ends_with_exactly_its_records() {
    // Enough bytes for four sync batches or so (a batch is bounded at 2 MiB, a
    // record here is ~5 kB): with 500 records (two batches) and registry crates
    // optimised in the dev profile, every kill landed before the first commit
    // or after the last, and no kill ever saw a sink part-way through.
    const GREEN: u64 = 1_500;
    const AMBER: u64 = 60;
    // Kills that must find the sink holding some but not all of its records.
    const PARTIAL: usize = KILLS / 4;
    let mut rng = Rng::from_env_or_time("crash_puller");
    let mut source = TestNode::init("Agency Source (example)");
    source.start();
    let started = Instant::now();
    // Long descriptions make several sync batches (a batch is bounded in bytes),
    // so a kill can land between two of them as well as inside one; random
    // text does not compress, so the sink's bodies fill three 1 MiB segments.
    // AMBER is above the sinks' GREEN ceiling: it must never arrive.
    let seed = rng.next_u64();
    let published = publish_many(&source, GREEN + AMBER, 16, move |i| {
        let tlp = if i % 26 == 25 { Tlp::Amber } else { Tlp::Green };
        let mut text = Rng::seeded(seed ^ i);
        proto::PublishRequest {
            description: format!(
                "crash-loop record {i} (fictional) {}",
                noise(&mut text, 4000)
            ),
            case_reference: format!("CASE-{i}-{}", noise(&mut text, 1000)),
            handling_note: noise(&mut text, 1000),
            ..domain_request(i, tlp)
        }
    });
    println!(
        "preloaded {} records in {:?}",
        published.len(),
        started.elapsed()
    );
    let may_receive: HashSet<String> = published
        .iter()
        .filter(|(i, _)| i % 26 != 25)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(may_receive.len() as u64, GREEN);

    // The kill window adapts to this build's speed: it grows while a round
    // makes no progress and shrinks when a round finishes the whole sync (the
    // finished sink is checked, and a fresh sink starts its initial sync).
    let mut sinks = 1;
    let mut sink = new_sink(&source, sinks);
    let mut window_ms: u64 = 1_500;
    let (mut mid_sync, mut progressed, mut partial, mut previous) = (0, 0, 0, 0);
    for round in 0..3 * KILLS {
        if mid_sync >= KILLS && partial >= PARTIAL {
            break;
        }
        sink.start();
        wait_for(Duration::from_secs(10), "the sync stream to open", || {
            sink.log().contains("sync stream open")
        });
        let after = Duration::from_millis(rng.range(0, window_ms));
        std::thread::sleep(after);
        sink.kill();
        // Read the killed node's database: how far did it get?
        let held = stored_ids(&sink).len() as u64;
        println!(
            "crash puller round {round}: {} killed after {after:?}, holds {held}/{GREEN}, value-log segments {}",
            sink.name,
            segment_files(&sink)
        );
        if held < GREEN {
            mid_sync += 1;
            if held > 0 {
                partial += 1;
            }
            if held > previous {
                progressed += 1;
            } else {
                window_ms = (window_ms * 3 / 2).min(5_000);
            }
            previous = held;
        } else {
            assert_exact(&sink, &may_receive);
            window_ms = (window_ms / 2).max(20);
            sinks += 1;
            sink = new_sink(&source, sinks);
            previous = 0;
        }
    }
    assert!(mid_sync >= KILLS, "only {mid_sync} kills landed mid-sync");
    assert!(
        partial >= PARTIAL,
        "only {partial} kills found the sink part-way through its sync (between or inside batches)"
    );
    sink.start();
    let last_start = Instant::now();
    let name = "Agency Source (example)";
    wait_for(
        Duration::from_secs(120),
        "the sink to finish its sync",
        || received_from(&sink, name) >= GREEN,
    );
    println!(
        "crash puller: the last run finished the sync in {:?}",
        last_start.elapsed()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(received_from(&sink, name), GREEN, "a record counted twice");
    sink.stop();
    assert_exact(&sink, &may_receive);
    let segments = segment_files(&sink);
    assert!(
        segments >= 3,
        "the sync filled {segments} value-log segment(s): no boundary was crossed"
    );
    println!(
        "FIGURE crash puller kills_mid_sync={mid_sync} part_way={partial} with_progress={progressed} sinks={sinks} records={GREEN} exact=true"
    );
}
