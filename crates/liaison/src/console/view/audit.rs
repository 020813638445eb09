//! The Audit page, for oversight: "who was given what". The entries of the
//! node's audit log that `liaison audit list` would select (action, actor,
//! partner, since, until), newest first and one page at a time, each with its
//! action, actor, time (local, UTC on hover) and details; whether the log
//! verifies, in the words of `liaison audit verify`; a link to the filtered
//! set as CSV; and the disclosure report for one partner (`audit report`).
//!
//! Rendering only: it must never call the node or decide what is shown.

use maud::{html, Markup};

use super::records::encode;
use super::{error_box, page, time, Nav, Shown};
use liaison_core::proto;

/// The filters and page, as read from the URL.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub action: String,
    pub actor: String,
    pub partner: String,
    pub since: String,
    pub until: String,
    /// Entries per page.
    pub size: usize,
    /// Which page, 0 being the newest entries.
    pub page: usize,
    /// Only entries below this sequence number (0: none), so the pages of a
    /// growing log stay the same while the oversight officer pages through.
    pub before: u64,
}

impl Filters {
    /// The filters as URL query pairs (without size, page or bound).
    pub fn query(&self) -> String {
        let mut query = String::new();
        for (name, value) in [
            ("action", &self.action),
            ("actor", &self.actor),
            ("partner", &self.partner),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !value.is_empty() {
                query.push_str(&format!("&{name}={}", encode(value)));
            }
        }
        query
    }

    fn link(&self, page: usize, before: u64) -> String {
        format!(
            "/audit?size={}&page={page}&before={before}{}",
            self.size,
            self.query()
        )
    }
}

pub fn audit_page(
    who: &str,
    filters: &Filters,
    found: Result<proto::ListAuditResponse, String>,
) -> Markup {
    let body = html! {
        h1 { "Audit" }
        form.filters method="get" action="/audit" aria-label="filters" {
            label for="action" { "Action" }
            input #action type="text" name="action" value=(super::visible(&filters.action))
                placeholder="search.federated, disclose, rotate…";
            label for="actor" { "Actor" }
            input #actor type="text" name="actor" value=(super::visible(&filters.actor));
            label for="partner" { "Partner" }
            input #partner type="text" name="partner" value=(super::visible(&filters.partner))
                placeholder="node id or prefix";
            label for="since" { "Since" }
            input #since type="text" name="since" value=(super::visible(&filters.since))
                placeholder="2026-11-20, 24h, 7days";
            label for="until" { "Until" }
            input #until type="text" name="until" value=(super::visible(&filters.until));
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

fn contents(filters: &Filters, found: &proto::ListAuditResponse) -> Markup {
    let before = match filters.before {
        0 => found.head_seq + 1,
        bound => bound,
    };
    let total = found.total;
    html! {
        @if let Some(verdict) = &found.verdict {
            @if verdict.intact {
                div.chain-ok role="status" {
                    @for line in &verdict.lines { p { "✓ " (Shown(line)) } }
                }
            } @else {
                p.chain-bad role="alert" { "✗ the audit log does NOT verify: " (Shown(&verdict.error)) }
            }
        }
        p.meta {
            (total) " matching entr" @if total == 1 { "y" } @else { "ies" } ", newest first · "
            a.export href={ "/audit/export?before=" (before) (filters.query()) } download { "CSV of these entries" }
            @if !filters.partner.is_empty() {
                " · " a href={ "/audit/report?partner=" (encode(&filters.partner)) "&since=" (encode(&filters.since)) } { "disclosure report for this partner" }
            }
        }
        @if !found.entries.is_empty() {
            table.audit {
                thead { tr { th { "#" } th { "Time" } th { "Action" } th { "Actor" } th { "Details" } } }
                tbody {
                    @for entry in &found.entries {
                        tr {
                            td { (entry.seq) }
                            td { (time(entry.time_unix_ms)) }
                            td.action { (Shown(&entry.action)) }
                            td { (Shown(&entry.actor)) }
                            td.detail { code { (Shown(&entry.detail_json)) } }
                        }
                    }
                }
            }
        }
        nav.paging aria-label="pages" {
            @if filters.page > 0 { a rel="prev" href=(filters.link(filters.page - 1, before)) { "← newer" } " " }
            @if ((filters.page + 1) * filters.size) < total as usize { a rel="next" href=(filters.link(filters.page + 1, before)) { "older →" } }
        }
    }
}

/// `liaison audit report` for one partner, from the node's `AuditReport`.
pub fn report_page(
    who: &str,
    partner: &str,
    since: &str,
    found: Result<serde_json::Value, String>,
) -> Markup {
    let body = html! {
        h1 { "Disclosure report" }
        form.filters method="get" action="/audit/report" aria-label="partner" {
            label for="partner" { "Partner" }
            input #partner type="text" name="partner" value=(super::visible(partner)) placeholder="node id or prefix";
            label for="since" { "Since" }
            input #since type="text" name="since" value=(super::visible(since)) placeholder="30days";
            button type="submit" { "Report" }
        }
        @match &found {
            Err(message) => (error_box(message)),
            Ok(report) => (report_contents(report)),
        }
    };
    page("Disclosure report", Nav::Audit, who, body)
}

fn field(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn report_contents(report: &serde_json::Value) -> Markup {
    let sync = &report["sync"];
    let receipts = &report["receipts"];
    let answers = &report["search_answers"];
    html! {
        p { "Disclosed to partner " code { (Shown(&field(&report["partner"]))) } " since " (Shown(&field(&report["since"]))) }
        dl.partner-facts {
            dt { "By sync" } dd { (field(&sync["records"])) " records in " (field(&sync["batches"])) " batches" }
            @for name in ["tlp", "kind", "label"] {
                dt { "by " (name) } dd { (Shown(&crate::cli::audit::counts_line(&sync["counts"][name]))) }
            }
            dt { "Receipted" } dd { (field(&receipts["batches_receipted"])) " batches (" (field(&receipts["records_receipted"])) " records)" }
            dt { "Unreceipted" } dd { (field(&receipts["batches_unreceipted"])) " batches (" (field(&receipts["records_unreceipted"])) " records)" }
            dt { "Search answers" } dd { (field(&answers["answers"])) " (" (field(&answers["records"])) " records)" }
        }
        h2 { "Searches answered, with their justification" }
        table.audit {
            thead { tr { th { "Time" } th { "Analyst" } th { "Case" } th { "Justification" } th { "Records" } } }
            tbody {
                @for search in report["searches"].as_array().into_iter().flatten() {
                    tr {
                        td { (Shown(&field(&search["time"]))) }
                        td { (Shown(&field(&search["analyst"]))) }
                        td { (Shown(&field(&search["case_reference"]))) }
                        td { (Shown(&field(&search["justification"]))) }
                        td { (field(&search["results"])) }
                    }
                }
            }
        }
    }
}
