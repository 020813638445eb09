//! `liaison lookup VALUE`: a private hit/no-hit lookup at every partner
//! (`Analyst.Lookup`; docs/PRIVATE_LOOKUP.md). Prints one line per partner, or
//! the LookupResponse with --json
//! (`{"partners":[{"nodeId","name","hit","quotaLeft","status","detail"}]}`). This module must never fall back to a clear-text search.

use anyhow::Result;
use clap::Args;

use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::indicator::Kind;
use liaison_core::proto;
use liaison_identity::identity::NodeDir;

#[derive(Args, Debug)]
pub struct LookupArgs {
    /// The value to look up, in any spelling its kind accepts; it is blinded
    /// and never leaves this node in the clear.
    pub value: String,
    /// Read the value as this kind only (default: every kind it could be, at
    /// one evaluation per reading per partner).
    #[arg(long, value_enum, ignore_case = true)]
    pub kind: Option<Kind>,
    /// Country for a phone number in national format.
    #[arg(long)]
    pub country: Option<String>,
    /// Print the answer as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn lookup(dir: &NodeDir, args: LookupArgs) -> Result<()> {
    let request = proto::LookupRequest {
        value: args.value,
        kind: args.kind.map(|k| i32::from(k.code())).unwrap_or(0),
        default_country: args.country.unwrap_or_default(),
    };
    let client = NodeClient::for_dir(dir).await?;
    let response = client
        .analyst()
        .lookup(request)
        .await
        .map_err(status_error)?
        .into_inner();
    if args.json {
        return super::output::print_json(&response);
    }
    if response.partners.is_empty() {
        out!("No partners enrolled: nobody to ask.");
    }
    for p in &response.partners {
        let answer = match (p.status.as_str(), p.hit) {
            ("answered", true) => "HIT".to_string(),
            ("answered", false) => "no hit".to_string(),
            (status, _) => format!("no answer ({status}: {})", p.detail),
        };
        out!(
            "{:<32} {:<10} {answer:<12} quota left today: {}",
            p.name,
            &p.node_id[..p.node_id.len().min(10)],
            p.quota_left
        );
    }
    Ok(())
}
