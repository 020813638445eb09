//! The live state of private lookups that hangs off the node: this node's key
//! and filters as served (with the memo of F per value and each partner's
//! evaluations today), partners' verified filters, and analysts' shares. The
//! steps that use it are [`super::serve`] and [`super::query`]; this module only
//! holds it and must never do I/O.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::epoch::EpochKey;
use super::filter::{Header, LookupFilter};
use super::share::AnalystShares;
use liaison_core::record::{NodeId, Tlp};

/// A filter ready to serve.
pub struct SignedFilter {
    pub header: Header,
    pub signature: [u8; 64],
    pub bytes: Vec<u8>,
    pub values: usize,
}

/// One epoch's key and its filters, as of one change-log position.
pub struct Built {
    pub key: Arc<EpochKey>,
    pub filters: HashMap<(Tlp, bool), Arc<SignedFilter>>,
    pub(super) change: u64,
    pub(super) at: Instant,
}

/// F of each held value this epoch, by SHA-256 of the OPRF input.
#[derive(Default)]
pub(super) struct Memo {
    pub(super) epoch: u64,
    pub(super) keys: HashMap<[u8; 32], u64>,
}

#[derive(Default)]
pub struct ServerState {
    pub(super) built: Mutex<Option<Arc<Built>>>,
    pub(super) building: tokio::sync::Mutex<()>,
    pub(super) memo: Arc<Mutex<Memo>>,
    /// Evaluations per partner: (UTC day, count).
    pub(super) used: Mutex<HashMap<NodeId, (i64, u32)>>,
}

/// A partner's verified filter.
pub struct Cached {
    pub header: Header,
    pub filter: Arc<LookupFilter>,
}

#[derive(Default)]
pub struct FilterCache {
    pub(super) filters: Mutex<HashMap<NodeId, Arc<Cached>>>,
}

/// Both halves' live state, hung off the node.
#[derive(Default)]
pub struct LookupState {
    pub server: ServerState,
    pub querier: FilterCache,
    pub shares: AnalystShares,
}
