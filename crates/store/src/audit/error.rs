//! Why the audit log could not be read, written or trusted.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("audit log broken at entry {line}: {reason}")]
    Tampered { line: usize, reason: String },
    #[error("audit log {path} UNVERIFIED: {reason}")]
    Unverified { path: String, reason: String },
}

pub(super) fn io_error(path: &Path, e: impl std::fmt::Display) -> AuditError {
    AuditError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
