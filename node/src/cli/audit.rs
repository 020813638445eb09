//! `liaison audit …`: verify the log, list and export its entries, a report per
//! partner, and the signed log heads seen. Every subcommand reads the files in
//! the node directory directly, so it works whether the node runs or not; none
//! of them writes.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use crate::identity::NodeDir;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain and every signed checkpoint; name the first bad entry.
    Verify {
        /// Check this file instead of DIR/audit.log (e.g. a copy kept elsewhere).
        #[arg(long)]
        file: Option<PathBuf>,
        /// The node id (64 hex) whose checkpoints to expect; defaults to this node's.
        #[arg(long)]
        node_id: Option<String>,
    },
}

pub fn run(dir: &NodeDir, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { file, node_id } => verify(dir, file, node_id),
    }
}

fn node_key(dir: &NodeDir, node_id: Option<String>) -> Result<ed25519_dalek::VerifyingKey> {
    let bytes: [u8; 32] = match node_id {
        Some(hex_id) => hex::decode(hex_id.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("--node-id: not 64 hex characters")?,
        None => {
            let config = dir.load_config()?;
            dir.load_identity(&config)?.node_id().0
        }
    };
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).context("--node-id: not an Ed25519 key")
}

fn verify(dir: &NodeDir, file: Option<PathBuf>, node_id: Option<String>) -> Result<()> {
    let path = file.unwrap_or_else(|| dir.audit_log());
    if !path.exists() {
        bail!("{}: no audit log there", path.display());
    }
    let key = node_key(dir, node_id)?;
    let found = crate::audit::verify_with(&path, Some(&key))?;
    out!(
        "audit log intact: {} entries, {} signed checkpoints (node key {}), head {}",
        found.last_seq,
        found.checkpoints,
        &hex::encode(key.to_bytes())[..16],
        &found.head[..16]
    );
    match found.unsealed {
        0 => out!("sealed through entry {}: every entry is covered by a checkpoint", found.sealed_through),
        n => out!(
            "sealed through entry {}; {n} entries after it are unsealed (chained, not yet signed: the node is running, or it stopped without its shutdown checkpoint)",
            found.sealed_through
        ),
    }
    Ok(())
}
