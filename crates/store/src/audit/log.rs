//! The append API: one writer thread ([`super::writer`]) owns the file's tail.
//! Callers hand it entries over a bounded channel; it writes whatever has queued
//! up as one group, syncs once, then answers the callers that wait
//! ([`AuditLog::record`]). It appends the signed checkpoints (every N entries,
//! every T seconds, at [`AuditLog::seal`]).
//!
//! Each group is written under an exclusive lock on the file, and the writer
//! first reads any lines another process appended meanwhile (the CLI's offline
//! `client issue`), so two writers never fork the chain. This module must never
//! write to the file itself.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

use ed25519_dalek::SigningKey;

use super::error::{io_error, AuditError};
use super::settings::AuditConfig;
use super::writer::{Job, Writer};

/// Entries that may wait for the writer before `note` blocks its caller.
const QUEUE: usize = 4096;

pub struct AuditLog {
    path: PathBuf,
    tx: Mutex<Option<SyncSender<Job>>>,
    enabled: bool,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Batches served whose receipts are awaited.
    served: super::receipts::Served,
}

impl AuditLog {
    /// Opens the log without a signing key: a chain without checkpoints.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        Self::start(path, None, &AuditConfig::default())
    }

    /// Opens the log with the node key: signed checkpoints as `config` says.
    /// The whole existing file is checked first (chain and signatures).
    pub fn open_signed(
        path: &Path,
        key: SigningKey,
        config: &AuditConfig,
    ) -> Result<AuditLog, AuditError> {
        Self::start(path, Some(key), config)
    }

    fn start(
        path: &Path,
        key: Option<SigningKey>,
        config: &AuditConfig,
    ) -> Result<AuditLog, AuditError> {
        let writer = Writer::open(path, key, config)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| io_error(path, e))?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            tx: Mutex::new(Some(tx)),
            enabled: config.enabled,
            thread: Mutex::new(Some(thread)),
            served: Default::default(),
        })
    }

    pub fn served(&self) -> &super::receipts::Served {
        &self.served
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether consultation and disclosure entries ([`AuditLog::note`]) are written.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn sender(&self) -> Result<SyncSender<Job>, AuditError> {
        self.tx
            .lock()
            .ok()
            .and_then(|tx| tx.clone())
            .ok_or_else(|| io_error(&self.path, "the audit log is closed"))
    }

    /// Appends one entry and returns once it is synced to disk.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), AuditError> {
        let (done, wait) = mpsc::sync_channel(1);
        let job = Job::Append {
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
            done: Some(done),
        };
        self.sender()?
            .send(job)
            .map_err(|_| io_error(&self.path, "the audit writer stopped"))?;
        self.wait(wait)
    }

    /// Queues one consultation or disclosure entry for the next group sync and
    /// returns at once (it blocks only while the queue is full). Dropped when
    /// `[audit] enabled = false`.
    pub fn note(&self, actor: &str, action: &str, detail: serde_json::Value) {
        if !self.enabled {
            return;
        }
        let Ok(tx) = self.sender() else {
            return;
        };
        let job = Job::Append {
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
            done: None,
        };
        if let Err(TrySendError::Full(job)) = tx.try_send(job) {
            // Backpressure: a writer this far behind must not be outrun.
            let _ = tx.send(job);
        }
    }

    /// Writes a signed checkpoint over everything queued so far (at shutdown).
    pub fn seal(&self) -> Result<(), AuditError> {
        let (done, wait) = mpsc::sync_channel(1);
        let job = Job::Seal {
            reason: "shutdown",
            done,
        };
        self.sender()?
            .send(job)
            .map_err(|_| io_error(&self.path, "the audit writer stopped"))?;
        self.wait(wait)
    }

    fn wait(&self, wait: Receiver<Result<(), String>>) -> Result<(), AuditError> {
        match wait.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(io_error(&self.path, reason)),
            Err(_) => Err(io_error(&self.path, "the audit writer stopped")),
        }
    }
}

impl Drop for AuditLog {
    /// Closing the channel makes the writer seal what is left and stop.
    fn drop(&mut self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

/// One offline append (another process): lock, check, append, seal, unlock.
pub(super) fn append_locked(
    path: &Path,
    key: &SigningKey,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), AuditError> {
    let mut writer = Writer::open(path, Some(key.clone()), &AuditConfig::default())?;
    let (done, wait) = mpsc::sync_channel(2);
    let jobs = vec![
        Job::Append {
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
            done: Some(done.clone()),
        },
        Job::Seal {
            reason: "offline",
            done,
        },
    ];
    writer.write_group(jobs);
    for _ in 0..2 {
        wait.recv()
            .map_err(|_| io_error(path, "append failed"))?
            .map_err(|reason| io_error(path, reason))?;
    }
    Ok(())
}

/// Where the latest checkpoint line is copied, to recognise a truncated log.
pub fn seal_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".seal");
    PathBuf::from(name)
}
