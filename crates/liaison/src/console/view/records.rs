//! The Records page: what the node holds, filtered as `liaison list` filters
//! (kind, label, case, origin, since), one page at a time with next / previous
//! links, each row a link to the record's page, and "Export this set" links.
//! The filters live in the URL, so a list is a link an analyst can keep.
//!
//! Rendering only: it must never call the node, and it never holds more than
//! the one page the node returned.

use maud::{html, Markup};

use super::{error_box, kind_name, page, short, time, tlp_chip, Nav, Shown};
use liaison_core::proto;

/// The filters and position, as read from the URL (text as typed; the handler
/// parses it and the node checks it).
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub kind: String,
    pub label: String,
    pub case: String,
    pub origin: String,
    pub since: String,
    /// Records per page.
    pub size: u32,
    /// The node's token for this page ("" for the first).
    pub page: String,
    /// The tokens of the pages before this one, oldest first ("-" is the first
    /// page), so "previous" needs no server-side state.
    pub trail: Vec<String>,
}

impl Filters {
    /// The filters as a query string (without position), percent-encoded.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("kind", &self.kind),
            ("label", &self.label),
            ("case", &self.case),
            ("origin", &self.origin),
            ("since", &self.since),
        ] {
            if !value.is_empty() {
                parts.push(format!("{name}={}", encode(value)));
            }
        }
        parts.push(format!("size={}", self.size));
        parts.join("&")
    }

    fn next_link(&self, token: &str) -> String {
        let mut link = format!("/records?{}&page={}", self.query(), encode(token));
        for t in self.trail.iter().chain(std::iter::once(&dash(&self.page))) {
            link.push_str(&format!("&trail={}", encode(t)));
        }
        link
    }

    fn previous_link(&self) -> Option<String> {
        let (last, before) = self.trail.split_last()?;
        let mut link = format!("/records?{}", self.query());
        if last != "-" {
            link.push_str(&format!("&page={}", encode(last)));
        }
        for t in before {
            link.push_str(&format!("&trail={}", encode(t)));
        }
        Some(link)
    }
}

fn dash(token: &str) -> String {
    match token.is_empty() {
        true => "-".to_string(),
        false => token.to_string(),
    }
}

pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub fn records_page(
    who: &str,
    filters: &Filters,
    answer: Result<proto::ListResponse, String>,
) -> Markup {
    let body = html! {
        h1 { "Records" }
        form.filters method="get" action="/records" aria-label="filters" {
            label for="kind" { "Kind" }
            select #kind name="kind" {
                option value="" selected[filters.kind.is_empty()] { "any kind" }
                @for kind in liaison_core::indicator::Kind::ALL {
                    option value=(kind.as_str()) selected[filters.kind == kind.as_str()] { (kind.as_str()) }
                }
            }
            label for="label" { "Label" }
            select #label name="label" {
                option value="" selected[filters.label.is_empty()] { "any label" }
                @for label in liaison_core::record::Label::ALL {
                    option value=(label.as_str()) selected[filters.label == label.as_str()] { (label.as_str()) }
                }
            }
            label for="case" { "Case" }
            input #case type="text" name="case" value=(super::visible(&filters.case));
            label for="origin" { "Origin" }
            input #origin type="text" name="origin" value=(super::visible(&filters.origin))
                placeholder="node id or 8+ hex digits";
            label for="since" { "Since" }
            input #since type="text" name="since" value=(super::visible(&filters.since))
                placeholder="2026-11-20, 24h, 7days";
            input type="hidden" name="size" value=(filters.size);
            button type="submit" { "List" }
        }
        p.export {
            "Export this set: "
            a href={ "/records/export?format=stix&" (filters.query()) } download { "STIX 2.1" }
            " · "
            a href={ "/records/export?format=csv&" (filters.query()) } download { "CSV" }
        }
        @match &answer {
            Err(message) => (error_box(message)),
            Ok(list) => (rows(filters, list)),
        }
    };
    page("Records", Nav::Records, who, body)
}

fn rows(filters: &Filters, list: &proto::ListResponse) -> Markup {
    html! {
        @if list.records.is_empty() { p.none { "No records match." } }
        @else {
            form.select #compose method="get" action="/bulletins/new" aria-label="records for a bulletin" {
                table.records {
                    thead { tr { th { span.sr { "Select" } } th { "Kind" } th { "Value" } th { "TLP" } th { "Labels" } th { "Case" } th { "Origin" } th { "Created" } } }
                    tbody {
                        @for view in &list.records { (row(view)) }
                    }
                }
                button type="submit" { "Compose a bulletin from the ticked records" }
            }
        }
        nav.paging aria-label="pages" {
            @if let Some(link) = filters.previous_link() { a rel="prev" href=(link) { "← previous" } " " }
            @if !list.next_page_token.is_empty() { a rel="next" href=(filters.next_link(&list.next_page_token)) { "next →" } }
        }
    }
}

fn row(view: &proto::RecordView) -> Markup {
    let origin = match view.origin_name.is_empty() {
        true => short(&view.origin).to_string(),
        false => view.origin_name.clone(),
    };
    match &view.indicator {
        Some(indicator) => html! {
            tr {
                td { (select_box(&view.record_id, &indicator.value)) }
                td { (kind_name(indicator.kind)) }
                td { a href={ "/record/" (view.record_id) } { (Shown(&indicator.value)) } }
                td { (tlp_chip(indicator.tlp)) }
                td { (Shown(&indicator.labels.join(", "))) }
                td { (Shown(&indicator.case_reference)) }
                td title=(view.origin) { (Shown(&origin)) }
                td { (time(view.created_unix_ms)) }
            }
        },
        None => html! {
            tr {
                td {}
                td { "record" }
                td { a href={ "/record/" (view.record_id) } { (short(&view.record_id)) } }
                td {} td {} td {}
                td title=(view.origin) { (Shown(&origin)) }
                td { (time(view.created_unix_ms)) }
            }
        },
    }
}

/// A checkbox that puts the record in the bulletin compose form's members.
pub fn select_box(record_id: &str, value: &str) -> Markup {
    html! {
        input type="checkbox" name="members" value=(record_id) form="compose"
            aria-label={ "select " (super::visible(value)) " for a bulletin" };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_then_previous_returns_to_the_same_page() {
        let first = Filters {
            kind: "phone".into(),
            size: 5,
            ..Default::default()
        };
        let next = first.next_link("tok 1");
        assert!(
            next.contains("page=tok%201") && next.contains("trail=%2D"),
            "{next}"
        );
        let second = Filters {
            page: "tok 1".into(),
            trail: vec!["-".into()],
            ..first.clone()
        };
        assert_eq!(
            second.previous_link().as_deref(),
            Some("/records?kind=phone&size=5")
        );
        assert!(first.previous_link().is_none());
    }
}
