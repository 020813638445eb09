//! Retention: records past their valid-until are purged on every node by a
//! periodic task (search also hides them at read time, so an expired record is
//! never returned in between). Each purge is written to the audit log.

use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;

/// Runs one purge now; returns how many records went.
pub async fn purge_once(node: &Arc<Node>) -> crate::Result<usize> {
    let purged = node.commits.purge_expired(liaison_core::now_ms()).await?;
    if !purged.is_empty() {
        let ids: Vec<String> = purged.iter().map(|id| id.to_hex()).collect();
        let detail = serde_json::json!({ "count": ids.len(), "records": ids });
        node.audit("node".into(), "retention.purge", detail).await?;
        tracing::info!(
            count = purged.len(),
            "purged records past their valid-until"
        );
    }
    Ok(purged.len())
}

/// Starts the periodic purge; it stops at shutdown.
pub fn start(node: Arc<Node>, interval: Duration) {
    tokio::spawn(async move {
        let mut shutdown = node.shutdown.clone();
        loop {
            if let Err(e) = purge_once(&node).await {
                tracing::warn!(error = %e, "retention purge failed; will retry");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.wait() => return,
            }
        }
    });
}
