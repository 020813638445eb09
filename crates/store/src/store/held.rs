//! Records held per origin (issue 13's "records held by origin" metric): one
//! counter per origin agency, moved in the same atomic batch as the records it
//! counts (stored by [`Store::apply`], removed by the retention purge), so it is
//! exact at every durable point and read in O(origins), never by a scan.
//! Databases from before the counters get them built once at open.
//!
//! Must never be the only place a record is known: it is derived, like the
//! public-id index.

use std::collections::HashMap;

use super::db::Store;
use super::error::StoreError;
use super::keys;
use liaison_core::record::NodeId;

/// Changes to the per-origin counters staged by one write (+ stored, − purged).
#[derive(Default)]
pub(super) struct HeldDelta(HashMap<NodeId, i64>);

impl HeldDelta {
    pub(super) fn add(&mut self, origin: NodeId, n: i64) {
        *self.0.entry(origin).or_default() += n;
    }
}

impl Store {
    /// Records of `origin` held now (0 for an origin never seen).
    pub fn held_by_origin(&self, origin: &NodeId) -> Result<u64, StoreError> {
        keys::read_u64(self.tree(), &keys::held(origin))
    }

    /// Every origin with records held, and how many (one keyed range read per
    /// origin, no record decoded).
    pub fn held_by_origins(&self) -> Result<Vec<(NodeId, u64)>, StoreError> {
        let mut held = Vec::new();
        for entry in self.tree().scan_prefix([keys::HELD]) {
            let (key, value) = entry?;
            let origin = NodeId::from_slice(&key[1..])
                .map_err(|_| keys::corrupt(&key, "held counter key is not a node id"))?;
            let count = keys::decode_u64(&key, &value)?;
            if count > 0 {
                held.push((origin, count));
            }
        }
        Ok(held)
    }

    /// Adds the counters' new values to `batch`. Only the committer's writes
    /// call this (apply and purge), so the read-then-write cannot race.
    pub(super) fn stage_held(
        &self,
        delta: &HeldDelta,
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        for (origin, change) in &delta.0 {
            if *change == 0 {
                continue;
            }
            let key = keys::held(origin);
            let now = keys::read_u64(self.tree(), &key)?;
            let next = now.saturating_add_signed(*change);
            match next {
                0 => batch.remove(key),
                n => batch.insert(key, &n.to_be_bytes()[..]),
            }
        }
        Ok(())
    }

    /// Builds the counters for records stored before they existed (once). Each
    /// record is read back for its origin; one that no longer reads is not
    /// counted (it is reported by [`Store::unreadable`]).
    pub(super) fn backfill_held(&self) -> Result<(), StoreError> {
        let done = keys::meta(keys::META_HELD);
        if self.tree().contains_key(&done)? {
            return Ok(());
        }
        let mut delta = HeldDelta::default();
        for entry in self.tree().scan_prefix([keys::RECORD]) {
            let (key, _) = entry?;
            let id = keys::trailing_id(&key)?;
            if let Some(stored) = self.get(&id)? {
                delta.add(stored.record.origin(), 1);
            }
        }
        let mut batch = sled::Batch::default();
        for entry in self.tree().scan_prefix([keys::HELD]) {
            batch.remove(entry?.0);
        }
        for (origin, n) in &delta.0 {
            batch.insert(keys::held(origin), &(*n as u64).to_be_bytes()[..]);
        }
        batch.insert(done, &[1u8][..]);
        self.tree().apply_batch(batch)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::super::tests::{batch, record};
    use super::*;

    fn origin(key: &SigningKey) -> NodeId {
        NodeId(key.verifying_key().to_bytes())
    }

    #[test]
    fn counters_follow_writes_and_purges_and_are_built_once_for_old_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Store::open(&path, 1 << 20).unwrap();
        let (a, b) = (
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        );
        let first = record(&a, 1, "a1.example.org");
        store
            .apply(
                &batch(vec![first.clone(), record(&a, 2, "a2.example.org"), first]),
                1,
            )
            .unwrap();
        store
            .apply(&batch(vec![record(&b, 1, "b1.example.org")]), 3)
            .unwrap();
        assert_eq!(
            store.held_by_origin(&origin(&a)).unwrap(),
            2,
            "duplicate not counted"
        );
        assert_eq!(store.held_by_origin(&origin(&b)).unwrap(), 1);
        let total: u64 = store
            .held_by_origins()
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(total, store.record_count());

        // An old database: no counters, no marker. Opening builds them once.
        let mut wipe = sled::Batch::default();
        for entry in store.tree().scan_prefix([keys::HELD]) {
            wipe.remove(entry.unwrap().0);
        }
        wipe.remove(keys::meta(keys::META_HELD));
        store.tree().apply_batch(wipe).unwrap();
        assert!(store.held_by_origins().unwrap().is_empty());
        drop(store);
        let store = Store::open(&path, 1 << 20).unwrap();
        assert_eq!(store.held_by_origin(&origin(&a)).unwrap(), 2);
        assert_eq!(store.held_by_origin(&origin(&b)).unwrap(), 1);

        // The purge (valid-until 10) takes the counters down in the same write.
        assert_eq!(store.purge_expired(1_000).unwrap().len(), 3);
        assert_eq!(store.held_by_origin(&origin(&a)).unwrap(), 0);
        assert!(store.held_by_origins().unwrap().is_empty());
    }
}
