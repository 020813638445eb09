//! The migration step 2.1 → 3: every record body leaves its `R` entry for the
//! value log (store/bodies.rs), the entry keeping a pointer. First a
//! compression dictionary is trained from the first bodies, then the records
//! are walked in key order, a chunk at a time: the chunk's bodies appended and
//! synced, then one checkpoint batch moves their entries, the segments' live
//! bytes, the log's head and the cursor (records walked, last key). A kill
//! between the two leaves the appended bodies past the recorded head, cut at
//! the next open, and the chunk is redone from the cursor.
//!
//! An entry already holding a pointer is skipped (idempotent), and a 2.1 body
//! that does not decode is left as it is: it was unreadable before and is
//! reported the same way after. Must never change an envelope's bytes.

use super::bodies::{LiveDelta, RecordRef, TRAIN_SAMPLES};
use super::db::Store;
use super::error::StoreError;
use super::keys;
use super::migrate::{chunk_for, StepRun};
use super::records::inline_facts;

pub(super) fn bodies_step(store: &Store, run: &mut StepRun<'_>) -> Result<(), StoreError> {
    let key = keys::meta(keys::META_MIGRATION);
    let (mut done, mut after) = match run.resume_from() {
        None => (0, vec![keys::RECORD]),
        Some(c) if c.len() > 8 => (keys::decode_u64(&key, &c[..8])?, c[8..].to_vec()),
        Some(_) => return Err(keys::corrupt(&key, "body migration cursor too short")),
    };
    let total = store.record_count();
    if !store.vlog().has_dictionary() {
        let mut samples = Vec::new();
        for entry in store.tree().scan_prefix([keys::RECORD]) {
            let (_, value) = entry?;
            if RecordRef::decode(&value).is_none() {
                samples.push(value.to_vec());
            }
            if samples.len() == TRAIN_SAMPLES {
                break;
            }
        }
        let refs: Vec<&[u8]> = samples.iter().map(Vec::as_slice).collect();
        store.vlog().train_dictionary(&refs)?;
    }
    let chunk = chunk_for(total) as usize;
    loop {
        let mut walked = Vec::new();
        let end = vec![keys::RECORD + 1];
        for entry in store.tree().range(after.clone()..end) {
            let (k, value) = entry?;
            if k.as_ref() == after.as_slice() {
                continue;
            }
            walked.push((k, value));
            if walked.len() == chunk {
                break;
            }
        }
        let Some((last, _)) = walked.last() else {
            break;
        };
        after = last.to_vec();
        done += walked.len() as u64;
        let moving: Vec<_> = walked
            .into_iter()
            .filter(|(_, v)| RecordRef::decode(v).is_none())
            .filter_map(|(k, v)| inline_facts(&v).map(|facts| (k, v, facts)))
            .collect();
        let bodies: Vec<Vec<u8>> = moving.iter().map(|(_, v, _)| v.to_vec()).collect();
        let pointers = store.append_bodies(&bodies)?;
        let mut batch = sled::Batch::default();
        let mut live = LiveDelta::default();
        for ((k, _, (local_seq, received_ms)), pointer) in moving.iter().zip(pointers) {
            live.add(&pointer, 1);
            let entry = RecordRef {
                pointer,
                local_seq: *local_seq,
                received_ms: *received_ms,
            };
            batch.insert(k.clone(), entry.encode());
        }
        store.stage_live(&live, &mut batch)?;
        store.stage_head(&mut batch);
        let cursor = [&done.to_be_bytes()[..], &after].concat();
        run.checkpoint(batch, &cursor, done, total.max(done))?;
    }
    Ok(())
}
