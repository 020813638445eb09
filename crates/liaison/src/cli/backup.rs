//! `liaison backup` and `liaison restore`. A running node takes the database
//! snapshot itself (sled allows one process) and streams it; a stopped node's
//! database is opened here. The rest (config, certificates, audit log, and the
//! keys when asked) is read from the node directory, so keys and passphrase never
//! cross the network.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use sha2::{Digest, Sha256};

use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::proto;
use liaison_identity::identity::NodeDir;
use liaison_store::store::{SnapshotSummary, Store};

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist yet (written as FILE.partial,
    /// renamed when complete).
    #[arg(long)]
    pub out: PathBuf,
    /// Also back up the private keys, encrypted with a passphrase (age, scrypt)
    /// read from --passphrase-file or the LIAISON_BACKUP_PASSPHRASE variable.
    #[arg(long)]
    pub include_keys: bool,
    /// A file whose first line is the passphrase (at least 12 characters); else
    /// LIAISON_BACKUP_PASSPHRASE is used. Never given as an argument value.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup file written by `liaison backup`. The new node directory is
    /// --dir, which must not exist or be empty.
    #[arg(long)]
    pub from: PathBuf,
    /// For a backup made with --include-keys: a file whose first line is the
    /// passphrase; else LIAISON_BACKUP_PASSPHRASE is used.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// The node the backup must come from: its node id (64 hex, printed by
    /// `liaison backup` and `liaison identity show`) or its 25-digit
    /// fingerprint. The backup's signature must verify under it. Required for
    /// a backup without keys; for one with keys, the keys the passphrase
    /// unlocks vouch for it, and this flag checks them too.
    #[arg(long, value_name = "NODE_ID|FINGERPRINT", value_parser = parse_expected)]
    pub expect_node: Option<liaison_server::backup::ExpectedNode>,
}

fn parse_expected(text: &str) -> Result<liaison_server::backup::ExpectedNode, String> {
    text.parse()
}

/// A client to the node in `dir` if it is running (it wrote its address file
/// and answers), else `None`.
pub(super) async fn running_node(dir: &NodeDir) -> Option<NodeClient> {
    if !dir.bound_address().exists() {
        return None;
    }
    NodeClient::for_dir(dir).await.ok()
}

pub async fn backup(dir: &NodeDir, args: BackupArgs) -> Result<()> {
    let passphrase = match args.include_keys {
        true => Some(
            liaison_server::backup::passphrase(args.passphrase_file.as_deref())?.context(
                "--include-keys: give --passphrase-file FILE or set LIAISON_BACKUP_PASSPHRASE",
            )?,
        ),
        false => None,
    };
    if args.out.exists() {
        bail!(
            "--out: {} already exists; choose a new file name",
            args.out.display()
        );
    }
    let folder = match args.out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut snapshot = tempfile::tempfile_in(&folder)
        .with_context(|| format!("--out: cannot write in {}", folder.display()))?;
    // Before the snapshot: the heads file must not be ahead of it.
    let pre = liaison_server::backup::PreSnapshot::capture(dir)?;
    let (summary, live) = match running_node(dir).await {
        Some(client) => (fetch_snapshot(&client, &mut snapshot).await?, true),
        None => (offline_snapshot(dir, &mut snapshot)?, false),
    };
    let written = liaison_server::backup::write_backup(
        dir,
        &args.out,
        pre,
        &mut snapshot,
        summary,
        passphrase.as_ref(),
        &std::env::var("USER").unwrap_or_default(),
    )?;
    out!(
        "Wrote {} ({} records, {} bytes{}), taken {}.",
        args.out.display(),
        written.manifest.records,
        written.bytes,
        if written.manifest.includes_keys {
            ", keys encrypted"
        } else {
            ", without keys"
        },
        if live {
            "from the running node"
        } else {
            "from the stopped node's database"
        }
    );
    out!("  SHA-256 of the file: {}", written.file_sha256);
    out!(
        "  Signed by node {}: restore with `liaison --dir NEW_DIR restore --from FILE --expect-node {}`.",
        written.manifest.node_id,
        written.manifest.node_id
    );
    if !written.manifest.includes_keys {
        out!("  Keys are not in it: keep a copy of keys/, tls/node.key, ca/ca.key and admin/client.key elsewhere (docs/OPERATIONS.md).");
    }
    Ok(())
}

/// Streams the running node's snapshot into `file`, checking size and checksum.
async fn fetch_snapshot(client: &NodeClient, file: &mut std::fs::File) -> Result<SnapshotSummary> {
    let mut stream = client
        .admin()
        .backup(proto::BackupRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    let mut writer = BufWriter::new(file);
    let mut hasher = Sha256::new();
    let (mut received, mut expected, mut summary) = (0u64, None, None);
    while let Some(chunk) = stream.message().await.map_err(status_error)? {
        if summary.is_none() {
            expected = Some(chunk.total_bytes);
            summary = Some(SnapshotSummary {
                entries: chunk.entries,
                records: chunk.records,
            });
        }
        hasher.update(&chunk.data);
        writer
            .write_all(&chunk.data)
            .context("writing the snapshot")?;
        received += chunk.data.len() as u64;
        if !chunk.sha256.is_empty() {
            if chunk.sha256 != hasher.clone().finalize().to_vec() || Some(received) != expected {
                bail!("the snapshot arrived damaged (size or checksum differ); try again");
            }
            writer.flush().context("writing the snapshot")?;
            return summary.context("empty snapshot stream");
        }
    }
    bail!("the node ended the backup stream early; try again")
}

/// Snapshot of a stopped node's database (refused while the node holds it).
fn offline_snapshot(dir: &NodeDir, file: &mut std::fs::File) -> Result<SnapshotSummary> {
    let store = Store::open(&dir.database(), 16 * 1024 * 1024).with_context(|| {
        format!(
            "the node does not answer, and its database cannot be opened; if `liaison run --dir {}` is running, check that it is reachable",
            dir.root.display()
        )
    })?;
    let mut writer = BufWriter::new(file);
    let summary = store.snapshot(&mut writer)?;
    writer.flush()?;
    drop(writer);
    Ok(summary)
}

pub fn restore(dir: &NodeDir, args: RestoreArgs) -> Result<()> {
    let passphrase = liaison_server::backup::passphrase(args.passphrase_file.as_deref())?;
    let report = liaison_server::backup::restore(
        &args.from,
        &dir.root,
        passphrase.as_ref(),
        args.expect_node.as_ref(),
    )?;
    out!(
        "Restored {:?} ({} records, backup of {}) into {}.",
        report.manifest.name,
        report.records,
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(report.manifest.created_ms.max(0) as u64)
        ),
        dir.root.display()
    );
    out!(
        "  Signature verified: written by node {}{}.",
        report.manifest.node_id,
        match args.expect_node {
            Some(_) => " (the node you expected)",
            None => " (vouched for by the keys your passphrase unlocked)",
        }
    );
    out!("  The node resumes sync with each partner from its saved cursor.");
    if let Some(reason) = &report.audit_unverified {
        out!("  WARNING: the audit log in the backup is unverified: {reason}.");
    }
    if !report.keys_missing.is_empty() {
        out!("  The backup holds no keys. Before `liaison run`, copy these files from the old node directory (or your key store), mode 0600 (their folders are made, owner only):");
        for name in &report.keys_missing {
            out!("    {}", dir.root.join(name).display());
        }
    }
    Ok(())
}
