//! The writer thread's side of the log: the tail (sequence, hash, file length),
//! group writes with one sync, checkpoints and the seal file beside the log
//! (replaced atomically: temporary file, fsync, rename), and catching up with
//! lines another process appended under the same lock (each must link to the
//! one before).
//!
//! A log it opens unverified (entries but no readable seal) is logged at error
//! level, recorded as an `audit.unverified` entry, and sealed at the first
//! write, so the gap stays on record rather than being papered over.
//!
//! This module must never seek backwards or truncate, and never write without
//! holding the file lock.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;

use super::checkpoint::{self, CHECKPOINT_ACTION};
use super::entry::Entry;
use super::error::{io_error, AuditError};
use super::log::seal_path;
use super::settings::AuditConfig;
use super::verify::SealState;
use super::verify::UNVERIFIED_ACTION;

/// Most entries written (and synced) as one group.
const GROUP: usize = 1024;
/// Longest a group of notes waits for more before it is written.
const LINGER: Duration = Duration::from_millis(20);
/// How long the writer sleeps when nothing is unsealed.
const IDLE: Duration = Duration::from_secs(3600);

pub(super) type Reply = SyncSender<Result<(), String>>;

pub(super) enum Job {
    Append {
        actor: String,
        action: String,
        detail: serde_json::Value,
        done: Option<Reply>,
    },
    /// A checkpoint now (shutdown, offline append), if anything is unsealed.
    Seal { reason: &'static str, done: Reply },
}

pub(super) struct Writer {
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
    /// Whether the seal file names a checkpoint of this log; until it does,
    /// the first write is followed by a checkpoint.
    sealed: bool,
    /// Why the log was unverified when opened: written as an entry first.
    unverified: Option<String>,
}

impl Writer {
    pub(super) fn open(
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
        let checked =
            super::verify::verify_with(path, key.as_ref().map(|k| k.verifying_key()).as_ref());
        let len = file.metadata().map(|m| m.len());
        let _ = file.unlock();
        let checked = checked?;
        let unverified = checked.unsealed_reason(path);
        if let Some(reason) = &unverified {
            tracing::error!(path = %path.display(), %reason, "audit log UNVERIFIED at start: an `audit.unverified` entry records the gap; compare the log with a backup (docs/OPERATIONS.md)");
        }
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
            sealed: checked.seal == SealState::Matched,
            unverified,
        })
    }

    pub(super) fn run(mut self, rx: Receiver<Job>) {
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
            jobs.iter()
                .any(|job| matches!(job, Job::Seal { .. } | Job::Append { done: Some(_), .. }))
        };
        let deadline = Instant::now() + LINGER;
        while jobs.len() < GROUP {
            let next = match waited_for(jobs) || jobs.is_empty() {
                true => rx.try_recv().ok(),
                false => rx
                    .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                    .ok(),
            };
            match next {
                Some(job) => jobs.push(job),
                None => break,
            }
        }
    }

    /// Writes the jobs (and any checkpoint due) with one sync, then answers.
    pub(super) fn write_group(&mut self, jobs: Vec<Job>) {
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
        if let Some(reason) = self.unverified.take() {
            let detail = serde_json::json!({ "reason": reason, "through": self.seq });
            self.push(buffer, "node", UNVERIFIED_ACTION, detail)?;
        }
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
        let due = self.last_checkpoint.elapsed() >= self.interval || !self.sealed;
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
            // The entries are durable already: a failed seal leaves an older
            // (still valid) seal, or none, which `audit verify` reports.
            match write_seal(&self.path, &line) {
                Ok(()) => self.sealed = true,
                Err(e) => {
                    tracing::error!(path = %seal_path(&self.path).display(), error = %e, "could not write the audit seal")
                }
            }
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
            time_ms: liaison_core::now_ms(),
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
        liaison_core::telemetry::emit().audit_written();
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
            if entry.seq != self.seq + 1
                || entry.prev != self.hash
                || entry.compute_hash() != entry.hash
            {
                return Err(format!(
                    "a line appended by another process (entry {}) breaks the chain",
                    entry.seq
                ));
            }
            if entry.action == CHECKPOINT_ACTION {
                // Its writer wrote the seal too.
                self.unsealed = 0;
            } else {
                self.unsealed += 1;
            }
            self.seq = entry.seq;
            self.hash = entry.hash;
            line.clear();
        }
        self.len = size;
        Ok(())
    }
}

/// Replaces the seal file with `line`: a temporary file beside it, synced, then
/// renamed over it and the directory synced, so a crash leaves the old seal or
/// the new one, never a torn one.
fn write_seal(log: &Path, line: &[u8]) -> std::io::Result<()> {
    let seal = seal_path(log);
    let mut name = seal.as_os_str().to_owned();
    name.push(".tmp");
    let temporary = PathBuf::from(name);
    let mut file = File::create(&temporary)?;
    file.write_all(line)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, &seal)?;
    #[cfg(unix)]
    if let Some(parent) = seal.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}
