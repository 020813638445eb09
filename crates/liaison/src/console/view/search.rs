//! The search page: one box for any spelling, the federated options, and the
//! answer (what was looked up, local correlation, each partner's status, the
//! records grouped by who answered). The form is a GET, so a search is a URL an
//! analyst can bookmark or paste into a case file.
//!
//! Rendering only: it must never call the node.

use maud::{html, Markup};

use super::{error_box, page, record::card, short, Nav, Shown};
use liaison_core::proto;

/// What the analyst asked, as read from the URL.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub q: String,
    pub kind: String,
    pub federated: bool,
    pub justification: String,
    pub case: String,
}

pub fn search_page(
    who: &str,
    query: &Query,
    answer: Option<Result<proto::SearchResponse, String>>,
) -> Markup {
    let title = match query.q.is_empty() {
        true => "Search".to_string(),
        false => format!("Search {}", query.q),
    };
    let body = html! {
        form.search method="get" action="/search" role="search" {
            label for="q" { "Value" }
            input #q type="search" name="q" value=(super::visible(&query.q)) autofocus
                placeholder="phone, e-mail, domain, URL, IP, IBAN, wallet… in any spelling"
                aria-describedby="q-hint";
            select name="kind" aria-label="kind" {
                option value="" selected[query.kind.is_empty()] { "any kind" }
                @for kind in liaison_core::indicator::Kind::ALL {
                    option value=(kind.as_str()) selected[query.kind == kind.as_str()] { (kind.as_str()) }
                }
            }
            button type="submit" { "Search" }
            p #q-hint .hint { "Press / to come back to this box. National phone numbers use the node's default country." }
            fieldset.federated {
                legend { "Partners" }
                label { input type="checkbox" name="federated" value="1" checked[query.federated]; " also ask every partner (they log the justification and case)" }
                label for="justification" { "Justification" }
                input #justification type="text" name="justification" value=(super::visible(&query.justification));
                label for="case" { "Case" }
                input #case type="text" name="case" value=(super::visible(&query.case));
            }
        }
        @match &answer {
            None => {}
            Some(Err(message)) => (error_box(message)),
            Some(Ok(response)) => (results(query, response)),
        }
    };
    page(&title, Nav::Search, who, body)
}

fn results(query: &Query, response: &proto::SearchResponse) -> Markup {
    let local: Vec<&proto::RecordView> = response
        .records
        .iter()
        .filter(|r| r.source == "local" || r.source.is_empty())
        .collect();
    html! {
        section #results aria-label="results" {
            p.looked-up { "Looked up: " (Shown(&response.normalized_queries.join(", "))) }
            @for c in &response.correlations {
                p.meta { (Shown(&c.query)) ": held or sighted by " (c.agencies) " agency(ies) here" }
            }
            h2 { "This node" }
            @if local.is_empty() { p.none { "No records here." } }
            @else {
                form.select method="get" action="/bulletins/new" aria-label="records for a bulletin" {
                    @for view in &local {
                        @match &view.indicator {
                            Some(indicator) => div.pick { (super::records::select_box(&view.record_id, &indicator.value)) (card(view)) },
                            None => (card(view)),
                        }
                    }
                    button type="submit" { "Compose a bulletin from the ticked records" }
                }
            }
            @if query.federated || !response.partners.is_empty() {
                h2 { "Partners" }
                @if response.partners.is_empty() { p.none { "No partner was asked (none enrolled for search)." } }
                @for partner in &response.partners { (partner_section(partner, response)) }
            }
        }
    }
}

/// The status words the console shows for a partner's answer.
pub fn partner_status(status: &proto::PartnerStatus) -> &'static str {
    match status.status.as_str() {
        "answered" if status.records == 0 => "no match",
        "answered" => "answered",
        "timed out" => "timed out",
        "refused" => "refused",
        "unreachable" => "unreachable",
        _ => "unknown",
    }
}

fn partner_section(partner: &proto::PartnerStatus, response: &proto::SearchResponse) -> Markup {
    let name = match partner.name.is_empty() {
        true => short(&partner.node_id).to_string(),
        false => partner.name.clone(),
    };
    let status = partner_status(partner);
    let shown: Vec<&proto::RecordView> = response
        .records
        .iter()
        .filter(|r| r.source == partner.node_id)
        .collect();
    html! {
        section.partner {
            h3 {
                (Shown(&name)) " "
                span class={ "status status-" (status.replace(' ', "-")) } { (status) }
                " " span.meta { (partner.records) " record(s) · " (partner.latency_ms) " ms" }
            }
            @if !partner.detail.is_empty() { p.meta { (Shown(&partner.detail)) } }
            @if partner.records > 0 && shown.is_empty() {
                p.meta { "The same records as this node's, above." }
            }
            @for view in shown { (card(view)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_without_records_reads_no_match() {
        let mut status = proto::PartnerStatus {
            status: "answered".into(),
            ..Default::default()
        };
        assert_eq!(partner_status(&status), "no match");
        status.records = 2;
        assert_eq!(partner_status(&status), "answered");
        status.status = "timed out".into();
        assert_eq!(partner_status(&status), "timed out");
    }

    #[test]
    fn the_query_is_echoed_escaped() {
        let query = Query {
            q: "<script>x</script>\u{202E}".into(),
            ..Default::default()
        };
        let html = search_page("me", &query, None).into_string();
        assert!(!html.contains("<script>x"), "{html}");
        assert!(!html.contains('\u{202E}'), "{html}");
        assert!(html.contains("⟨U+202E⟩"), "{html}");
    }
}
