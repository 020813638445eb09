//! The background builder of this node's lookup filters: it asks the one
//! scheduling decision ([`super::schedule::plan`]) what to build, every second
//! or when a query finds the filters stale, and builds it on the blocking pool
//! (one build of each epoch at a time, cancelled at the next change-log page
//! once the node's shutdown signal fires). So the next epoch's filters are ready
//! before the turn, and after a bulk import the current ones are rebuilt here,
//! not at a partner's first query.
//!
//! This module decides nothing itself (the schedule does) and must never build
//! on the async threads.

use std::sync::Arc;
use std::time::Duration;

use super::epoch::Epoch;
use super::schedule::{self, Inputs, Plan, Snapshot};
use super::serve;
use super::state::Built;
use crate::error::Result;
use crate::node::Node;

/// How often the builder looks again when nothing woke it.
const TICK: Duration = Duration::from_secs(1);

/// Starts the builder; it stops at shutdown.
pub fn start(node: Arc<Node>) {
    tokio::spawn(async move {
        let mut shutdown = node.shutdown.clone();
        loop {
            let outcome = tokio::select! {
                outcome = step(&node) => outcome,
                _ = shutdown.wait() => return,
            };
            match outcome {
                // Built something: look again at once (a promotion may need a
                // refresh, a refresh may be followed by the next epoch).
                Ok(plan) if plan != Plan::Idle => continue,
                Ok(_) => {}
                Err(e) if node.shutdown.is_triggered() => {
                    tracing::debug!(error = %e, "lookup filter build cancelled at shutdown");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "lookup filter build failed; will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = node.lookup.server.wake.notified() => {}
                _ = shutdown.wait() => return,
            }
        }
    });
}

fn snapshot(built: &Option<Arc<Built>>) -> Option<Snapshot> {
    built.as_ref().map(|b| Snapshot {
        epoch: b.key.epoch.number,
        change: b.change,
        age_ms: u64::try_from(b.at.elapsed().as_millis()).unwrap_or(u64::MAX),
        build_ms: u64::try_from(b.took.as_millis()).unwrap_or(u64::MAX),
    })
}

/// One decision and its build.
async fn step(node: &Arc<Node>) -> Result<Plan> {
    let state = &node.lookup.server;
    let now_ms = liaison_core::now_ms();
    let inputs = Inputs {
        now_ms,
        epoch_hours: node.config.lookup.epoch_hours,
        current: snapshot(&state.built.lock().ok().and_then(|b| b.clone())),
        next: snapshot(&state.next.lock().ok().and_then(|b| b.clone())),
        last_change: node.store.last_change()?,
        rebuild_min_ms: node.config.lookup.rebuild_min_seconds.saturating_mul(1000),
        importing: state.importing(),
    };
    let plan = schedule::plan(&inputs);
    let epoch = Epoch::at(now_ms, inputs.epoch_hours);
    match plan {
        Plan::Idle => return Ok(plan),
        Plan::Promote => {
            if serve::promote(node, epoch).await?.is_none() {
                serve::rebuild_current(node, epoch, false).await?;
            }
        }
        Plan::Current => {
            serve::rebuild_current(node, epoch, false).await?;
        }
        Plan::Next(next) => serve::build_ahead(node, next).await?,
    }
    let status = state.status(epoch.number);
    tracing::info!(
        epoch = epoch.number,
        values = status.ready.map_or(0, |(_, values)| values),
        next_ready = status.next_ready.is_some_and(|n| n > epoch.number),
        "lookup filters built"
    );
    Ok(plan)
}
