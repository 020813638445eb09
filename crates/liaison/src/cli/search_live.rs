//! `liaison search --federated` on a terminal: the node's `SearchStream`,
//! printed as it arrives (this node's records, then each partner's line and
//! records the moment that partner answers). Piped, or with `--json`, the
//! command keeps the one collected `Search` answer, so scripts see the same
//! output as before.
//!
//! This module must never decide what a search returns: it prints the node's
//! events in their order.

use anyhow::Result;

use super::output::{partner_line, print_records, print_search_head};
use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::proto;
use liaison_core::proto::search_event::Event;

/// Whether the search is printed as it arrives: federated, for a person
/// reading a terminal, not for a program reading JSON.
pub fn live(federated: bool, json: bool, stdout_is_terminal: bool) -> bool {
    federated && !json && stdout_is_terminal
}

pub async fn print_streamed(client: &NodeClient, request: proto::SearchRequest) -> Result<()> {
    let mut events = client
        .analyst()
        .search_stream(request)
        .await
        .map_err(status_error)?
        .into_inner();
    while let Some(proto::SearchEvent { event }) = events.message().await.map_err(status_error)? {
        match event {
            Some(Event::Local(local)) => {
                print_search_head(&local.normalized_queries, &local.correlations);
                out!("This node: {} record(s)", local.records.len());
                print_records(&local.records);
                out!();
                out!("Partners, as each answers:");
            }
            Some(Event::Partner(part)) => {
                if let Some(status) = &part.status {
                    out!("{}", partner_line(status));
                }
                print_records(&part.records);
            }
            Some(Event::End(end)) if end.partners == 0 => {
                out!("  no partner was asked (none enrolled for search)");
            }
            Some(Event::End(_)) | None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_federated_search_on_a_terminal_without_json_is_printed_live() {
        assert!(live(true, false, true));
        assert!(!live(true, true, true), "--json output stays one answer");
        assert!(!live(true, false, false), "piped output stays one answer");
        assert!(!live(false, false, true), "a local search is one answer");
    }

    #[test]
    fn a_partner_line_names_the_partner_or_its_id() {
        let mut status = proto::PartnerStatus {
            node_id: "0123456789abcdef0123".into(),
            status: "timed out".into(),
            latency_ms: 2000,
            ..Default::default()
        };
        assert_eq!(
            partner_line(&status),
            "  partner 0123456789abcdef: timed out in 2000 ms, 0 record(s)"
        );
        status.name = "Agency B (example)".into();
        status.detail = "deadline".into();
        assert!(partner_line(&status).starts_with("  partner Agency B (example): timed out"));
        assert!(partner_line(&status).ends_with("(deadline)"));
    }
}
