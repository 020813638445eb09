//! The Audit page, for oversight: "who was given what". The entries of the
//! node's audit log that `liaison audit list` would select (action, actor,
//! since), newest first and one page at a time, each with its action, actor,
//! time (local, UTC on hover) and details; and whether the log verifies, in
//! the words of `liaison audit verify`.
//!
//! Rendering only: it must never read the log or decide what is shown.

use maud::{html, Markup};

use super::records::encode;
use super::{error_box, page, time, Nav, Shown};
use liaison_store::audit::Entry;

/// The filters and page, as read from the URL.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub action: String,
    pub actor: String,
    pub since: String,
    /// Entries per page.
    pub size: usize,
    /// Which page, 0 being the newest entries.
    pub page: usize,
}

impl Filters {
    fn link(&self, page: usize) -> String {
        let mut link = format!("/audit?size={}&page={page}", self.size);
        for (name, value) in [
            ("action", &self.action),
            ("actor", &self.actor),
            ("since", &self.since),
        ] {
            if !value.is_empty() {
                link.push_str(&format!("&{name}={}", encode(value)));
            }
        }
        link
    }
}

/// What the handler found: the verdict of `audit verify`, and one page of the
/// selected entries (newest first) with the number selected in all.
pub struct Found {
    pub verified: Result<Vec<String>, String>,
    pub entries: Result<(Vec<Entry>, usize), String>,
}

pub fn audit_page(who: &str, filters: &Filters, found: Result<Found, String>) -> Markup {
    let body = html! {
        h1 { "Audit" }
        form.filters method="get" action="/audit" aria-label="filters" {
            label for="action" { "Action" }
            input #action type="text" name="action" value=(super::visible(&filters.action))
                placeholder="search.federated, disclose, rotate…";
            label for="actor" { "Actor" }
            input #actor type="text" name="actor" value=(super::visible(&filters.actor));
            label for="since" { "Since" }
            input #since type="text" name="since" value=(super::visible(&filters.since))
                placeholder="2026-11-20, 24h, 7days";
            input type="hidden" name="size" value=(filters.size);
            button type="submit" { "Show" }
        }
        @match &found {
            Err(message) => (error_box(message)),
            Ok(found) => (contents(filters, found)),
        }
    };
    page("Audit", Nav::Audit, who, body)
}

fn contents(filters: &Filters, found: &Found) -> Markup {
    html! {
        @match &found.verified {
            Ok(lines) => {
                div.chain-ok role="status" {
                    @for line in lines { p { "✓ " (Shown(line)) } }
                }
            }
            Err(why) => p.chain-bad role="alert" { "✗ the audit log does NOT verify: " (Shown(why)) },
        }
        @match &found.entries {
            Err(message) => (error_box(message)),
            Ok((entries, total)) => {
                p.meta { (total) " matching entr" @if *total == 1 { "y" } @else { "ies" } ", newest first" }
                @if !entries.is_empty() {
                    table.audit {
                        thead { tr { th { "#" } th { "Time" } th { "Action" } th { "Actor" } th { "Details" } } }
                        tbody {
                            @for entry in entries {
                                tr {
                                    td { (entry.seq) }
                                    td { (time(entry.time_ms)) }
                                    td.action { (Shown(&entry.action)) }
                                    td { (Shown(&entry.actor)) }
                                    td.detail { code { (Shown(&entry.detail.to_string())) } }
                                }
                            }
                        }
                    }
                }
                nav.paging aria-label="pages" {
                    @if filters.page > 0 { a rel="prev" href=(filters.link(filters.page - 1)) { "← newer" } " " }
                    @if (filters.page + 1) * filters.size < *total { a rel="next" href=(filters.link(filters.page + 1)) { "older →" } }
                }
            }
        }
    }
}
