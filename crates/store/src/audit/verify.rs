//! The whole-file check: every hash link, every checkpoint's coverage and
//! signature, and the seal file (the latest checkpoint, kept beside the log) to
//! recognise a log cut short. It names the first bad line.
//!
//! A chain that links is not proof of a whole log: cut at a checkpoint, it
//! still links. Only the seal tells, so a log that holds entries but whose seal
//! is missing or unreadable is reported as [`SealState::Missing`] /
//! [`SealState::Unreadable`] — unverified, never "intact" ([`Verified::require_sealed`]).
//! The writer replaces the seal atomically, so a crash cannot garble it.
//!
//! This module only reads; it must never repair the log.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use ed25519_dalek::VerifyingKey;

use super::checkpoint::{self, CHECKPOINT_ACTION};
use super::entry::{Entry, GENESIS};
use super::error::{io_error, AuditError};

/// The action of the entry a writer appends when it opened a log it could not
/// verify whole (seal missing or unreadable): the gap stays on record.
pub const UNVERIFIED_ACTION: &str = "audit.unverified";

/// What the seal file says about the log's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    /// The log holds no entries: nothing to seal.
    Empty,
    /// The seal names a checkpoint the log holds: the log was not cut short
    /// before it.
    Matched,
    /// The log holds entries and there is no seal file beside it.
    Missing,
    /// The seal file exists but is not a checkpoint entry (why).
    Unreadable(String),
}

/// What a sound log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Sequence number of the last entry (0 for an empty log).
    pub last_seq: u64,
    /// Hash of the last entry.
    pub head: String,
    pub checkpoints: u64,
    /// The last entry a checkpoint covers (0 if none).
    pub sealed_through: u64,
    /// Entries after the last checkpoint: chained, not yet signed.
    pub unsealed: u64,
    /// Whether checkpoint signatures were checked (a key was given).
    pub signatures_checked: bool,
    pub seal: SealState,
    /// Sequence numbers of the `audit.unverified` entries: starts at which a
    /// writer found the log unverified (its seal missing or unreadable).
    pub unverified_at: Vec<u64>,
}

impl Verified {
    /// The log as verified, or [`AuditError::Unverified`] when its seal is
    /// missing or unreadable (a truncation could not be recognised).
    pub fn require_sealed(self, log: &Path) -> Result<Verified, AuditError> {
        match self.unsealed_reason(log) {
            Some(reason) => Err(AuditError::Unverified {
                path: log.display().to_string(),
                reason,
            }),
            None => Ok(self),
        }
    }

    /// Why the log's end cannot be vouched for, if it cannot.
    pub fn unsealed_reason(&self, log: &Path) -> Option<String> {
        let seal = super::log::seal_path(log);
        match &self.seal {
            SealState::Empty | SealState::Matched => None,
            SealState::Missing => Some(format!(
                "its {} entries chain correctly, but the seal file {} is missing, so a log cut short cannot be told from a whole one",
                self.last_seq,
                seal.display()
            )),
            SealState::Unreadable(why) => Some(format!(
                "its {} entries chain correctly, but the seal file {} is unreadable ({why}), so a log cut short cannot be told from a whole one",
                self.last_seq,
                seal.display()
            )),
        }
    }
}

/// Checks the chain without checkpoint signatures; returns the last sequence
/// and hash.
pub fn verify(path: &Path) -> Result<(u64, String), AuditError> {
    verify_with(path, None).map(|v| (v.last_seq, v.head))
}

fn tampered(line: usize, reason: impl Into<String>) -> AuditError {
    AuditError::Tampered {
        line,
        reason: reason.into(),
    }
}

/// Checks every link and checkpoint; with `key`, every checkpoint signature.
pub fn verify_with(path: &Path, key: Option<&VerifyingKey>) -> Result<Verified, AuditError> {
    let mut found = Verified {
        last_seq: 0,
        head: GENESIS.to_string(),
        checkpoints: 0,
        sealed_through: 0,
        unsealed: 0,
        signatures_checked: key.is_some(),
        seal: SealState::Empty,
        unverified_at: Vec::new(),
    };
    if !path.exists() {
        return Ok(found);
    }
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::new(file);
    let mut checkpoints: HashMap<u64, String> = HashMap::new();
    let mut line = String::new();
    let mut line_no = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(|e| io_error(path, e))? == 0 {
            break;
        }
        line_no += 1;
        let Some(text) = line.strip_suffix('\n') else {
            return Err(tampered(
                line_no,
                "incomplete last line (log truncated mid-entry)",
            ));
        };
        let entry: Entry = serde_json::from_str(text)
            .map_err(|e| tampered(line_no, format!("not an audit entry: {e}")))?;
        check_link(&entry, &found, line_no)?;
        if entry.action == CHECKPOINT_ACTION {
            checkpoint::check(&entry.detail, found.last_seq, &found.head, key)
                .map_err(|reason| tampered(line_no, reason))?;
            found.checkpoints += 1;
            found.sealed_through = entry.seq;
            found.unsealed = 0;
            checkpoints.insert(entry.seq, entry.hash.clone());
        } else {
            if entry.action == UNVERIFIED_ACTION {
                found.unverified_at.push(entry.seq);
            }
            found.unsealed += 1;
        }
        found.last_seq = entry.seq;
        found.head = entry.hash;
    }
    found.seal = check_seal(path, &found, &checkpoints)?;
    Ok(found)
}

fn check_link(entry: &Entry, so_far: &Verified, line_no: usize) -> Result<(), AuditError> {
    if entry.seq != so_far.last_seq + 1 {
        return Err(tampered(
            line_no,
            format!(
                "sequence {} follows {} (entry removed, inserted or reordered)",
                entry.seq, so_far.last_seq
            ),
        ));
    }
    if entry.prev != so_far.head {
        return Err(tampered(
            line_no,
            "previous-hash link broken (entry removed or reordered)",
        ));
    }
    if entry.compute_hash() != entry.hash {
        return Err(tampered(
            line_no,
            "content does not match its hash (entry edited)",
        ));
    }
    Ok(())
}

/// The seal file names the latest checkpoint the node wrote: the log must
/// still hold it.
fn check_seal(
    path: &Path,
    found: &Verified,
    checkpoints: &HashMap<u64, String>,
) -> Result<SealState, AuditError> {
    let seal = super::log::seal_path(path);
    let text = match std::fs::read(&seal) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(match found.last_seq {
                0 => SealState::Empty,
                _ => SealState::Missing,
            })
        }
        Err(e) => return Ok(SealState::Unreadable(e.to_string())),
    };
    let sealed = match std::str::from_utf8(&text)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<Entry>(t.trim()).map_err(|e| e.to_string()))
    {
        Ok(entry) if entry.action == CHECKPOINT_ACTION => entry,
        Ok(entry) => {
            return Ok(SealState::Unreadable(format!(
                "it holds a {:?} entry, not a checkpoint",
                entry.action
            )))
        }
        Err(reason) => {
            return Ok(SealState::Unreadable(format!(
                "not an audit entry: {reason}"
            )))
        }
    };
    let next = usize::try_from(found.last_seq + 1).unwrap_or(usize::MAX);
    if sealed.seq > found.last_seq {
        return Err(tampered(
            next,
            format!(
                "log truncated: it ends at entry {} but the node sealed entry {} ({})",
                found.last_seq,
                sealed.seq,
                seal.display()
            ),
        ));
    }
    if checkpoints.get(&sealed.seq) != Some(&sealed.hash) {
        let line = usize::try_from(sealed.seq).unwrap_or(usize::MAX);
        return Err(tampered(
            line,
            format!(
                "the checkpoint recorded in {} is not in the log (log replaced or rewritten)",
                seal.display()
            ),
        ));
    }
    Ok(SealState::Matched)
}
