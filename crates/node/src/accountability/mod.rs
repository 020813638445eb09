//! Accountability on the running node: the audit entries of disclosures
//! (batches served, receipts received), signed log heads and their gossip, and
//! the task that returns receipts for batches pulled. The log itself (append,
//! checkpoints, verification, queries) is `liaison_store::audit`.
//!
//! This module must never write to the log except through `AuditLog`.

pub mod disclose;
pub mod heads;
pub mod receipt_sender;
