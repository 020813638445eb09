//! The live state of private lookups that hangs off the node: this node's key
//! and filters as served, the next epoch's prepared ahead, the background
//! build's progress (with the memo of F per value per epoch and each partner's
//! evaluations today), partners' verified filters, and analysts' shares. The
//! steps that use it are [`super::serve`] and [`super::query`]; this module only
//! holds it and must never do I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How long the build took (the schedule spaces refreshes by it).
    pub(super) took: std::time::Duration,
    /// Built because a query found it stale (such rebuilds are rate-limited by
    /// `lookup.rebuild_min_seconds`), not by the background builder.
    pub(super) by_query: bool,
}

/// F of each held value, per epoch (the current one and the next, while it is
/// prepared), by SHA-256 of the OPRF input.
#[derive(Default)]
pub(super) struct Memo {
    pub(super) by_epoch: BTreeMap<u64, HashMap<[u8; 32], u64>>,
}

/// A build under way: its epoch and the change-log entries read of those held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub epoch: u64,
    pub done: u64,
    pub total: u64,
}

/// What an operator sees (metrics, doctor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterStatus {
    /// The epoch now.
    pub epoch: u64,
    /// The served filters' epoch and values (the widest filter), if any.
    pub ready: Option<(u64, usize)>,
    /// The epoch of the filters prepared ahead, if any.
    pub next_ready: Option<u64>,
    pub building: Option<Progress>,
}

impl FilterStatus {
    /// Ready for the epoch now (possibly a few seconds behind the change log).
    pub fn is_ready(&self) -> bool {
        self.ready.is_some_and(|(epoch, _)| epoch == self.epoch)
    }

    /// "lookup filter for epoch N: ready (V values) …" or "building (x of y values)".
    pub fn line(&self) -> String {
        let mut line = format!("lookup filter for epoch {}: ", self.epoch);
        match self.ready {
            Some((epoch, values)) if epoch == self.epoch => {
                line.push_str(&format!("ready ({values} values)"))
            }
            _ => line.push_str("not built yet"),
        }
        if let Some(p) = self.building {
            let which = match p.epoch == self.epoch {
                true => "rebuilding".to_string(),
                false => format!("epoch {} building ahead", p.epoch),
            };
            line.push_str(&format!("; {which} ({} of {} values)", p.done, p.total));
        } else if let Some(next) = self.next_ready.filter(|n| *n > self.epoch) {
            line.push_str(&format!("; epoch {next} ready ahead"));
        }
        line
    }
}

#[derive(Default)]
pub struct ServerState {
    pub(super) built: Mutex<Option<Arc<Built>>>,
    /// The next epoch's filters, built ahead of the turn.
    pub(super) next: Mutex<Option<Arc<Built>>>,
    pub(super) building: tokio::sync::Mutex<()>,
    pub(super) building_ahead: tokio::sync::Mutex<()>,
    pub(super) progress: Mutex<Option<Progress>>,
    /// Wakes the background builder (a query saw stale filters).
    pub(super) wake: tokio::sync::Notify,
    pub(super) memo: Arc<Mutex<Memo>>,
    /// Evaluations per partner: (UTC day, count).
    pub(super) used: Mutex<HashMap<NodeId, (i64, u32)>>,
    /// Bulk imports in flight (the builder defers refreshes while any runs).
    pub(super) imports: AtomicUsize,
}

impl ServerState {
    /// A bulk import began; pair with [`ServerState::import_ended`].
    pub fn import_started(&self) {
        self.imports.fetch_add(1, Ordering::SeqCst);
    }

    /// A bulk import ended: the builder catches up at once.
    pub fn import_ended(&self) {
        self.imports.fetch_sub(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    pub(super) fn importing(&self) -> bool {
        self.imports.load(Ordering::SeqCst) > 0
    }

    /// The filters' state at `epoch` (the epoch now).
    pub fn status(&self, epoch: u64) -> FilterStatus {
        let values = |b: &Built| b.filters.values().map(|f| f.values).max().unwrap_or(0);
        let ready = self
            .built
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(|b| (b.key.epoch.number, values(b))));
        let next_ready = self
            .next
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(|b| b.key.epoch.number));
        FilterStatus {
            epoch,
            ready,
            next_ready,
            building: self.progress.lock().ok().and_then(|p| *p),
        }
    }
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
