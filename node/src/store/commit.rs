//! Group commit: one task owns every record write. It takes all waiting batches,
//! applies each atomically, flushes once for all of them, and only then answers
//! the callers and announces the new change-log position to live streams.

use tokio::sync::{mpsc, oneshot, watch};

use super::records::{BatchOutcome, WriteBatch};
use super::{Store, StoreError};

/// Most batches merged under one flush.
const MAX_GROUP: usize = 256;
const QUEUE_DEPTH: usize = 1024;

type Reply = oneshot::Sender<Result<BatchOutcome, StoreError>>;

/// Submits batches to the committer. Cloneable; the committer stops when every
/// handle is dropped.
#[derive(Clone)]
pub struct CommitHandle {
    tx: mpsc::Sender<(WriteBatch, Reply)>,
    changes: watch::Receiver<u64>,
}

impl CommitHandle {
    /// Stores a batch; returns once it is durable.
    pub async fn commit(&self, batch: WriteBatch) -> Result<BatchOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((batch, reply))
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
    rx: mpsc::Receiver<(WriteBatch, Reply)>,
    changes: watch::Sender<u64>,
    next_change: u64,
}

impl Committer {
    /// Starts the commit task; it ends after the last handle is dropped and every
    /// queued batch is written.
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

    async fn commit_group(&mut self, group: Vec<(WriteBatch, Reply)>) {
        let mut staged = Vec::with_capacity(group.len());
        for (batch, reply) in group {
            let result = self.store.apply(&batch, self.next_change);
            if let Ok(outcome) = &result {
                self.next_change = outcome.last_change + 1;
            }
            staged.push((result, reply));
        }
        let flushed = self.store.flush().await;
        if flushed.is_ok() {
            self.changes.send_replace(self.next_change - 1);
        }
        for (result, reply) in staged {
            let answer = match (&flushed, result) {
                (Ok(()), result) => result,
                (Err(e), _) => Err(StoreError::Io(format!("flush failed: {e}"))),
            };
            let _ = reply.send(answer);
        }
    }
}
