//! Liaison's running node: the state every service and task shares, and what
//! it does with records — publish them through one pipeline, pull them from
//! partners and serve them (one serving engine), group them in bulletins, answer
//! private lookups, gossip signed heads, purge them when they expire.
//!
//! Every decision about who may receive a record is `liaison_core::policy`'s;
//! this crate gathers the facts it needs ([`disclosure`]) and asks it. It must
//! never map its errors to a wire status or HTTP (the servers do), and never
//! count its events itself (they go through `liaison_core::telemetry`). It uses
//! gRPC only as a client: to pull from and ask partners.
//!
//! # Layout
//!
//! - [`node`]: the running node's shared state, shutdown, and the one publish
//!   pipeline (`Node::publish`, `Node::commit_own`).
//! - [`config`]: the node's own settings and tables of `config.toml`.
//! - [`error`]: the node's error type.
//! - [`disclosure`]: the facts for the one disclosure decision, read once per pass.
//! - [`sync`]: pulling records from partners (verify, commit, relay), the
//!   serving engine that builds each partner's batches, and [`sync::compat`], the
//!   handshake's versions and the one compatibility decision.
//! - [`partner_state`]: the one mapping from a failed connection or call to a
//!   stable partner state (not yet enrolled, revoked by the partner, unreachable …).
//! - [`bulk`]: publishing a chunk of drafts in one durable write (import, `PublishBatch`).
//! - [`bulletin`]: publishing, serving and receiving signed bulletins.
//! - [`lookup`]: private hit/no-hit lookups: serving filters, asking partners, quotas.
//! - [`federated`]: asking every partner a search in parallel, within a deadline.
//! - [`correlation`]: which agencies hold or sighted a value, from the indexes.
//! - [`listing`]: what the node holds, newest first, by pages over the change log.
//! - [`warninglist`]: values known to be harmless, checked before publishing.
//! - [`platform`]: submissions from platform partners, held for review.
//! - [`retention`]: purging records past their valid-until.
//! - [`limits`]: rate limits per partner and per client certificate, one Pull stream per partner.
//! - [`accountability`]: disclosure entries, signed heads and their gossip, receipts sent.
//! - [`channel`]: dialling a partner or the node over pinned mTLS (tonic channels).
//! - [`names`]: how an origin agency is named to this node's people ("Name (via Relay)").
#![forbid(unsafe_code)]

pub mod accountability;
pub mod bulk;
pub mod bulletin;
pub mod channel;
pub mod config;
pub mod correlation;
pub mod disclosure;
pub mod error;
pub mod federated;
pub mod foreground;
pub mod limits;
pub mod listing;
pub mod lookup;
pub mod names;
pub mod node;
pub mod partner_state;
pub mod platform;
pub mod retention;
pub mod sync;
pub mod warninglist;

pub use error::{Error, Result};
