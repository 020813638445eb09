//! The Partners page (admin certificate): each enrolled partner as
//! `liaison partner list` shows it — name, the node's own words for the
//! connection state (with the last error), terms, the release and features it
//! stated, records received / rejected / pending, lag, refusals by reason since
//! the node started, the last rejection, TLS rotation in progress — and the
//! agencies known through relays. An analyst certificate gets the node's refusal, shown.
//!
//! Rendering only: it must never call the node.

use maud::{html, Markup};

use super::{error_box, page, short, Nav, Shown};
use crate::cli::output::{partner_version, rejected_by_reason};
use liaison_core::proto;

pub fn partners_page(who: &str, answer: Result<proto::ListPartnersResponse, String>) -> Markup {
    let body = html! {
        h1 { "Partners" }
        @match &answer {
            Err(message) => (error_box(message)),
            Ok(list) => {
                @if list.partners.is_empty() { p.none { "No partners enrolled." } }
                @for partner in &list.partners { (partner_section(partner)) }
                @if !list.known_origins.is_empty() {
                    h2 { "Known through relays" }
                    ul.known {
                        @for known in &list.known_origins {
                            li {
                                span title=(known.node_id) { (Shown(&known.name)) } " ("
                                (short(&known.node_id)) ") known via " (short(&known.known_via))
                                @if known.blocked { " " strong.blocked { "BLOCKED" } }
                            }
                        }
                    }
                }
            }
        }
    };
    page("Partners", Nav::Partners, who, body)
}

fn partner_section(p: &proto::PartnerInfo) -> Markup {
    let state = match p.connection.split_once(':') {
        Some((head, _)) => head.trim().to_string(),
        None => p.connection.trim().to_string(),
    };
    html! {
        section.partner {
            h2 {
                span title=(p.node_id) { (Shown(&p.name)) } " "
                span class={ "status status-" (state.replace(' ', "-")) } { (Shown(&p.connection)) }
            }
            dl.partner-facts {
                dt { "Node id" } dd.mono { (p.node_id) }
                dt { "Fingerprint" } dd.mono { (Shown(&p.fingerprint)) }
                dt { "Terms" } dd { "up to TLP:" (Shown(&p.max_tlp.to_uppercase())) @if p.relay { ", relay" } }
                dt { "Kind" } dd { (Shown(&p.kind)) ": " (Shown(&p.rules)) }
                @if !p.max_evaluation.is_empty() { dt { "Evaluation" } dd { "capped at " (Shown(&p.max_evaluation)) } }
                dt { "Release and features" } dd { (Shown(&partner_version(p))) }
                @if !p.compatibility.is_empty() { dt { "Compatibility" } dd { (Shown(&p.compatibility)) } }
                dt { "Endpoints" } dd { (Shown(&p.endpoints.join(", "))) }
                dt { "Records" } dd {
                    (p.records_received) " received · " (p.records_rejected) " rejected · "
                    (p.records_pending) " pending · cursor " (p.cursor)
                }
                dt { "Lag" } dd.lag { (p.lag) " behind the partner's announced head" }
                @if !p.rejected_by_reason.is_empty() {
                    dt { "Rejected by reason" }
                    dd.rejected-by-reason { (Shown(&rejected_by_reason(p))) " (since the node started)" }
                }
                @if !p.last_rejection.is_empty() { dt { "Last rejection" } dd { (Shown(&p.last_rejection)) } }
                @if !p.rotation.is_empty() { dt { "Rotation" } dd.rotation { (Shown(&p.rotation)) } }
            }
        }
    }
}
