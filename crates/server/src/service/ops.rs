//! The Admin service's operations calls: `Backup` (a consistent database snapshot,
//! streamed in chunks) and `Doctor` (the node's own health checks).
//!
//! This module must never hold the store's write gate while streaming (the copy
//! goes to an unlinked temporary file first), nor send anything but the snapshot
//! (keys stay on disk; the CLI reads them itself).

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::status::status;
use liaison_core::proto;
use liaison_node::error::Error;
use liaison_node::node::Node;
use liaison_store::store::StoreError;

/// Bytes of snapshot per chunk (well under the message limit).
const CHUNK_BYTES: usize = 1024 * 1024;

pub type BackupStream = ReceiverStream<Result<proto::BackupChunk, Status>>;

/// Takes the snapshot (writes pause for the copy only) into an unlinked file in
/// the node directory, then streams it.
pub(super) async fn backup(node: Arc<Node>, who: String) -> Result<BackupStream, Status> {
    let snapshot_node = node.clone();
    let (file, summary) = tokio::task::spawn_blocking(move || {
        let node = snapshot_node;
        let io = |e: std::io::Error| Error::Store(StoreError::Io(format!("backup snapshot: {e}")));
        let mut file = tempfile::tempfile_in(&node.dir.root).map_err(io)?;
        let mut writer = BufWriter::new(&mut file);
        let started = std::time::Instant::now();
        let summary = node.store.snapshot(&mut writer)?;
        // Writes waited this long (the copy holds the write gate).
        let paused_ms = started.elapsed().as_millis();
        writer.flush().map_err(io)?;
        drop(writer);
        let len = file.seek(SeekFrom::End(0)).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        tracing::info!(
            records = summary.records,
            bytes = len,
            paused_ms,
            "backup snapshot taken"
        );
        Ok::<_, Error>((file, (summary, len)))
    })
    .await
    .map_err(|_| status(Error::ShuttingDown))?
    .map_err(status)?;
    let (summary, total_bytes) = summary;
    // Who took a copy of the whole database, logged before a byte leaves. The
    // file it becomes (size, digest, keys) is the CLI's `backup.create`.
    node.audit(
        who,
        "backup.snapshot",
        serde_json::json!({
            "records": summary.records,
            "entries": summary.entries,
            "bytes": total_bytes,
        }),
    )
    .await
    .map_err(status)?;
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        if let Err(status) = stream_file(file, total_bytes, summary, &tx) {
            let _ = tx.blocking_send(Err(status));
        }
    });
    Ok(ReceiverStream::new(rx))
}

fn stream_file(
    mut file: std::fs::File,
    total_bytes: u64,
    summary: liaison_store::store::SnapshotSummary,
    tx: &mpsc::Sender<Result<proto::BackupChunk, Status>>,
) -> Result<(), Status> {
    let mut hasher = Sha256::new();
    let mut first = true;
    let mut buffer = vec![0u8; CHUNK_BYTES];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| Status::internal(format!("backup: reading the snapshot: {e}")))?;
        hasher.update(&buffer[..n]);
        let mut chunk = proto::BackupChunk {
            data: buffer[..n].to_vec(),
            ..Default::default()
        };
        if first {
            chunk.total_bytes = total_bytes;
            chunk.entries = summary.entries;
            chunk.records = summary.records;
            first = false;
        }
        if n == 0 {
            chunk.sha256 = hasher.clone().finalize().to_vec();
        }
        if tx.blocking_send(Ok(chunk)).is_err() {
            // The admin went away; the unlinked file disappears with `file`.
            return Ok(());
        }
        if n == 0 {
            return Ok(());
        }
    }
}

/// The node's checks, as wire messages.
pub(super) async fn doctor(node: Arc<Node>) -> proto::DoctorReport {
    let checks = crate::ops::node_checks(&node).await;
    proto::DoctorReport {
        checks: checks
            .into_iter()
            .map(|c| proto::DoctorCheck {
                check: c.check,
                verdict: c.verdict.as_str().to_string(),
                detail: c.detail,
            })
            .collect(),
    }
}
