//! `liaison audit …`: verify the log, list and export its entries, a report per
//! partner, and the signed log heads seen. Every subcommand reads the files in
//! the node directory directly, so it works whether the node runs or not; none
//! of them writes.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};

use liaison_identity::identity::NodeDir;
use liaison_server::config::NodeDirSetup;
use liaison_store::audit::oversight;
use liaison_store::audit::query::{self, Filter};

/// Which entries: the filters `audit list` and `audit export` share.
#[derive(Args, Debug, Clone, Default)]
pub struct EntryFilter {
    /// Only entries since: a date (2026-11-20), an RFC 3339 time, or an age (24h, 7days).
    #[arg(long)]
    pub since: Option<String>,
    /// Only entries up to this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Only entries whose actor contains this text (e.g. a person's name, "admin").
    #[arg(long)]
    pub actor: Option<String>,
    /// Only entries about this partner: its node id or a unique prefix of it.
    #[arg(long)]
    pub partner: Option<String>,
    /// Only actions containing this text (see docs/OPERATIONS.md §11): a whole
    /// action ("sync.disclose") or any part of one ("disclose", "rotate").
    #[arg(long)]
    pub action: Option<String>,
}

impl EntryFilter {
    pub(crate) fn resolve(&self, dir: &NodeDir) -> Result<Filter> {
        oversight::FilterText {
            since: self.since.clone(),
            until: self.until.clone(),
            actor: self.actor.clone(),
            partner: self.partner.clone(),
            action: self.action.clone(),
        }
        .resolve(&dir.audit_log(), &[], "--")
        .map_err(|e| anyhow!(e))
    }
}

fn partner_id(dir: &NodeDir, prefix: &str) -> Result<String> {
    query::resolve_partner(&dir.audit_log(), prefix, &[]).map_err(|e| anyhow!(e))
}

/// File formats of `audit export`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum ExportFormat {
    Csv,
    Json,
}

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
    /// Show entries, oldest first, filtered.
    List {
        #[command(flatten)]
        filter: EntryFilter,
        /// JSON (an array of entries) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What was disclosed to one partner: counts by TLP, kind and label, receipted
    /// and unreceipted batches, and the justifications of its searches.
    Report {
        /// The partner's node id or a unique prefix of it.
        #[arg(long)]
        partner: String,
        /// Only since: a date, an RFC 3339 time, or an age (30days).
        #[arg(long)]
        since: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write entries as CSV or JSON (for a data-protection officer).
    Export {
        /// csv or json.
        #[arg(long)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        filter: EntryFilter,
    },
    /// Signed log heads: the latest per origin (ours and partners'), and any
    /// conflicting heads (an origin that showed two histories).
    Heads {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(dir: &NodeDir, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { file, node_id } => verify(dir, file, node_id),
        AuditCommand::List { filter, json } => list(dir, &filter, json),
        AuditCommand::Report {
            partner,
            since,
            json,
        } => report(dir, &partner, since, json),
        AuditCommand::Export {
            format,
            out,
            filter,
        } => export(dir, format, out, &filter),
        AuditCommand::Heads { json } => heads(dir, json),
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
    for line in verify_lines(dir, file, node_id)? {
        out!("{line}");
    }
    Ok(())
}

/// `audit verify`'s verdict as lines of text (the words of
/// [`oversight::verdict_lines`], which the node's `ListAudit` sends too); an
/// error when the log does not verify.
fn verify_lines(
    dir: &NodeDir,
    file: Option<PathBuf>,
    node_id: Option<String>,
) -> Result<Vec<String>> {
    let path = file.unwrap_or_else(|| dir.audit_log());
    if !path.exists() {
        bail!("{}: no audit log there", path.display());
    }
    let key = node_key(dir, node_id)?;
    Ok(oversight::verdict_lines(&path, &key)?)
}

fn log_path(dir: &NodeDir) -> Result<PathBuf> {
    let path = dir.audit_log();
    match path.exists() {
        true => Ok(path),
        false => bail!("{}: no audit log there", path.display()),
    }
}

fn list(dir: &NodeDir, filter: &EntryFilter, json: bool) -> Result<()> {
    let entries = query::select(&log_path(dir)?, &filter.resolve(dir)?)?;
    if json {
        out!("{}", query::to_json(&entries));
        return Ok(());
    }
    for e in &entries {
        out!(
            "{:>6}  {}  {:<28} {:<18} {}",
            e.seq,
            query::time_text(e.time_ms),
            e.actor,
            e.action,
            summary(&e.detail)
        );
    }
    out!("{} entries", entries.len());
    Ok(())
}

/// One line of detail: the count for batches, else the JSON cut short.
fn summary(detail: &serde_json::Value) -> String {
    if let (Some(count), Some(cursor)) = (detail.get("count"), detail.get("cursor")) {
        return format!("{count} records, cursor {cursor}");
    }
    let text = detail.to_string();
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

fn report(dir: &NodeDir, partner: &str, since: Option<String>, json: bool) -> Result<()> {
    let path = log_path(dir)?;
    let partner = partner_id(dir, partner)?;
    let since_ms = since
        .as_deref()
        .map(|t| query::parse_time("--since", t))
        .transpose()
        .map_err(|e| anyhow!(e))?
        .unwrap_or(0);
    let report = liaison_store::audit::report::partner_report(&path, &partner, since_ms)?;
    if json {
        out!("{report}");
        return Ok(());
    }
    let sync = &report["sync"];
    let receipts = &report["receipts"];
    out!("Disclosed to partner {partner} since {}:", report["since"]);
    out!(
        "  by sync: {} records in {} batches",
        sync["records"],
        sync["batches"]
    );
    for field in ["tlp", "kind", "label"] {
        out!("    by {field}: {}", counts_line(&sync["counts"][field]));
    }
    out!(
        "  receipted: {} batches ({} records); unreceipted: {} batches ({} records)",
        receipts["batches_receipted"],
        receipts["records_receipted"],
        receipts["batches_unreceipted"],
        receipts["records_unreceipted"]
    );
    let answers = &report["search_answers"];
    out!(
        "  search answers: {} ({} records)",
        answers["answers"],
        answers["records"]
    );
    for search in report["searches"].as_array().into_iter().flatten() {
        out!(
            "    {} analyst {} case {} justification {} → {} records",
            search["time"].as_str().unwrap_or_default(),
            search["analyst"],
            search["case_reference"],
            search["justification"],
            search["results"]
        );
    }
    Ok(())
}

/// A report's counts object as one line ("seen 2, false-positive 1", or "-"),
/// shared with the console's disclosure report.
pub(crate) fn counts_line(counts: &serde_json::Value) -> String {
    let parts: Vec<String> = counts
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    match parts.is_empty() {
        true => "-".into(),
        false => parts.join(", "),
    }
}

fn export(
    dir: &NodeDir,
    format: ExportFormat,
    out: Option<PathBuf>,
    filter: &EntryFilter,
) -> Result<()> {
    let entries = query::select(&log_path(dir)?, &filter.resolve(dir)?)?;
    let mut bytes = Vec::new();
    match format {
        ExportFormat::Csv => query::write_csv(&entries, &mut bytes).map_err(|e| anyhow!(e))?,
        ExportFormat::Json => {
            bytes = serde_json::to_vec_pretty(&query::to_json(&entries))?;
            bytes.push(b'\n');
        }
    }
    match out {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{} entries written to {}", entries.len(), path.display());
        }
        None => {
            use std::io::Write as _;
            let _ = std::io::stdout().lock().write_all(&bytes);
        }
    }
    Ok(())
}

fn heads(dir: &NodeDir, json: bool) -> Result<()> {
    let book = liaison_node::accountability::heads::read_book(&dir.heads_file())
        .map_err(|e| anyhow!(e))?;
    if json {
        let latest: serde_json::Map<String, serde_json::Value> = book
            .latest
            .iter()
            .map(|(origin, seen)| {
                (
                    origin.clone(),
                    serde_json::to_value(seen).unwrap_or_default(),
                )
            })
            .collect();
        out!(
            "{}",
            serde_json::json!({ "latest": latest, "conflicts": book.conflicts })
        );
        return Ok(());
    }
    out!("Latest signed head per origin:");
    for (origin, seen) in &book.latest {
        out!(
            "  {}  size {:>7}  root {}  last sequence {}  signed {}  via {}",
            &origin[..16],
            seen.size,
            &seen.root[..16],
            seen.last_sequence,
            query::time_text(seen.signed_unix_ms),
            if seen.via == "self" {
                "self"
            } else {
                &seen.via[..16.min(seen.via.len())]
            }
        );
    }
    match book.conflicts.len() {
        0 => out!("No conflicting heads."),
        n => {
            out!("{n} CONFLICT(S): an origin signed two different histories of the same size");
            for c in &book.conflicts {
                out!(
                    "  origin {} size {}: root {} (via {}) vs root {} (via {})",
                    c.origin,
                    c.size,
                    &c.first.root[..16],
                    c.first.via,
                    &c.second.root[..16],
                    c.second.via
                );
            }
        }
    }
    Ok(())
}
