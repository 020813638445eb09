//! The value log's compaction under `kill -9`: a node with 1 MiB segments
//! (`[store] value_log_segment_mib = 1`) is filled in waves of records, two in
//! three of them expiring a moment later, so the purge leaves the wave's
//! segments a third live and compaction rewrites them. Each wave's compaction
//! is killed again and again at a random short delay after its start line
//! ("compacting the value log") until a restart finds it done. Afterwards the
//! node serves exactly the long-lived records (list, search, and a partner
//! syncing them, each signature verified on receipt), none of the purged ones,
//! reports no unreadable record, and the log holds no segment file beyond what
//! its live bodies need. The seed is printed (`SEED …`); `LIAISON_TEST_SEED=N`
//! replays a run.

use crate::common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::reliability::{
    domain_request, hex_set, noise, publish_many, received_from, stored_ids, wait_for, Rng,
};
use common::TestNode;
use liaison::config::NodeDirSetup;
use liaison::proto::{self, Tlp};
use liaison::record::RecordId;
use liaison::store::Store;

/// Records per wave: ~3.8 KB of incompressible text each, so a wave fills
/// about three 1 MiB segments.
const WAVE: u64 = 800;
/// One record in `KEEP_EVERY` is long-lived; the others expire at once.
const KEEP_EVERY: u64 = 3;
const MAX_WAVES: u64 = 5;
/// Kills that must land between a compaction's start and end lines.
const MID_COMPACTION_KILLS: usize = 3;
const MAX_KILLS_PER_WAVE: usize = 12;

/// Sets the node's segment size and purge interval (node stopped).
fn configure(node: &TestNode, purge_interval_seconds: u64) {
    let dir = node.node_dir();
    let mut config = dir.load_config().expect("config");
    config.node.store.value_log_segment_mib = 1;
    config.node.purge_interval_seconds = purge_interval_seconds;
    std::fs::write(dir.config(), config.to_toml()).expect("write config");
}

fn vlog_dir(node: &TestNode) -> PathBuf {
    node.node_dir().database().join("vlog")
}

/// Segment files (id, bytes), by id.
fn segments(dir: &Path) -> Vec<(u32, u64)> {
    let mut found: Vec<(u32, u64)> = std::fs::read_dir(dir)
        .expect("value log directory")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let id = u32::from_str_radix(name.strip_suffix(".seg")?, 16).ok()?;
            Some((id, entry.metadata().ok()?.len()))
        })
        .collect();
    found.sort_unstable();
    found
}

/// A wave's record `i`: long-lived when `i % KEEP_EVERY == 0`, else valid for
/// one more second from when it is published.
fn wave_request(wave: u64, i: u64, seed: u64) -> proto::PublishRequest {
    let mut rng = Rng::seeded(seed ^ (wave << 32) ^ i);
    let valid_until_unix_ms = if i.is_multiple_of(KEEP_EVERY) {
        0
    } else {
        now_ms() + 1_000
    };
    proto::PublishRequest {
        value: format!("vlog-w{wave}-{i}.example.org"),
        description: format!(
            "compaction crash record (fictional) {}",
            noise(&mut rng, 4000)
        ),
        case_reference: wave_label(wave),
        handling_note: noise(&mut rng, 1000),
        valid_until_unix_ms,
        ..domain_request(i, Tlp::Green)
    }
}

/// Each wave's case reference: the records are listed a wave at a time, since
/// all of them in one answer would pass the client's 8 MiB message limit.
fn wave_label(wave: u64) -> String {
    format!("vlog-wave-{wave}")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Polls the running node's log finely (a compaction takes milliseconds).
fn wait_for_line(node: &TestNode, line: &str, or: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if node.log().contains(line) {
            return true;
        }
        if or() {
            return false;
        }
        assert!(
            Instant::now() < deadline,
            "{}: no compaction started and the wave's segments are still there; log:\n{}",
            node.name,
            node.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn compaction_killed_again_and_again_loses_nothing_and_leaves_no_segment_behind() {
    let mut rng = Rng::from_env_or_time("vlog_crash");
    let seed = rng.next_u64();
    let mut node = TestNode::init("Agency Vlog (example)");
    // Purges run at start only, so each restart retries the compaction.
    configure(&node, 3600);
    let vlog = vlog_dir(&node);
    let (mut keep, mut gone) = (HashSet::new(), HashSet::new());
    let (mut published_bytes, mut published) = (0u64, 0u64);
    let (mut mid, mut kills) = (0usize, 0usize);
    let mut window_ms = 40;
    let mut wave = 0;
    while wave < MAX_WAVES && mid < MID_COMPACTION_KILLS {
        node.start();
        let before = segments(&vlog);
        let bytes_before: u64 = before.iter().map(|(_, b)| b).sum();
        let acked = publish_many(&node, WAVE, 8, move |i| wave_request(wave, i, seed));
        let expired_by = now_ms() + 1_000;
        node.stop();
        let after = segments(&vlog);
        published_bytes += after.iter().map(|(_, b)| b).sum::<u64>() - bytes_before;
        published += WAVE;
        for (i, id) in acked {
            if i % KEEP_EVERY == 0 {
                keep.insert(id);
            } else {
                gone.insert(id);
            }
        }
        // Segments this wave opened and filled: two thirds of them expire.
        let first_active = before.last().map(|(id, _)| *id).unwrap_or(0);
        let last_active = after.last().map(|(id, _)| *id).unwrap_or(0);
        let filled: Vec<u32> = (first_active + 1..last_active).collect();
        assert!(
            filled.len() >= 2,
            "wave {wave} filled only {filled:?}: the records are too small for 1 MiB segments"
        );
        // Every short-lived record has expired before the next start.
        wait_for(
            Duration::from_secs(10),
            "the wave's records to expire",
            || now_ms() > expired_by,
        );
        let filled_gone = || {
            let present: HashSet<u32> = segments(&vlog).iter().map(|(id, _)| *id).collect();
            filled.iter().all(|id| !present.contains(id))
        };
        for round in 0..MAX_KILLS_PER_WAVE {
            node.start();
            if !wait_for_line(&node, "compacting the value log", filled_gone) {
                println!("wave {wave} round {round}: the compaction was complete at the start");
                break;
            }
            let delay = Duration::from_millis(rng.range(0, window_ms));
            std::thread::sleep(delay);
            node.kill();
            kills += 1;
            let finished = node.log().contains("compacted the value log");
            if finished {
                window_ms = (window_ms / 2).max(2);
            } else {
                mid += 1;
                window_ms = (window_ms * 3 / 2).min(500);
            }
            println!(
                "wave {wave} round {round}: killed {delay:?} after the start line, {} the end line; segments {:?}",
                if finished { "after" } else { "before" },
                segments(&vlog).iter().map(|(id, _)| *id).collect::<Vec<_>>()
            );
            assert!(
                round + 1 < MAX_KILLS_PER_WAVE,
                "wave {wave}: the compaction never completed across {MAX_KILLS_PER_WAVE} restarts"
            );
        }
        node.stop();
        wave += 1;
    }
    assert!(
        mid >= MID_COMPACTION_KILLS,
        "only {mid} of {kills} kills landed inside a compaction in {wave} waves"
    );

    // The next compactions (a purge every second) leave every closed segment
    // at least half live: the files are at most twice the live bodies and the
    // active segment. An orphan (a segment retired but not deleted, or copies
    // beyond the recorded head) would stay above that.
    configure(&node, 1);
    node.start();
    let body = published_bytes / published;
    let bound = 2 * keep.len() as u64 * body + (1 << 20) + 4096;
    wait_for(
        Duration::from_secs(30),
        "the value log to shrink to its live bodies",
        || segments(&vlog).iter().map(|(_, b)| b).sum::<u64>() <= bound,
    );

    // Served: every long-lived record listed, none of the purged ones.
    let mut listed: HashSet<String> = HashSet::new();
    for wave_index in 0..wave {
        let case = wave_label(wave_index);
        let list = node.cli_json(&["list", "--case", &case, "--limit", "1000"]);
        listed.extend(
            list["records"]
                .as_array()
                .expect("records")
                .iter()
                .map(|r| r["recordId"].as_str().unwrap_or_default().to_string()),
        );
    }
    assert_eq!(
        listed.len(),
        keep.len(),
        "listed {} of {}",
        listed.len(),
        keep.len()
    );
    assert_eq!(
        listed, keep,
        "the listed records differ from the long-lived ones"
    );
    assert!(listed.is_disjoint(&gone));
    // Search finds a long-lived value and not a purged one.
    for wave_index in 0..wave {
        let kept_value = format!("vlog-w{wave_index}-{}.example.org", KEEP_EVERY * 7);
        assert_eq!(node.search_ids(&kept_value).len(), 1, "{kept_value}");
        let purged_value = format!("vlog-w{wave_index}-{}.example.org", KEEP_EVERY * 7 + 1);
        assert!(node.search_ids(&purged_value).is_empty(), "{purged_value}");
    }

    // A partner syncing from it receives each long-lived record, verified.
    let mut sink = TestNode::init("Agency Vlog Sink (example)");
    configure(&sink, 60);
    sink.start();
    sink.enroll(&node, "green", false);
    node.enroll(&sink, "green", false);
    wait_for(Duration::from_secs(60), "the partner's sync", || {
        received_from(&sink, &node.name) >= keep.len() as u64
    });
    let shown = node.cli_json(&["identity", "show"]);
    assert_eq!(
        common::int_opt(&shown["unreadableRecords"]).unwrap_or(0),
        0,
        "unreadable records after the crash loop: {shown}"
    );
    sink.stop();
    node.stop();
    assert_eq!(hex_set(&stored_ids(&sink)), keep, "the partner's records");
    // The stopped node's database: each long-lived record reads back, each
    // purged one is gone, and the counter agrees.
    let store = Store::open(&node.node_dir().database(), 16 << 20).expect("open the database");
    assert_eq!(store.record_count(), keep.len() as u64, "record counter");
    for (ids, present) in [(&keep, true), (&gone, false)] {
        for id in ids {
            let id: RecordId = id.parse().expect("record id");
            let found = store.get(&id).expect("read a record");
            assert_eq!(
                found.is_some(),
                present,
                "{}: stored is {}",
                id.to_hex(),
                found.is_some()
            );
        }
    }
    assert_eq!(
        store.unreadable(1).0,
        0,
        "unreadable records in the database"
    );
    println!(
        "FIGURE vlog crash waves={wave} kills={kills} mid_compaction={mid} kept={} purged={} body_bytes={body}",
        keep.len(),
        gone.len()
    );
}
