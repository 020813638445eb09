//! The search page: one box for any spelling, the federated options, and the
//! answer (what was looked up, local correlation, each partner's status, the
//! records grouped by who answered). The form is a GET, so a search is a URL an
//! analyst can bookmark or paste into a case file.
//!
//! Rendering only: it must never call the node.

use maud::{html, Markup, PreEscaped};

use super::record::{card, card_with_actions};
use super::{error_box, page, short, Nav, Shown};
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

/// The search form, filled with what was asked.
fn search_form(query: &Query) -> Markup {
    html! {
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
    }
}

fn title(query: &Query) -> String {
    match query.q.is_empty() {
        true => "Search".to_string(),
        false => format!("Search {}", query.q),
    }
}

/// The whole page at once: an empty form, a refusal, or a local search's answer.
pub fn search_page(
    who: &str,
    query: &Query,
    answer: Option<Result<proto::SearchResponse, String>>,
    csrf: &str,
) -> Markup {
    let body = html! {
        (search_form(query))
        @match &answer {
            None => {}
            Some(Err(message)) => (error_box(message)),
            Some(Ok(response)) => {
                (PreEscaped(RESULTS_OPEN))
                (local_part(response, csrf))
                @if query.federated || !response.partners.is_empty() {
                    (partners_heading())
                    @if response.partners.is_empty() { (no_partner()) }
                    @for partner in &response.partners { (partner_section(partner, response)) }
                }
                (PreEscaped(RESULTS_CLOSE))
            }
        }
    };
    page(&title(query), Nav::Search, who, body)
}

/// Where the streamed page's parts go, between the shell's two halves.
const STREAM_MARK: &str = "<!--liaison:stream-->";
pub const RESULTS_OPEN: &str = "<section id=\"results\" aria-label=\"results\">";
pub const RESULTS_CLOSE: &str = "</section>";

/// The page around a streamed answer, as its two halves: everything up to
/// the results (head, navigation, the filled form), and the page end.
pub fn streamed_shell(who: &str, query: &Query) -> (String, String) {
    let body = html! { (search_form(query)) (PreEscaped(STREAM_MARK)) };
    let whole = page(&title(query), Nav::Search, who, body).into_string();
    match whole.split_once(STREAM_MARK) {
        Some((head, tail)) => (head.to_string(), tail.to_string()),
        None => (whole, String::new()),
    }
}

/// What was looked up, the local correlation and this node's own records.
pub fn local_part(response: &proto::SearchResponse, csrf: &str) -> Markup {
    let local: Vec<&proto::RecordView> = response
        .records
        .iter()
        .filter(|r| r.source == "local" || r.source.is_empty())
        .collect();
    html! {
        p.looked-up { "Looked up: " (Shown(&response.normalized_queries.join(", "))) }
        @for c in &response.correlations {
            p.meta { (Shown(&c.query)) ": held or sighted by " (c.agencies) " agency(ies) here" }
        }
        section #local aria-label="this node" {
            h2 { "This node" }
            @if local.is_empty() { p.none { "No records here." } }
            @else {
                @for view in &local {
                    @match &view.indicator {
                        Some(indicator) => div.pick { (super::records::select_box(&view.record_id, &indicator.value)) (card_with_actions(view, csrf)) },
                        None => (card_with_actions(view, csrf)),
                    }
                }
                // The ticked boxes belong to this form by its id: the cards
                // carry their own action forms, and forms cannot nest.
                form.select #compose method="get" action="/bulletins/new" aria-label="records for a bulletin" {
                    button type="submit" { "Compose a bulletin from the ticked records" }
                }
            }
        }
    }
}

pub fn partners_heading() -> Markup {
    html! { h2 { "Partners" } }
}

/// While the partners are asked: shown at once, above their sections.
pub fn partners_waiting(deadline_ms: u32) -> Markup {
    html! {
        p.meta.waiting role="status" {
            "Each partner's answer appears below as it arrives; a partner silent at the node's deadline ("
            (deadline_ms) " ms) is shown as timed out."
        }
    }
}

pub fn no_partner() -> Markup {
    html! { p.none { "No partner was asked (none enrolled for search)." } }
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

pub fn partner_section(partner: &proto::PartnerStatus, response: &proto::SearchResponse) -> Markup {
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
    fn the_streamed_shell_is_the_page_around_the_results() {
        let query = Query {
            q: "07700 900123".into(),
            federated: true,
            ..Default::default()
        };
        let (head, tail) = streamed_shell("me", &query);
        assert!(head.starts_with("<!DOCTYPE html>"), "{head}");
        assert!(head.trim_end().ends_with("</form>"), "{head}");
        assert_eq!(tail, "</main></body></html>");
        assert!(!head.contains("liaison:stream") && !tail.contains("liaison:stream"));
    }

    #[test]
    fn the_query_is_echoed_escaped() {
        let query = Query {
            q: "<script>x</script>\u{202E}".into(),
            ..Default::default()
        };
        let html = search_page("me", &query, None, "c").into_string();
        assert!(!html.contains("<script>x"), "{html}");
        assert!(!html.contains('\u{202E}'), "{html}");
        assert!(html.contains("⟨U+202E⟩"), "{html}");
    }
}
