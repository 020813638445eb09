//! `liaison bulletin publish|list|show`: signed bulletins grouping indicators
//! (issue 15), through the running node (Analyst.*Bulletin*).
//!
//! This module must never resolve member ids or decide who sees a member: the
//! node does both (a `show` lists only the members this node may know).

use anyhow::Result;
use clap::{Args, Subcommand};

use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::indicator::Kind;
use liaison_core::proto;
use liaison_core::record::{
    handling_to_wire, tlp_from_wire, tlp_to_wire, HandlingCode, Label, Tlp,
};
use liaison_identity::identity::NodeDir;

#[derive(Subcommand, Debug)]
pub enum BulletinCommand {
    /// Sign and share a bulletin grouping indicators this node holds; each
    /// partner learns only the members it may receive.
    Publish(Box<PublishArgs>),
    /// Every bulletin this node holds, newest first.
    List {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One bulletin: its text and the members visible here; the rest are withheld.
    Show {
        /// The bulletin's record id, or a unique prefix of 8+ hex digits.
        id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// One-line title, e.g. "Fake job adverts recruiting for Myawaddy compounds".
    #[arg(long)]
    pub title: String,
    /// What the case or campaign is.
    #[arg(long, default_value = "")]
    pub summary: String,
    /// How the criminals operate.
    #[arg(long, default_value = "")]
    pub modus_operandi: String,
    /// Record id (or a unique prefix of 8+ hex digits) of a grouped indicator (repeatable).
    #[arg(long = "indicator", required = true)]
    pub indicators: Vec<String>,
    /// TLP 2.0 marking of the bulletin itself.
    #[arg(long, value_enum, ignore_case = true)]
    pub tlp: Tlp,
    /// Crime-area label (repeatable).
    #[arg(long = "label", value_enum, ignore_case = true)]
    pub labels: Vec<Label>,
    /// ISO 3166 alpha-2 code of a country affected (repeatable).
    #[arg(long = "country")]
    pub countries: Vec<String>,
    /// Handling code (repeatable).
    #[arg(long = "handling", value_enum, ignore_case = true)]
    pub handling: Vec<HandlingCode>,
    /// The H3 restriction text.
    #[arg(long, default_value = "")]
    pub handling_note: String,
    /// Node id (or a unique prefix of 8+ hex digits) of a RED bulletin's recipient (repeatable).
    #[arg(long = "recipient")]
    pub recipients: Vec<String>,
    /// Days the bulletin stays valid (default: `default_valid_days`).
    #[arg(long)]
    pub valid_days: Option<u32>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn bulletin(dir: &NodeDir, command: BulletinCommand) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    let mut analyst = client.analyst();
    match command {
        BulletinCommand::Publish(args) => {
            let PublishArgs {
                title,
                summary,
                modus_operandi,
                indicators,
                tlp,
                labels,
                countries,
                handling,
                handling_note,
                recipients,
                valid_days,
                json,
            } = *args;
            let request = proto::PublishBulletinRequest {
                title,
                summary,
                modus_operandi,
                labels: labels.iter().map(|l| l.as_str().to_string()).collect(),
                countries,
                members: indicators,
                tlp: tlp_to_wire(tlp) as i32,
                handling: handling
                    .iter()
                    .map(|&h| handling_to_wire(h) as i32)
                    .collect(),
                handling_note,
                recipients: super::ids::resolve_all(&client, "--recipient", &recipients).await?,
                valid_days: valid_days.unwrap_or(0),
            };
            let published = analyst
                .publish_bulletin(request)
                .await
                .map_err(status_error)?
                .into_inner();
            match json {
                true => super::output::print_json(&published)?,
                false => out!("Published bulletin {}", published.record_id),
            }
        }
        BulletinCommand::List { json } => {
            let listed = analyst
                .list_bulletins(proto::ListBulletinsRequest {})
                .await
                .map_err(status_error)?
                .into_inner();
            if json {
                return super::output::print_json(&listed);
            }
            for b in &listed.bulletins {
                out!(
                    "{}  {:<6} {}{}  ({} of {} members visible; from {})",
                    super::ids::short(&b.record_id),
                    tlp_name(b.tlp),
                    if b.revoked { "[REVOKED] " } else { "" },
                    b.title,
                    b.members.len(),
                    b.members_total,
                    origin(b)
                );
            }
            out!("{} bulletin(s)", listed.bulletins.len());
        }
        BulletinCommand::Show { id, json } => {
            let view = analyst
                .get_bulletin(proto::GetRequest { record_id: id })
                .await
                .map_err(status_error)?
                .into_inner();
            match json {
                true => super::output::print_json(&view)?,
                false => print_view(&view),
            }
        }
    }
    Ok(())
}

fn print_view(b: &proto::BulletinView) {
    out!("Bulletin {}", b.record_id);
    if b.revoked {
        out!("  REVOKED by its origin");
    }
    out!("  title:    {}", b.title);
    out!("  TLP:      {}", tlp_name(b.tlp));
    out!("  from:     {}", origin(b));
    if !b.labels.is_empty() {
        out!("  labels:   {}", b.labels.join(", "));
    }
    if !b.countries.is_empty() {
        out!("  countries: {}", b.countries.join(", "));
    }
    if !b.summary.is_empty() {
        out!("  summary:  {}", b.summary);
    }
    if !b.modus_operandi.is_empty() {
        out!("  modus operandi: {}", b.modus_operandi);
    }
    out!("  members:  {} of {}", b.members.len(), b.members_total);
    for m in &b.members {
        match m.held {
            true => out!(
                "    {}  {:<10} {:<6} {}",
                super::ids::short(&m.record_id),
                kind_name(m.kind),
                tlp_name(m.tlp),
                m.value
            ),
            false => out!(
                "    {}  (not held here yet)",
                super::ids::short(&m.record_id)
            ),
        }
    }
    if b.withheld > 0 {
        out!(
            "  {} of {} members withheld (not shared with this agency)",
            b.withheld,
            b.members_total
        );
    }
}

fn origin(b: &proto::BulletinView) -> String {
    match b.origin_name.is_empty() {
        true => super::ids::short(&b.origin).to_string(),
        false => b.origin_name.clone(),
    }
}

fn tlp_name(code: i32) -> String {
    tlp_from_wire(code)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn kind_name(code: i32) -> String {
    u8::try_from(code)
        .ok()
        .and_then(Kind::from_code)
        .map(|k| k.to_string())
        .unwrap_or_default()
}
