//! Group commit: one task owns every record write. It takes all waiting jobs,
//! applies each atomically, flushes once for all of them, and only then answers
//! the callers and announces the new change-log position to live streams.
//! Retention purges go through the same task, so they never race a write.

use tokio::sync::{mpsc, oneshot, watch};

use super::records::{BatchOutcome, WriteBatch};
use super::{Store, StoreError};
use crate::record::RecordId;

/// Most jobs merged under one flush.
const MAX_GROUP: usize = 256;
const QUEUE_DEPTH: usize = 1024;

enum Job {
    Write(
        WriteBatch,
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
}

impl CommitHandle {
    /// Stores a batch; returns once it is durable.
    pub async fn commit(&self, batch: WriteBatch) -> Result<BatchOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Write(batch, reply))
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
}

pub struct Committer {
    store: Store,
    rx: mpsc::Receiver<Job>,
    changes: watch::Sender<u64>,
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
        let committer = Committer {
            store,
            rx,
            changes: changes_tx,
            next_change: last + 1,
        };
        let task = tokio::spawn(committer.run());
        Ok((
            CommitHandle {
                tx,
                changes: changes_rx,
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

    fn stage(&mut self, job: Job) -> Staged {
        match job {
            Job::Write(batch, reply) => {
                let result = self.store.apply(&batch, self.next_change);
                if let Ok(outcome) = &result {
                    self.next_change = outcome.last_change + 1;
                }
                Staged::Write(result, reply)
            }
            Job::Purge(now_ms, reply) => Staged::Purge(self.store.purge_expired(now_ms), reply),
        }
    }

    async fn commit_group(&mut self, group: Vec<Job>) {
        let staged: Vec<Staged> = group.into_iter().map(|job| self.stage(job)).collect();
        let flushed = self.store.flush().await;
        if flushed.is_ok() {
            self.changes.send_replace(self.next_change - 1);
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
}
