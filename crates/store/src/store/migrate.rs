//! Moving a database from an older layout to the one this build writes, at open.
//!
//! The layout marker (`M schema`) names the layout a database is in. This module
//! owns the decision about a marker (current, older and migrated, newer and
//! refused, unknown and refused) and the ordered list of [`STEPS`] that take a
//! database from each older layout to the next one. Each step:
//!
//! - keeps its progress durably in the database (`M migration`: the layout it
//!   leads to and the step's own cursor), written in the same batch as the work
//!   it covers, so a step killed midway resumes at its last checkpoint;
//! - is idempotent: work redone after a kill writes the same keys again;
//! - moves the marker to its target layout last, in the batch that removes its
//!   progress, so a database is never marked newer than its keys are.
//!
//! Progress goes to a callback (the CLI draws it on a terminal, `Store::open`
//! logs it). This module must never decide anything about records' content,
//! never leave the marker ahead of the data, and never touch a database whose
//! layout is newer than [`CURRENT`] (an older build must not misread a newer
//! database, and neither must this one).

use std::fmt;

use super::changelog::stage_relogged;
use super::db::Store;
use super::error::StoreError;
use super::keys;

/// A store layout: the version its marker names (`liaison-store-v2.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Layout {
    pub major: u32,
    pub minor: u32,
}

const V1: Layout = Layout { major: 1, minor: 0 };
const V2: Layout = Layout { major: 2, minor: 0 };
/// v2 plus the `RELOGGED` keys (a record's latest change-log position). Release
/// 0.1.0 writes v2 and ignores keys it does not know, so it would keep serving
/// from a 2.1 database but leave those keys stale for the next upgrade: the
/// minor bump makes 0.1.0 refuse the database instead (docs/OPERATIONS.md).
pub(super) const V2_1: Layout = Layout { major: 2, minor: 1 };
/// Record bodies in the value log, sled holding pointers (store/bodies.rs).
/// Releases up to 0.3.0 refuse it (a newer layout).
const V3: Layout = Layout { major: 3, minor: 0 };

/// The layout this build writes.
pub const CURRENT: Layout = V3;

impl Layout {
    /// The marker stored for this layout.
    pub fn marker(self) -> Vec<u8> {
        format!("liaison-store-v{self}").into_bytes()
    }

    /// The layout a marker names; `None` for anything that is not a marker.
    pub fn parse(marker: &[u8]) -> Option<Layout> {
        let text = std::str::from_utf8(marker).ok()?;
        let version = text.strip_prefix("liaison-store-v")?;
        let (major, minor) = version.split_once('.').unwrap_or((version, "0"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(Layout {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            0 => write!(f, "{}", self.major),
            minor => write!(f, "{}.{minor}", self.major),
        }
    }
}

/// Where a migration stands, reported after every checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationProgress {
    /// What the step does, for people.
    pub step: &'static str,
    /// This step's number (from 1) among the steps this database needs.
    pub number: usize,
    pub steps: usize,
    pub from: Layout,
    pub to: Layout,
    /// Units of work done and in all (the step says which unit; 0 of 0 for a
    /// step with nothing to walk).
    pub done: u64,
    pub total: u64,
    /// The step picked up a run that was stopped (a kill, a failure) midway.
    pub resumed: bool,
    /// The step is complete and the marker names `to`.
    pub finished: bool,
}

/// The work of one step; it calls [`StepRun::checkpoint`] as it goes.
pub(super) type StepFn = fn(&Store, &mut StepRun<'_>) -> Result<(), StoreError>;

/// One move from a layout to the next.
pub(super) struct Step {
    pub from: Layout,
    pub to: Layout,
    pub name: &'static str,
    pub run: StepFn,
}

/// Every step, in order: each one's `to` is the next one's `from`.
pub(super) const STEPS: &[Step] = &[
    Step {
        from: V1,
        to: V2,
        name: "layout marker (v2 reads every v1 key as it is)",
        run: |_, _| Ok(()),
    },
    Step {
        from: V2,
        to: V2_1,
        name: "latest change-log positions of re-logged records",
        run: relogged_step,
    },
    Step {
        from: V2_1,
        to: V3,
        name: "record bodies into the compressed value log",
        run: super::migrate_v3::bodies_step,
    },
];

/// What opening should do with the database's marker.
pub(super) enum Marker {
    Current,
    /// Older, with steps to run from this layout.
    Older(Layout),
}

/// Reads the marker: writes [`CURRENT`]'s into an empty database, refuses a
/// newer or unknown layout (the files are left untouched).
pub(super) fn check_marker(
    main: &sled::Tree,
    path: &str,
    steps: &[Step],
    current: Layout,
) -> Result<Marker, StoreError> {
    let key = keys::meta(keys::META_SCHEMA);
    let found = match main.get(&key)? {
        Some(found) => found,
        None if main.is_empty() => {
            main.insert(key, current.marker())?;
            main.flush()?;
            return Ok(Marker::Current);
        }
        None => {
            return Err(StoreError::Version {
                path: path.to_string(),
                found: "no schema marker".into(),
                expected: String::from_utf8_lossy(&current.marker()).into_owned(),
            })
        }
    };
    match Layout::parse(&found) {
        Some(layout) if layout == current => Ok(Marker::Current),
        Some(layout) if layout > current => Err(StoreError::Newer {
            path: path.to_string(),
            found: layout.to_string(),
            current: current.to_string(),
        }),
        Some(layout) if steps.iter().any(|s| s.from == layout) => Ok(Marker::Older(layout)),
        _ => Err(StoreError::Version {
            path: path.to_string(),
            found: String::from_utf8_lossy(&found).into_owned(),
            expected: String::from_utf8_lossy(&current.marker()).into_owned(),
        }),
    }
}

/// Runs every step from `from` on, in order, each to its end.
pub(super) fn migrate(
    store: &Store,
    from: Layout,
    steps: &[Step],
    report: &mut dyn FnMut(&MigrationProgress),
) -> Result<(), StoreError> {
    let start = steps
        .iter()
        .position(|s| s.from == from)
        .ok_or_else(|| StoreError::Io(format!("no migration step starts at layout {from}")))?;
    let todo = &steps[start..];
    for (i, step) in todo.iter().enumerate() {
        let resume = read_progress(store, step.to)?;
        let mut run = StepRun {
            store,
            report: &mut *report,
            state: MigrationProgress {
                step: step.name,
                number: i + 1,
                steps: todo.len(),
                from: step.from,
                to: step.to,
                done: 0,
                total: 0,
                resumed: resume.is_some(),
                finished: false,
            },
            resume,
        };
        (step.run)(store, &mut run).map_err(|e| StoreError::Migration {
            to: step.to.to_string(),
            step: step.name,
            reason: Box::new(e),
        })?;
        let mut finish = sled::Batch::default();
        finish.remove(keys::meta(keys::META_MIGRATION));
        finish.insert(keys::meta(keys::META_SCHEMA), step.to.marker());
        store.apply_gated(finish)?;
        store.flush_blocking()?;
        run.state.finished = true;
        (run.report)(&run.state);
        tracing::info!(from = %step.from, to = %step.to, step = step.name, "database layout migrated");
    }
    Ok(())
}

/// A stopped run's cursor, when it was heading for `to`.
fn read_progress(store: &Store, to: Layout) -> Result<Option<Vec<u8>>, StoreError> {
    let key = keys::meta(keys::META_MIGRATION);
    let Some(value) = store.tree().get(&key)? else {
        return Ok(None);
    };
    if value.len() < 8 {
        return Err(keys::corrupt(
            &key,
            "migration progress shorter than its layout",
        ));
    }
    let major = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
    let minor = u32::from_be_bytes([value[4], value[5], value[6], value[7]]);
    // Progress of another step (one this build no longer has) is not ours to use.
    Ok((Layout { major, minor } == to).then(|| value[8..].to_vec()))
}

/// One step's run: where a stopped run left off, and the durable checkpoint.
pub(super) struct StepRun<'a> {
    store: &'a Store,
    report: &'a mut dyn FnMut(&MigrationProgress),
    state: MigrationProgress,
    resume: Option<Vec<u8>>,
}

impl StepRun<'_> {
    /// The cursor of the last checkpoint of a stopped run of this step.
    pub fn resume_from(&self) -> Option<&[u8]> {
        self.resume.as_deref()
    }

    /// Applies `batch` together with `cursor` (atomically), makes it durable,
    /// and reports `done` of `total`.
    pub fn checkpoint(
        &mut self,
        mut batch: sled::Batch,
        cursor: &[u8],
        done: u64,
        total: u64,
    ) -> Result<(), StoreError> {
        let to = self.state.to;
        let progress = [&to.major.to_be_bytes()[..], &to.minor.to_be_bytes(), cursor].concat();
        batch.insert(keys::meta(keys::META_MIGRATION), progress);
        self.store.apply_gated(batch)?;
        self.store.flush_blocking()?;
        self.state.done = done;
        self.state.total = total;
        (self.report)(&self.state);
        Ok(())
    }
}

/// Log positions per checkpoint: about a hundred checkpoints in all, each small
/// enough to redo quickly after a kill.
pub(super) fn chunk_for(total: u64) -> u64 {
    (total / 100).clamp(100, 20_000)
}

/// v2 → 2.1: writes the `RELOGGED` entry of every record logged more than once
/// (the later position, read from the log). The time of a re-log was not kept
/// before; the latest receipt time up to that position stands in (a lower bound
/// that keeps times rising along the log). Cursor: the last position walked and
/// that running time.
fn relogged_step(store: &Store, run: &mut StepRun<'_>) -> Result<(), StoreError> {
    let key = keys::meta(keys::META_MIGRATION);
    let (mut after, mut previous_ms) = match run.resume_from() {
        None => (0, i64::MIN),
        Some(c) if c.len() == 16 => (
            keys::decode_u64(&key, &c[..8])?,
            i64::from_be_bytes(c[8..].try_into().unwrap_or_default()),
        ),
        Some(_) => {
            return Err(keys::corrupt(
                &key,
                "re-log migration cursor is not 16 bytes",
            ))
        }
    };
    let total = store.last_change()?;
    let chunk = chunk_for(total);
    while after < total {
        let through = after.saturating_add(chunk).min(total);
        let mut batch = sled::Batch::default();
        for entry in store.log_after(after, through) {
            let (seq, id) = entry?;
            let Some((first, received_ms)) = store.first_logged(&id)? else {
                continue;
            };
            previous_ms = previous_ms.max(received_ms);
            if seq > first {
                stage_relogged(&mut batch, &id, seq, previous_ms);
            }
        }
        after = through;
        let cursor = [after.to_be_bytes(), previous_ms.to_be_bytes()].concat();
        run.checkpoint(batch, &cursor, after, total)?;
    }
    Ok(())
}
