//! One record that no longer reads back never stops the store serving the others.

use ed25519_dalek::SigningKey;

use super::tests::record as domain;
use super::*;
use liaison_core::indicator::Kind;

#[test]
fn an_unreadable_record_is_skipped_counted_once_and_the_rest_still_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 1 << 20).unwrap();
    let key = SigningKey::from_bytes(&[3; 32]);
    let good = domain(&key, 1, "scam.example.org");
    let bad = domain(&key, 2, "scam.example.org");
    let batch = WriteBatch {
        records: vec![good.clone(), bad.clone()],
        ..Default::default()
    };
    store.apply(&batch, 1).unwrap();
    // Damage one stored record in place, as disk corruption would.
    store
        .tree()
        .insert(keys::record(&bad.id), &b"\x0a\x03\x01\x02"[..])
        .unwrap();

    assert_eq!(
        store
            .lookup(Kind::Domain, "scam.example.org")
            .unwrap()
            .len(),
        2
    );
    assert!(store.get(&good.id).unwrap().is_some());
    for _ in 0..3 {
        assert!(store.get(&bad.id).unwrap().is_none());
    }
    let (count, sample) = store.unreadable(10);
    assert_eq!(count, 1, "counted once however often it is read");
    assert_eq!(sample[0].0, bad.id);
    // The change log still lists both; a reader skips the damaged one.
    let changes = store.changes_after(0, 10).unwrap();
    let readable: Vec<_> = changes
        .iter()
        .filter_map(|(_, id)| store.get(id).unwrap())
        .collect();
    assert_eq!(readable.len(), 1);
    assert_eq!(readable[0].record.id, good.id);
}
