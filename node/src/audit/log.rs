//! The writer: one thread owns the file's tail. Callers hand it entries over a
//! bounded channel; it writes whatever has queued up as one group, syncs once,
//! then answers the callers that wait ([`AuditLog::record`]). It appends the
//! signed checkpoints (every N entries, every T seconds, at [`AuditLog::seal`]).
//!
//! Each group is written under an exclusive lock on the file, and the writer
//! first reads any lines another process appended meanwhile (the CLI's offline
//! `client issue`), so two writers never fork the chain. This module must never
//! seek backwards or truncate.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;

use super::checkpoint::{self, CHECKPOINT_ACTION};
use super::{io_error, AuditConfig, AuditError, Entry};

/// Entries that may wait for the writer before `note` blocks its caller.
const QUEUE: usize = 4096;
/// Most entries written (and synced) as one group.
const GROUP: usize = 1024;
/// Longest a group of notes waits for more before it is written.
const LINGER: Duration = Duration::from_millis(20);
/// How long the writer sleeps when nothing is unsealed.
const IDLE: Duration = Duration::from_secs(3600);

type Reply = SyncSender<Result<(), String>>;

enum Job {
    Append {
        actor: String,
        action: String,
        detail: serde_json::Value,
        done: Option<Reply>,
    },
    /// A checkpoint now (shutdown, offline append), if anything is unsealed.
    Seal { reason: &'static str, done: Reply },
}

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

struct Writer {
    path: PathBuf,
    file: File,
    /// Bytes of the file this writer has read or written.
    len: u64,
    seq: u64,
    hash: String,
    key: Option<SigningKey>,
    every: u64,
    interval: Duration,
    unsealed: u64,
    last_checkpoint: Instant,
    /// A failed write leaves the tail unknown: refuse everything after it.
    broken: Option<String>,
}

impl Writer {
    fn open(
        path: &Path,
        key: Option<SigningKey>,
        config: &AuditConfig,
    ) -> Result<Writer, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| io_error(path, e))?;
        file.lock().map_err(|e| io_error(path, e))?;
        let checked = super::verify_with(path, key.as_ref().map(|k| k.verifying_key()).as_ref());
        let len = file.metadata().map(|m| m.len());
        let _ = file.unlock();
        let checked = checked?;
        Ok(Writer {
            path: path.to_path_buf(),
            file,
            len: len.map_err(|e| io_error(path, e))?,
            seq: checked.last_seq,
            hash: checked.head,
            key,
            every: config.checkpoint_every_entries.max(1),
            interval: Duration::from_secs(config.checkpoint_interval_seconds.max(1)),
            unsealed: checked.unsealed,
            last_checkpoint: Instant::now(),
            broken: None,
        })
    }

    fn run(mut self, rx: Receiver<Job>) {
        loop {
            let timeout = match self.unsealed > 0 && self.key.is_some() {
                true => self.interval.saturating_sub(self.last_checkpoint.elapsed()),
                false => IDLE,
            };
            let mut jobs = Vec::new();
            match rx.recv_timeout(timeout) {
                Ok(job) => jobs.push(job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let (done, _wait) = mpsc::sync_channel(1);
                    let reason = "shutdown";
                    self.write_group(vec![Job::Seal { reason, done }]);
                    return;
                }
            }
            self.gather(&rx, &mut jobs);
            self.write_group(jobs);
        }
    }

    /// Adds what else is queued to the group. A group of notes only (nobody
    /// waits) lingers a little for more, so a stream of consultations costs a
    /// few syncs a second, not one each.
    fn gather(&self, rx: &Receiver<Job>, jobs: &mut Vec<Job>) {
        let waited_for = |jobs: &[Job]| {
            jobs.iter().any(|job| {
                matches!(job, Job::Seal { .. } | Job::Append { done: Some(_), .. })
            })
        };
        let deadline = Instant::now() + LINGER;
        while jobs.len() < GROUP {
            let next = match waited_for(jobs) || jobs.is_empty() {
                true => rx.try_recv().ok(),
                false => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok(),
            };
            match next {
                Some(job) => jobs.push(job),
                None => break,
            }
        }
    }

    /// Writes the jobs (and any checkpoint due) with one sync, then answers.
    fn write_group(&mut self, jobs: Vec<Job>) {
        let mut replies = Vec::new();
        let outcome = self.try_write(jobs, &mut replies);
        if let Err(reason) = &outcome {
            tracing::error!(%reason, "audit log write failed");
        }
        for reply in replies {
            let _ = reply.send(outcome.clone());
        }
    }

    fn try_write(&mut self, jobs: Vec<Job>, replies: &mut Vec<Reply>) -> Result<(), String> {
        let mut buffer = Vec::new();
        let (seq, hash) = (self.seq, self.hash.clone());
        self.file.lock().map_err(|e| e.to_string())?;
        let written = self.fill_and_write(jobs, replies, &mut buffer);
        let _ = self.file.unlock();
        if written.is_err() {
            self.broken = written.clone().err();
            (self.seq, self.hash) = (seq, hash);
        }
        written
    }

    fn fill_and_write(
        &mut self,
        jobs: Vec<Job>,
        replies: &mut Vec<Reply>,
        buffer: &mut Vec<u8>,
    ) -> Result<(), String> {
        for job in &jobs {
            match job {
                Job::Append { done, .. } => replies.extend(done.clone()),
                Job::Seal { done, .. } => replies.push(done.clone()),
            }
        }
        if let Some(reason) = &self.broken {
            return Err(format!(
                "an earlier write failed ({reason}); restart the node"
            ));
        }
        // Under the lock: chain from the file's real tail.
        self.catch_up()?;
        let mut sealed = None;
        for job in jobs {
            match job {
                Job::Append {
                    actor,
                    action,
                    detail,
                    ..
                } => {
                    self.push(buffer, &actor, &action, detail)?;
                    if self.key.is_some() && self.unsealed >= self.every {
                        sealed = Some(self.checkpoint(buffer, "count")?);
                    }
                }
                Job::Seal { reason, .. } => {
                    if self.unsealed > 0 && self.key.is_some() {
                        sealed = Some(self.checkpoint(buffer, reason)?);
                    }
                }
            }
        }
        let due = self.last_checkpoint.elapsed() >= self.interval;
        if self.key.is_some() && self.unsealed > 0 && due {
            sealed = Some(self.checkpoint(buffer, "time")?);
        }
        if buffer.is_empty() {
            return Ok(());
        }
        self.file.write_all(buffer).map_err(|e| e.to_string())?;
        self.file.sync_data().map_err(|e| e.to_string())?;
        self.len += buffer.len() as u64;
        if let Some(line) = sealed {
            // Best effort: the seal file only helps to recognise a truncated log.
            let _ = std::fs::write(seal_path(&self.path), line);
        }
        Ok(())
    }

    fn push(
        &mut self,
        buffer: &mut Vec<u8>,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<Entry, String> {
        let mut entry = Entry {
            seq: self.seq + 1,
            time_ms: crate::now_ms(),
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
            prev: self.hash.clone(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        serde_json::to_writer(&mut *buffer, &entry).map_err(|e| e.to_string())?;
        buffer.push(b'\n');
        self.seq = entry.seq;
        self.hash = entry.hash.clone();
        self.unsealed += 1;
        Ok(entry)
    }

    /// Appends a signed checkpoint over the current tail; returns its line.
    fn checkpoint(&mut self, buffer: &mut Vec<u8>, reason: &str) -> Result<Vec<u8>, String> {
        let key = self.key.as_ref().ok_or("no signing key")?;
        let detail = checkpoint::sign(key, self.seq, &self.hash, reason);
        let entry = self.push(buffer, "node", CHECKPOINT_ACTION, detail)?;
        self.unsealed = 0;
        self.last_checkpoint = Instant::now();
        serde_json::to_vec(&entry).map_err(|e| e.to_string())
    }

    /// Reads the lines another process appended since our last write (the
    /// CLI's offline appends), so the next entry chains from the real tail.
    fn catch_up(&mut self) -> Result<(), String> {
        let size = self.file.metadata().map_err(|e| e.to_string())?.len();
        if size == self.len {
            return Ok(());
        }
        let mut reader = BufReader::new(File::open(&self.path).map_err(|e| e.to_string())?);
        reader
            .seek(SeekFrom::Start(self.len))
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        while reader.read_line(&mut line).map_err(|e| e.to_string())? > 0 {
            let entry: Entry = serde_json::from_str(line.trim_end())
                .map_err(|e| format!("a line appended by another process: {e}"))?;
            if entry.seq != self.seq + 1 || entry.compute_hash() != entry.hash {
                return Err("a line appended by another process breaks the chain".into());
            }
            self.seq = entry.seq;
            self.hash = entry.hash;
            line.clear();
        }
        self.len = size;
        Ok(())
    }
}

/// Where the latest checkpoint line is copied, to recognise a truncated log.
pub(crate) fn seal_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".seal");
    PathBuf::from(name)
}
