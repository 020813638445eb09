//! Group commit: one task owns every record write. It takes all waiting jobs,
//! applies each atomically, flushes once for all of them, and only then answers
//! the callers and announces the new change-log position to live streams.
//! Retention purges go through the same task, so they never race a write.
//!
//! Applying a group (CPU and synchronous sled I/O) runs on a blocking thread, so
//! the async workers stay free for analysts and streams while a partner's large
//! batch is staged. After a failed flush the committer stops for good: writes
//! staged before it may not be durable, so it refuses every later job, stops
//! announcing positions (live streams end) and raises the failure signal that
//! turns health to NOT_SERVING. It must never announce a position that is not
//! flushed.

use tokio::sync::{mpsc, oneshot, watch};

use super::db::Store;
use super::error::StoreError;
use super::records::{BatchOutcome, WriteBatch};
use liaison_core::record::RecordId;

/// Most jobs merged under one flush.
const MAX_GROUP: usize = 256;
const QUEUE_DEPTH: usize = 1024;

enum Job {
    Write(
        Box<WriteBatch>,
        oneshot::Sender<Result<BatchOutcome, StoreError>>,
    ),
    Purge(i64, oneshot::Sender<Result<Vec<RecordId>, StoreError>>),
}

/// Submits jobs to the committer. Cloneable; the committer stops when every
/// handle is dropped.
#[derive(Clone)]
pub struct CommitHandle {
    tx: mpsc::Sender<Job>,
    changes: watch::Receiver<u64>,
    failure: watch::Receiver<Option<String>>,
}

impl CommitHandle {
    /// Stores a batch; returns once it is durable.
    pub async fn commit(&self, batch: WriteBatch) -> Result<BatchOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Write(Box::new(batch), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Purges records whose valid-until is before `now_ms`; returns once durable.
    pub async fn purge_expired(&self, now_ms: i64) -> Result<Vec<RecordId>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Purge(now_ms, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The durable change-log position; changes whenever a commit lands.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// The durable change-log position now: nothing past it may be served.
    pub fn durable(&self) -> u64 {
        *self.changes.borrow()
    }

    /// Set (once, for good) when a flush failed; carries the reason.
    pub fn failure(&self) -> watch::Receiver<Option<String>> {
        self.failure.clone()
    }

    /// The flush failure that stopped the committer, if any.
    pub fn failed(&self) -> Option<String> {
        self.failure.borrow().clone()
    }
}

pub struct Committer {
    store: Store,
    rx: mpsc::Receiver<Job>,
    /// Dropped after a failed flush, which ends every live stream.
    changes: Option<watch::Sender<u64>>,
    failure: watch::Sender<Option<String>>,
    next_change: u64,
}

enum Staged {
    Write(
        Result<BatchOutcome, StoreError>,
        oneshot::Sender<Result<BatchOutcome, StoreError>>,
    ),
    Purge(
        Result<Vec<RecordId>, StoreError>,
        oneshot::Sender<Result<Vec<RecordId>, StoreError>>,
    ),
}

impl Committer {
    /// Starts the commit task; it ends after the last handle is dropped and every
    /// queued job is written.
    pub fn spawn(store: Store) -> Result<(CommitHandle, tokio::task::JoinHandle<()>), StoreError> {
        let last = store.last_change()?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (changes_tx, changes_rx) = watch::channel(last);
        let (failure_tx, failure_rx) = watch::channel(None);
        let committer = Committer {
            store,
            rx,
            changes: Some(changes_tx),
            failure: failure_tx,
            next_change: last + 1,
        };
        let task = tokio::spawn(committer.run());
        Ok((
            CommitHandle {
                tx,
                changes: changes_rx,
                failure: failure_rx,
            },
            task,
        ))
    }

    async fn run(mut self) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        while self.rx.recv_many(&mut group, MAX_GROUP).await > 0 {
            self.commit_group(std::mem::take(&mut group)).await;
        }
        tracing::debug!("committer drained and stopped");
    }

    /// Stages a group on a blocking thread, in order, continuing the change log
    /// at `next_change`; a failed apply leaves `next_change` where it was (its
    /// sled batch was never applied, so nothing of it is visible).
    fn stage_all(store: &Store, group: Vec<Job>, next_change: &mut u64) -> Vec<Staged> {
        // Every body of the group goes to the value log with one sync, before
        // any batch pointing at one is applied (store/bodies.rs); should that
        // fail, each batch tries its own and answers its own error.
        let writes: Vec<&WriteBatch> = group
            .iter()
            .filter_map(|job| match job {
                Job::Write(batch, _) => Some(&**batch),
                Job::Purge(..) => None,
            })
            .collect();
        let prepared = store.prepare_bodies(&writes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "writing a group's record bodies failed; each write retries its own");
            Default::default()
        });
        let mut staged = Vec::with_capacity(group.len());
        for job in group {
            staged.push(match job {
                Job::Write(batch, reply) => {
                    let result = store.apply_prepared(&batch, *next_change, &prepared);
                    if let Ok(outcome) = &result {
                        *next_change = outcome.last_change + 1;
                    }
                    Staged::Write(result, reply)
                }
                Job::Purge(now_ms, reply) => Staged::Purge(store.purge_expired(now_ms), reply),
            });
        }
        staged
    }

    async fn commit_group(&mut self, group: Vec<Job>) {
        if let Some(reason) = self.failure.borrow().clone() {
            return refuse(group, &reason);
        }
        let store = self.store.clone();
        let mut next = self.next_change;
        let staging = tokio::task::spawn_blocking(move || {
            let staged = Self::stage_all(&store, group, &mut next);
            (staged, next)
        })
        .await;
        let (staged, next) = match staging {
            Ok(done) => done,
            Err(e) => {
                // The callers' reply channels went down with the thread: they see Closed.
                self.stop(format!("staging a write group failed: {e}"));
                return;
            }
        };
        self.next_change = next;
        let flush_started = std::time::Instant::now();
        let flushed = self.store.flush().await;
        liaison_core::telemetry::emit().flush_observed(flush_started.elapsed());
        match &flushed {
            Ok(()) => {
                if let Some(changes) = &self.changes {
                    changes.send_replace(self.next_change - 1);
                }
            }
            Err(e) => self.stop(e.to_string()),
        }
        let failed = |e: &StoreError| StoreError::Io(format!("flush failed: {e}"));
        for job in staged {
            match (job, &flushed) {
                (Staged::Write(result, reply), Ok(())) => drop(reply.send(result)),
                (Staged::Write(_, reply), Err(e)) => drop(reply.send(Err(failed(e)))),
                (Staged::Purge(result, reply), Ok(())) => drop(reply.send(result)),
                (Staged::Purge(_, reply), Err(e)) => drop(reply.send(Err(failed(e)))),
            }
        }
    }

    /// Stops for good after a failure: logged once, streams end, health drops.
    fn stop(&mut self, reason: String) {
        tracing::error!(%reason, "a write to the database could not be made durable: the node stops accepting writes and serving partners; check the disk, then restart the node");
        self.changes = None;
        self.failure.send_replace(Some(reason));
    }
}

/// Answers every job of a group after the committer stopped.
fn refuse(group: Vec<Job>, reason: &str) {
    for job in group {
        match job {
            Job::Write(_, reply) => drop(reply.send(Err(StoreError::Stopped(reason.into())))),
            Job::Purge(_, reply) => drop(reply.send(Err(StoreError::Stopped(reason.into())))),
        }
    }
}
