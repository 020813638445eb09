//! Why a store operation failed, with a message that names what to do. sled's own
//! error becomes one of these here and goes no further.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {path}: {reason}. If it is corrupt, restore the latest copy of the node directory (docs/OPERATIONS.md, backups) or re-create the node and re-enroll with partners; the files were left untouched")]
    Open { path: String, reason: String },
    #[error("the database at {path} was written by another version ({found}); this build reads {expected}")]
    Version {
        path: String,
        found: String,
        expected: String,
    },
    #[error("the database at {path} is in store layout {found}, newer than this build's {current}; it was left untouched. Run the release that last used it (or a later one), or restore the backup taken before that upgrade (docs/OPERATIONS.md, \"Upgrade and rollback\")")]
    Newer {
        path: String,
        found: String,
        current: String,
    },
    #[error("moving the database to store layout {to} failed in step \"{step}\": {reason}. Nothing was lost: the next start resumes the migration where it stopped")]
    Migration {
        to: String,
        step: &'static str,
        reason: Box<StoreError>,
    },
    #[error("database I/O error: {0}")]
    Io(String),
    #[error("stored data is corrupt at key {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("the node is shutting down")]
    Closed,
    #[error("the node stopped writing after a failed flush ({0}); check the disk and restart it")]
    Stopped(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}
