//! The record actions as forms: sight (seen / false positive / expired), revoke
//! (a second page asks for the reason and the confirmation, no script
//! `confirm`), and the STIX download with its copy button. Every form is a POST
//! carrying the session's CSRF token.
//!
//! Rendering only: it must never call the node, nor decide who may revoke what.
//! The revoke button is offered on the records this node made (the view has no
//! `received_from`), as a convenience; the node takes the decision and the page
//! shows its refusal for any other.

use maud::{html, Markup};

use super::{page, record::card, short, Nav};
use liaison_core::proto;

/// Whether the record is held here (not only a partner's answer to a search):
/// only then can it be sighted, revoked or exported through this node.
fn held_here(view: &proto::RecordView) -> bool {
    view.indicator.is_some() && (view.source == "local" || view.source.is_empty())
}

/// Made by this agency: the view names no node it came from.
fn own(view: &proto::RecordView) -> bool {
    view.received_from.is_empty()
}

/// The action bar: small buttons on a result card (`compact`), with a note
/// field on the record page.
pub fn bar(view: &proto::RecordView, csrf: &str, compact: bool) -> Markup {
    if !held_here(view) {
        return html! {};
    }
    let id = &view.record_id;
    html! {
        div.actions.compact[compact] {
            @if !view.revoked {
                form.sight method="post" action={ "/record/" (id) "/sight" } {
                    input type="hidden" name="csrf" value=(csrf);
                    @if !compact {
                        label for={ "note-" (short(id)) } { "Sighting note (optional)" }
                        input id={ "note-" (short(id)) } type="text" name="note";
                    }
                    button type="submit" name="type" value="seen" title="this agency saw it too" { "Seen" }
                    button type="submit" name="type" value="false-positive" title="this agency found it harmless" { "False positive" }
                    button type="submit" name="type" value="expired" title="no longer in use" { "Expired" }
                }
                @if own(view) {
                    form.revoke method="post" action={ "/record/" (id) "/revoke" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button.danger type="submit" { "Revoke…" }
                    }
                }
            }
            a.stix href={ "/record/" (id) "/stix" } download { "STIX" }
            button.copy-stix type="button" data-stix={ "/record/" (id) "/stix" } hidden { "Copy as STIX" }
        }
    }
}

/// The second step of a revocation: the reason, and one explicit button.
pub fn revoke_confirm(who: &str, csrf: &str, view: &proto::RecordView) -> Markup {
    let id = &view.record_id;
    let body = html! {
        h2 { "Revoke this record everywhere?" }
        p { "The revocation is signed and travels to every partner that may hold the record; it cannot be undone." }
        (card(view))
        form.revoke-confirm method="post" action={ "/record/" (id) "/revoke" } {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="confirm" value="1";
            label for="reason" { "Reason (signed, sent with the revocation)" }
            textarea #reason name="reason" rows="2" required {}
            button.danger type="submit" { "Revoke everywhere" }
            " "
            a href={ "/record/" (id) } { "Cancel" }
        }
    };
    page(&format!("Revoke {}", short(id)), Nav::Other, who, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(source: &str, received_from: &str) -> proto::RecordView {
        proto::RecordView {
            record_id: "ab".repeat(32),
            indicator: Some(proto::Indicator::default()),
            source: source.into(),
            received_from: received_from.into(),
            ..Default::default()
        }
    }

    #[test]
    fn revoke_is_offered_on_own_records_and_nothing_on_a_partners_answer() {
        let own = bar(&view("local", ""), "tok", true).into_string();
        assert!(
            own.contains("/revoke") && own.contains("value=\"tok\""),
            "{own}"
        );
        let synced = bar(&view("local", &"cd".repeat(32)), "tok", true).into_string();
        assert!(
            !synced.contains("/revoke") && synced.contains("/sight"),
            "{synced}"
        );
        assert!(bar(&view(&"cd".repeat(32), ""), "tok", true)
            .into_string()
            .is_empty());
    }
}
