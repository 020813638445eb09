//! Filling a stopped node's store quickly for the large-scale measurements:
//! records are signed with the node's own key (so they are real, verifiable
//! records of that node) and written in large atomic batches, then flushed.
//! Used only by `liaison bench`; a running node is never written behind its back.

use anyhow::Result;

use crate::lab::LabNode;
use liaison_core::indicator::Kind;
use liaison_core::record::{
    sign_payload, Body, Evaluation, Indicator, Label, NodeId, Payload, Tlp,
};
use liaison_identity::identity::NodeDir;
use liaison_server::config::NodeDirSetup;
use liaison_store::store::{Store, WriteBatch};

const BATCH: u64 = 2_000;

/// Writes `count` GREEN phone records with values from `value_of` into the
/// store of the (stopped) node in `dir`; returns the bytes of their envelopes
/// as encoded on the wire (signature, key and payload).
pub fn preload(dir: &NodeDir, count: u64, value_of: impl Fn(u64) -> String) -> Result<u64> {
    let config = dir.load_config()?;
    let identity = dir.load_identity(&config)?;
    let origin = identity.node_id();
    let store = Store::open(&dir.database(), config.node.cache_mb * 1024 * 1024)?;
    let mut next_change = store.last_change()? + 1;
    let mut sequence = store.origin_sequence(&origin)? + 1;
    let valid_until_ms = liaison_core::now_ms() + 30 * 86_400_000;
    let mut done = 0;
    let mut envelope_bytes = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let mut records = Vec::with_capacity(n as usize);
        for i in done..done + n {
            let payload = Payload {
                origin,
                sequence,
                created_ms: liaison_core::now_ms(),
                body: Body::Indicator(indicator(value_of(i), valid_until_ms)),
            };
            sequence += 1;
            let record = sign_payload(&identity.signing_key, &payload)?;
            envelope_bytes += prost::Message::encoded_len(&record.envelope.to_wire()) as u64;
            records.push(record);
        }
        let outcome = store.apply(
            &WriteBatch {
                records,
                // Received now: a zero arrival time would make the retention
                // rule treat every preloaded record as expired (List skips them).
                received_ms: liaison_core::now_ms(),
                ..Default::default()
            },
            next_change,
        )?;
        next_change = outcome.last_change + 1;
        done += n;
    }
    store.flush_blocking()?;
    Ok(envelope_bytes)
}

pub(super) fn indicator(value: String, valid_until_ms: i64) -> Indicator {
    Indicator {
        source: String::new(),
        first_seen_ms: None,
        kind: Kind::Phone,
        value,
        labels: vec![Label::ScamCentre],
        tlp: Tlp::Green,
        handling: vec![],
        handling_note: String::new(),
        evaluation: Evaluation::UNEVALUATED,
        valid_until_ms,
        description: "benchmark record (fictional)".into(),
        case_reference: String::new(),
        recipients: Vec::<NodeId>::new(),
        supersedes: None,
        outside_known_ranges: true,
    }
}

/// A lab node directory under a fresh temporary root (prefix `prefix`), filled
/// with `count` phone records by [`preload`]; prints how long that took. The
/// root is removed when the returned guard drops.
pub async fn preloaded_lab(prefix: &str, count: u64) -> Result<(tempfile::TempDir, NodeDir)> {
    let root = tempfile::Builder::new().prefix(prefix).tempdir()?;
    let dir = LabNode::create(root.path(), "Bench-A (example)")?;
    let started = std::time::Instant::now();
    tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || preload(&dir, count, super::phone)
    })
    .await??;
    out!(
        "  preload               {:>10.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok((root, dir))
}
