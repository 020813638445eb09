//! Durable storage, behind our own interface: the rest of the node never sees sled.
//!
//! One sled tree holds every keyspace under a one-byte prefix (see [`keys`]), so a
//! batch of records, their index entries, change-log entries, per-origin sequences
//! and a peer's cursor land in a single atomic `apply_batch`. Nothing is acknowledged
//! before a flush: writes go through the group-commit task in [`commit`].
//!
//! This module must never verify or sign anything (records arrive verified), and
//! never hand sled types to callers.

mod bodies;
mod bulletins;
mod changelog;
mod commit;
mod compaction;
mod db;
mod effects;
mod error;
mod expiry;
mod held;
mod keys;
mod migrate;
mod migrate_v3;
mod partners;
mod pending;
mod public_ids;
mod records;
mod settings;
mod snapshot;
mod vlog;
mod warninglists;

pub use changelog::{Current, LogIter};
pub use commit::{CommitHandle, Committer};
pub use db::{effective_expiry, Store, STORE_LAYOUT_VERSION};
pub use error::StoreError;
pub use migrate::{Layout, MigrationProgress};
pub use partners::{PartnerEntry, RevokedPartner, SyncState};
pub use pending::{PendingUpdate, MAX_PENDING_PER_PARTNER};
pub use records::{BatchOutcome, StoredRecord, WriteBatch};
pub use settings::{StoreConfig, DEFAULT_SEGMENT_MIB, SEGMENT_MIB_RANGE};
pub use snapshot::{RestoreSummary, SnapshotSummary};
pub use warninglists::WarninglistEntry;

#[cfg(test)]
mod bulletin_tests;
#[cfg(test)]
mod changelog_tests;
#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod migrate_tests;
#[cfg(test)]
mod migrate_v3_tests;
#[cfg(test)]
mod space_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hardening;
#[cfg(test)]
mod unreadable_tests;
