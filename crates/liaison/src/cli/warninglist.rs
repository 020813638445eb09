//! `liaison warninglist add|list|remove|import`: this node's warninglists, kept
//! by the running node (Analyst.*Warninglist). Import reads MISP's warninglist
//! JSON here and sends every entry in one request, so a bad entry stores nothing.
//!
//! This module must never decide what a value's canonical form is: the node does.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::indicator::Kind;
use liaison_core::proto;
use liaison_identity::identity::NodeDir;

#[derive(Subcommand, Debug)]
pub enum WarninglistCommand {
    /// Put a value on a warninglist (known harmless or shared: publishing it warns).
    Add {
        /// What the value is; it is normalised as publish normalises it.
        #[arg(long, value_enum, ignore_case = true)]
        kind: Kind,
        /// The value, e.g. "+44 7700 900999" or example.org.
        #[arg(long)]
        value: String,
        /// The list's name.
        #[arg(long, default_value = liaison_node::warninglist::DEFAULT_LIST)]
        list: String,
        /// Why the value is harmless (e.g. "public victim helpline").
        #[arg(long, default_value = "")]
        note: String,
        /// Country for a phone number in national format.
        #[arg(long, default_value = "")]
        country: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show every warninglist entry.
    List {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Take a value off a warninglist (off every list unless --list is given).
    Remove {
        /// What the value is.
        #[arg(long, value_enum, ignore_case = true)]
        kind: Kind,
        /// The value, in any form publish accepts.
        #[arg(long)]
        value: String,
        /// Only from this list.
        #[arg(long, default_value = "")]
        list: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import a MISP warninglist file (list.json: name, list, matching_attributes);
    /// all entries or none.
    Import {
        /// The MISP warninglist JSON file.
        file: PathBuf,
        /// The kind of every value (default: from the file's matching_attributes).
        #[arg(long, value_enum, ignore_case = true)]
        kind: Option<Kind>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn warninglist(dir: &NodeDir, command: WarninglistCommand) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    let mut analyst = client.analyst();
    let (response, json, verb) = match command {
        WarninglistCommand::Add {
            kind,
            value,
            list,
            note,
            country,
            json,
        } => {
            let entry = proto::WarninglistEntry {
                list,
                kind: i32::from(kind.code()),
                value,
                note,
                default_country: country,
                ..Default::default()
            };
            let request = proto::AddWarninglistRequest {
                entries: vec![entry],
            };
            (analyst.add_warninglist(request).await, json, "Added")
        }
        WarninglistCommand::List { json } => (
            analyst
                .list_warninglist(proto::ListWarninglistRequest {})
                .await,
            json,
            "",
        ),
        WarninglistCommand::Remove {
            kind,
            value,
            list,
            json,
        } => {
            let request = proto::RemoveWarninglistRequest {
                kind: i32::from(kind.code()),
                value,
                list,
            };
            (analyst.remove_warninglist(request).await, json, "Removed")
        }
        WarninglistCommand::Import { file, kind, json } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("file: cannot read {}", file.display()))?;
            let entries = liaison_node::warninglist::parse_misp(&text, kind)?;
            let request = proto::AddWarninglistRequest { entries };
            (analyst.add_warninglist(request).await, json, "Imported")
        }
    };
    let response = response.map_err(status_error)?.into_inner();
    if json {
        return super::output::print_json(&response);
    }
    let entries = response.entries;
    for entry in &entries {
        let kind = kind_name(entry.kind);
        match entry.note.is_empty() {
            true => out!("{:<24} {kind:<12} {}", entry.list, entry.value),
            false => out!(
                "{:<24} {kind:<12} {}  ({})",
                entry.list,
                entry.value,
                entry.note
            ),
        }
    }
    match verb {
        "" => out!("{} entry(ies)", entries.len()),
        verb => out!("{verb} {} entry(ies)", entries.len()),
    }
    Ok(())
}

fn kind_name(code: i32) -> String {
    u8::try_from(code)
        .ok()
        .and_then(Kind::from_code)
        .map(|k| k.to_string())
        .unwrap_or_default()
}
