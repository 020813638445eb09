//! A measurement, not a check (ignored by default): where the bytes of a
//! database go. Stores records the way a sync does (batches of 1,024, a flush
//! after each), then prints the logical bytes of each keyspace next to what
//! sled takes on disk. Run with
//! `cargo test -p liaison-store --lib space_tests -- --ignored --nocapture`.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;

use super::tests::batch;
use super::*;
use std::path::Path;

fn directory_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => directory_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "a measurement; prints figures"]
fn where_the_bytes_of_a_database_go() {
    const RECORDS: u64 = 20_480;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::open(&path, 64 << 20).unwrap();
    let key = SigningKey::from_bytes(&[43; 32]);
    let mut envelope = 0u64;
    let mut next = 1;
    for chunk in 0..RECORDS / 1024 {
        let records: Vec<_> = (0..1024)
            .map(|i| {
                let seq = chunk * 1024 + i + 1;
                super::tests::record(&key, seq, &format!("host-{seq}.example.org"))
            })
            .collect();
        envelope += records
            .iter()
            .map(|r| prost::Message::encoded_len(&r.envelope.to_wire()) as u64)
            .sum::<u64>();
        let outcome = store.apply(&batch(records), next).unwrap();
        next = outcome.last_change + 1;
        store.flush_blocking().unwrap();
    }
    let mut by_space: BTreeMap<char, (u64, u64)> = BTreeMap::new();
    for entry in store.tree().iter() {
        let (k, v) = entry.unwrap();
        let space = by_space.entry(k[0] as char).or_default();
        space.0 += 1;
        space.1 += (k.len() + v.len()) as u64;
    }
    let logical: u64 = by_space.values().map(|(_, bytes)| bytes).sum();
    println!(
        "{RECORDS} records, envelope {} B/record",
        envelope / RECORDS
    );
    for (space, (keys, bytes)) in &by_space {
        println!(
            "  keyspace {space}: {keys} keys, {} B/record",
            bytes / RECORDS
        );
    }
    let vlog = store.vlog_bytes().unwrap();
    println!(
        "  value log (bodies, compressed): {} B/record",
        vlog / RECORDS
    );
    let on_disk = directory_bytes(&path);
    println!(
        "  logical in sled {} B/record; on disk {} B/record = {:.2}x the envelope (size_on_disk {})",
        logical / RECORDS,
        on_disk / RECORDS,
        on_disk as f64 / envelope as f64,
        store.size_on_disk().unwrap() / RECORDS
    );
}
