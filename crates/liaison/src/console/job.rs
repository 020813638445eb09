//! An import job's state, shared by the Import page's handlers
//! ([`super::import`]) and its view: the upload limits, one job's progress,
//! counts and kept rejects, and each session's latest job.
//!
//! State only: this module must never call the node, read an upload or render.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::cli::importer::Tally;
use liaison_core::formats::Format;

/// The largest file the console accepts; `liaison import` takes any size.
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Room for the form's other fields and the multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = UPLOAD_LIMIT + 64 * 1024;
/// Rejected rows kept for the table and the CSV (the counts stay exact).
pub(super) const KEPT_REJECTS: usize = 100_000;

/// One rejected or skipped row, as the rejects table and CSV show it.
pub struct Reject {
    pub location: String,
    pub field: String,
    pub value: String,
    pub reason: String,
}

/// A job's changing part: counts while it runs, then its outcome.
#[derive(Default)]
pub struct Progress {
    pub imported: u64,
    pub already_present: u64,
    pub rejected: u64,
    pub skipped: u64,
    pub rejects: Vec<Reject>,
    /// Rejected or skipped rows beyond [`KEPT_REJECTS`], counted only.
    pub rejects_not_kept: u64,
    /// None while running; the summary, or why the import stopped.
    pub outcome: Option<Result<Tally, String>>,
    pub seconds: f64,
}

/// One import: what was uploaded and how far it is.
pub struct Job {
    pub file_name: String,
    pub format: Format,
    pub dry_run: bool,
    pub total_bytes: u64,
    pub read_bytes: Arc<AtomicU64>,
    pub(super) progress: Mutex<Progress>,
}

impl Job {
    pub fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn read(&self) -> u64 {
        self.read_bytes
            .load(Ordering::Relaxed)
            .min(self.total_bytes)
    }
}

/// Each session's latest import, keyed by the session's CSRF secret (one per
/// session, never shown to another).
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, Arc<Job>>>);

impl Jobs {
    pub(super) fn of(&self, session: &str) -> Option<Arc<Job>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(session)
            .cloned()
    }

    /// Makes `job` the session's import, unless one is still running there
    /// (then that one, and nothing changes): one running import per session.
    pub(super) fn start(&self, session: &str, job: Arc<Job>) -> Result<(), Arc<Job>> {
        let mut jobs = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(running) = jobs.get(session).filter(|j| j.progress().outcome.is_none()) {
            return Err(running.clone());
        }
        jobs.insert(session.to_string(), job);
        Ok(())
    }
}
