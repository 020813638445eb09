//! The private lookup page: one box for a value in any spelling and, once
//! asked, one row per partner with its answer (hit / no hit, or why there was
//! none, in the node's words) and the evaluations it has left today. The form
//! is a GET, so a lookup is a URL, as `liaison lookup VALUE` is a command.
//!
//! Rendering only: it must never call the node, and never offer a clear-text
//! search in place of a lookup that got no answer.

use maud::{html, Markup};

use super::{error_box, page, short, Nav, Shown};
use liaison_core::proto;

/// What the analyst asked, as read from the URL.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub q: String,
    pub kind: String,
    pub country: String,
}

/// A partner's answer in the console's words: "hit" and "no hit" for an
/// answer, else the node's own status ("timed out", "refused", "unreachable",
/// "quota exhausted", …).
pub fn answer_words(partner: &proto::LookupPartner) -> String {
    match (partner.status.as_str(), partner.hit) {
        ("answered", true) => "hit".to_string(),
        ("answered", false) => "no hit".to_string(),
        ("", _) => "no answer".to_string(),
        (status, _) => status.to_string(),
    }
}

/// The quota left at that partner: the node carries it with an answer only
/// (its 0 without an answer is no count).
fn quota(partner: &proto::LookupPartner) -> Markup {
    match partner.status.as_str() {
        "answered" => html! { (partner.quota_left) },
        _ => html! { span.meta title="the partner gave no count without an answer" { "—" } },
    }
}

pub fn lookup_page(
    who: &str,
    query: &Query,
    answer: Option<Result<proto::LookupResponse, String>>,
) -> Markup {
    let title = match query.q.is_empty() {
        true => "Private lookup".to_string(),
        false => format!("Lookup {}", query.q),
    };
    let body = html! {
        h1 { "Private lookup" }
        form.search method="get" action="/lookup" role="search" {
            label for="q" { "Value" }
            input #q type="search" name="q" value=(super::visible(&query.q)) autofocus
                placeholder="phone, e-mail, domain, URL, IP, IBAN, wallet… in any spelling"
                aria-describedby="q-hint";
            select name="kind" aria-label="kind" {
                option value="" selected[query.kind.is_empty()] { "every kind it could be" }
                @for kind in liaison_core::indicator::Kind::ALL {
                    option value=(kind.as_str()) selected[query.kind == kind.as_str()] { (kind.as_str()) }
                }
            }
            button type="submit" { "Look up" }
            p #q-hint .hint {
                "The value is blinded on this node and never leaves it in the clear: each partner answers only "
                "hit or no hit, and counts one evaluation a reading against its daily quota. "
                "National phone numbers use the country below, or the node's default."
            }
            fieldset.federated {
                legend { "Phone numbers" }
                label for="country" { "Country" }
                input #country type="text" name="country" maxlength="2" value=(super::visible(&query.country))
                    placeholder="ISO code, e.g. GB";
            }
        }
        @match &answer {
            None => {}
            Some(Err(message)) => (error_box(message)),
            Some(Ok(response)) => (rows(response)),
        }
    };
    page(&title, Nav::Lookup, who, body)
}

fn rows(response: &proto::LookupResponse) -> Markup {
    html! {
        section #results aria-label="answers" {
            @if response.partners.is_empty() {
                p.none { "No partners enrolled: nobody to ask." }
            } @else {
                table.records.lookup {
                    thead { tr { th { "Partner" } th { "Answer" } th { "Quota left today" } th { "The node's words" } } }
                    tbody {
                        @for p in &response.partners {
                            @let words = answer_words(p);
                            tr {
                                td title=(p.node_id) {
                                    @if p.name.is_empty() { code { (short(&p.node_id)) } }
                                    @else { (Shown(&p.name)) " " code.meta { (short(&p.node_id)) } }
                                }
                                td { span class={ "status status-" (words.replace(' ', "-")) } { (Shown(&words)) } }
                                td { (quota(p)) }
                                td { (Shown(&p.detail)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner(status: &str, hit: bool) -> proto::LookupPartner {
        proto::LookupPartner {
            node_id: "ab".repeat(32),
            name: "Agency B <b>\u{202E}".into(),
            hit,
            quota_left: 7,
            status: status.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn each_answer_reads_as_the_node_put_it() {
        assert_eq!(answer_words(&partner("answered", true)), "hit");
        assert_eq!(answer_words(&partner("answered", false)), "no hit");
        assert_eq!(answer_words(&partner("timed out", false)), "timed out");
        assert_eq!(
            answer_words(&partner("quota exhausted", false)),
            "quota exhausted"
        );
    }

    #[test]
    fn quota_only_with_an_answer_and_names_escaped() {
        let response = proto::LookupResponse {
            partners: vec![partner("answered", true), partner("unreachable", false)],
        };
        let html = rows(&response).into_string();
        assert!(html.contains("<td>7</td>"), "{html}");
        assert_eq!(html.matches("<td>7</td>").count(), 1, "{html}");
        assert!(html.contains("Agency B &lt;b&gt;⟨U+202E⟩"), "{html}");
    }
}
