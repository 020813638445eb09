//! Support for the reliability suite (crash loops, network faults, hostile
//! peers): a seeded RNG whose seed is printed, process ids and figures of a
//! running node, publishing bursts over gRPC, and reading a stopped node's
//! database to compare id sets exactly.
//!
//! Nothing here writes to a node's database: a stopped node's store is opened
//! only to read it, and a running node is only ever reached through its API.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use liaison::client::NodeClient;
use liaison::proto;
use liaison::record::RecordId;
use liaison::store::Store;

use super::TestNode;
use liaison::config::NodeDirSetup;

/// A small, seeded generator (SplitMix64): reproducible from the printed seed,
/// no dependency. `LIAISON_TEST_SEED=N` replays a failing run.
pub struct Rng(u64);

impl Rng {
    pub fn from_env_or_time(test: &str) -> Rng {
        let seed = std::env::var("LIAISON_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        println!("SEED {test} LIAISON_TEST_SEED={seed}");
        Rng(seed)
    }

    /// A generator derived from a seed (e.g. one per record, from the printed seed).
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..high` (high exclusive, high > low).
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low).max(1)
    }
}

/// Text that compresses poorly (record bodies that fill value-log segments),
/// in the characters a description may hold.
pub fn noise(rng: &mut Rng, chars: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..chars)
        .map(|_| ALPHABET[rng.range(0, ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// The node's process id while it runs.
pub fn pid(node: &TestNode) -> u32 {
    node.child
        .as_ref()
        .map(|c| c.id())
        .expect("node is running")
}

/// Makes the node advertise `endpoint` (e.g. a fault proxy) in the bundle it
/// exports; takes effect at its next start.
pub fn advertise(node: &TestNode, endpoint: &str) {
    let dir = node.node_dir();
    let mut config = dir.load_config().expect("config");
    config.node.endpoints = vec![endpoint.to_string()];
    std::fs::write(dir.config(), config.to_toml()).expect("write config");
}

/// Enrolls `other`'s bundle at `node` with a GREEN ceiling (CLI).
pub fn enroll_green(node: &TestNode, other: &TestNode) {
    node.enroll(other, "green", false);
}

/// The change log of a STOPPED node: record ids in local order, and checks
/// that no id is logged twice (a record stored twice would be).
pub fn stored_ids(node: &TestNode) -> Vec<RecordId> {
    let store = Store::open(&node.node_dir().database(), 16 * 1024 * 1024)
        .expect("open the stopped node's database");
    let changes = store.changes_after(0, usize::MAX).expect("change log");
    let ids: Vec<RecordId> = changes.into_iter().map(|(_, id)| id).collect();
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "{}: a record id appears twice in the change log",
        node.name
    );
    assert_eq!(
        store.record_count(),
        ids.len() as u64,
        "{}: record counter differs from the change log",
        node.name
    );
    // A per-origin sequence is never signed twice (a crash must not reuse one).
    let mut sequences = HashSet::new();
    for id in &ids {
        let stored = store.get(id).expect("read record").expect("logged record");
        let key = (stored.record.origin(), stored.record.payload.sequence);
        assert!(
            sequences.insert(key),
            "{}: origin sequence {} used by two records",
            node.name,
            key.1
        );
    }
    ids
}

/// Hex ids, for comparing with what the API returned.
pub fn hex_set(ids: &[RecordId]) -> HashSet<String> {
    ids.iter().map(|id| id.to_hex()).collect()
}

/// A GREEN (or other) phone publish request for a fictional drama-range number.
pub fn phone_request(index: u64, tlp: proto::Tlp) -> proto::PublishRequest {
    proto::PublishRequest {
        kind: proto::IndicatorKind::Phone as i32,
        value: format!("+447700{:06}", index % 1_000_000),
        tlp: tlp as i32,
        ..Default::default()
    }
}

/// A domain publish request (`n<index>.example.org`): domains normalise without
/// the phone metadata's slow first load, so a freshly restarted node answers at once.
pub fn domain_request(index: u64, tlp: proto::Tlp) -> proto::PublishRequest {
    proto::PublishRequest {
        kind: proto::IndicatorKind::Domain as i32,
        value: format!("n{index}.example.org"),
        tlp: tlp as i32,
        ..Default::default()
    }
}

/// Publishes `count` records at `node` over gRPC, `workers` calls in flight;
/// `request(i)` builds the i-th. Returns (index, record id) per acknowledged call.
pub fn publish_many(
    node: &TestNode,
    count: u64,
    workers: u64,
    request: impl Fn(u64) -> proto::PublishRequest + Send + Sync + 'static,
) -> Vec<(u64, String)> {
    let dir = node.node_dir();
    let request = Arc::new(request);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let client = NodeClient::for_dir(&dir).await.expect("connect");
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let (mut analyst, next, acked, request) = (
                client.analyst(),
                next.clone(),
                acked.clone(),
                request.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= count {
                        return;
                    }
                    let response = loop {
                        match analyst.publish(request(i)).await {
                            Ok(response) => break response,
                            // A node's rate limit: wait and try the same record again.
                            Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                                tokio::time::sleep(std::time::Duration::from_millis(50)).await
                            }
                            Err(s) => panic!("publish {i}: {s}"),
                        }
                    };
                    acked
                        .lock()
                        .expect("lock")
                        .push((i, response.into_inner().record_id));
                }
            }));
        }
        for task in tasks {
            task.await.expect("publisher");
        }
        let mut acked = acked.lock().expect("lock").clone();
        acked.sort();
        acked
    })
}

/// The partner row named `name` in `node`'s `partner list --json`.
pub fn partner_row(node: &TestNode, name: &str) -> serde_json::Value {
    let list = node.cli_json(&["partner", "list"]);
    list["partners"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no partner {name} in {list}"))
}

/// Records received from partner `name` (0 when unknown).
pub fn received_from(node: &TestNode, name: &str) -> u64 {
    crate::common::int(&partner_row(node, name)["recordsReceived"])
}

/// p50 and p99 of durations, in milliseconds.
pub fn p50_p99(samples: &[Duration]) -> (f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(0.0)
    };
    (at(0.50), at(0.99))
}

/// Waits (polling) until `check` holds; panics with `what` after `timeout`.
pub fn wait_for(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the kernel says about a process: open descriptors, threads, resident memory.
#[derive(Clone, Copy, Debug)]
pub struct ProcStats {
    pub fds: usize,
    pub threads: u64,
    pub rss_kib: u64,
}

impl ProcStats {
    /// Reads /proc/PID (Linux).
    pub fn of(pid: u32) -> ProcStats {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        ProcStats {
            fds,
            threads: field("Threads:"),
            rss_kib: field("VmRSS:"),
        }
    }
}
