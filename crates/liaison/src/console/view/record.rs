//! One record as the console shows it: a card in search results and the
//! record page. The signature is checked here, on the envelope the node sent,
//! with the same rule every node uses (`Envelope::verify`), so the page says
//! what this workstation verified, not only what the node claims.
//!
//! Rendering only: it must never call the node.

use maud::{html, Markup};

use super::{error_box, evaluation, kind_name, page, short, time, tlp_chip, Nav, Shown};
use liaison_core::proto;
use liaison_core::record::Envelope;

/// What checking the record's signature here found.
pub enum Signature {
    Verified,
    Failed(String),
}

/// Verifies the envelope, and that it is the record the view names (its id and
/// origin), without trusting anything else in the view.
pub fn check_signature(view: &proto::RecordView) -> Signature {
    let Some(wire) = view.envelope.clone() else {
        return Signature::Failed("the node sent no signed envelope".into());
    };
    let verified = Envelope::from_wire(wire).and_then(Envelope::verify);
    match verified {
        Err(e) => Signature::Failed(e.to_string()),
        Ok(record) if record.id.to_hex() != view.record_id => {
            Signature::Failed("the signed record has another id than the one shown".into())
        }
        Ok(record) if record.origin().to_hex() != view.origin => {
            Signature::Failed("signed by another agency than the origin shown".into())
        }
        Ok(_) => Signature::Verified,
    }
}

fn signature_badge(view: &proto::RecordView) -> Markup {
    match check_signature(view) {
        Signature::Verified => html! {
            span.sig-ok title="Ed25519 signature of the origin, checked by this console" { "✓ signature verified" }
        },
        Signature::Failed(why) => html! {
            span.sig-bad role="alert" { "✗ signature NOT verified: " (Shown(&why)) }
        },
    }
}

/// "Name (via 0123…)": who made the record and, when it came through another
/// node, the one it came from.
fn origin_line(view: &proto::RecordView) -> Markup {
    let name = match view.origin_name.is_empty() {
        true => short(&view.origin).to_string(),
        false => view.origin_name.clone(),
    };
    html! {
        span.origin title=(view.origin) { (Shown(&name)) }
        @if !view.received_from.is_empty() && view.received_from != view.origin {
            " " span.via title=(view.received_from) { "(via " (short(&view.received_from)) ")" }
        }
        @if view.source != "local" && !view.source.is_empty() {
            " " span.via title=(view.source) { "answered by partner " (short(&view.source)) ", not stored here" }
        }
    }
}

/// A record in a list: kind and value (a link to its page), markings, origin,
/// signature, dates and sightings.
pub fn card(view: &proto::RecordView) -> Markup {
    card_with(view, html! {})
}

/// A card with the small action buttons (sight, revoke, STIX) under it.
pub fn card_with_actions(view: &proto::RecordView, csrf: &str) -> Markup {
    card_with(view, super::actions::bar(view, csrf, true))
}

fn card_with(view: &proto::RecordView, actions: Markup) -> Markup {
    let Some(indicator) = &view.indicator else {
        return reference_card(view);
    };
    html! {
        article.record {
            h3 {
                span.kind { (kind_name(indicator.kind)) }
                " "
                a.value href={ "/record/" (view.record_id) } { (Shown(&indicator.value)) }
                " " (tlp_chip(indicator.tlp))
                @if view.revoked { " " span.revoked { "revoked" } }
            }
            p.meta {
                @for label in &indicator.labels { span.label { (Shown(label)) } " " }
                "evaluation " (evaluation(indicator))
                @for code in handling(indicator) { " " span.handling { (code) } }
            }
            p.meta {
                "origin " (origin_line(view)) " · " (signature_badge(view))
            }
            p.meta {
                "created " (time(view.created_unix_ms)) " · valid until " (time(indicator.valid_until_unix_ms))
                " · sightings " (view.sightings)
                @if view.sightings > 0 { " (latest " (time(view.last_sighting_unix_ms)) ")" }
            }
            @if !view.bulletins.is_empty() {
                p.meta { "in bulletin "
                    @for (n, b) in view.bulletins.iter().enumerate() {
                        @if n > 0 { ", " }
                        a href={ "/bulletin/" (b.record_id) } { (Shown(&b.title)) }
                    }
                }
            }
            @if view.false_positives > 0 {
                p.warning { "marked false positive by " (Shown(&view.false_positive_by.join(", "))) }
            }
            @if !view.warninglists.is_empty() {
                p.warning { "on warninglist " (Shown(&view.warninglists.join(", "))) " (known harmless or shared)" }
            }
            (actions)
        }
    }
}

fn handling(indicator: &proto::Indicator) -> Vec<String> {
    indicator
        .handling
        .iter()
        .filter_map(|&c| liaison_core::record::handling_from_wire(c).ok())
        .map(|c| c.to_string())
        .collect()
}

/// A revocation or sighting: what it refers to, and its reason or note.
fn reference_card(view: &proto::RecordView) -> Markup {
    html! {
        article.record {
            h3 {
                span.kind { (Shown(&view.body)) }
                " of " a href={ "/record/" (view.refers_to) } { (short(&view.refers_to)) }
            }
            p.meta { "origin " (origin_line(view)) " · " (signature_badge(view)) " · created " (time(view.created_unix_ms)) }
            @if !view.note.is_empty() { p { (Shown(&view.note)) } }
        }
    }
}

/// What the record page says above the card: a fixed notice after an action,
/// or the node's refusal of one.
#[derive(Default)]
pub struct Outcome<'a> {
    pub notice: Option<&'static str>,
    pub refusal: Option<&'a str>,
}

/// The record page: the card, the actions and every detail the node gave.
pub fn record_page(
    who: &str,
    view: &proto::RecordView,
    outcome: Outcome<'_>,
    csrf: &str,
) -> Markup {
    let indicator = view.indicator.clone().unwrap_or_default();
    let body = html! {
        @if let Some(notice) = outcome.notice { p.notice role="status" { (notice) } }
        @if let Some(refusal) = outcome.refusal { (error_box(refusal)) }
        (card(view))
        (super::actions::bar(view, csrf, false))
        dl.details {
            dt { "record id" } dd { code { (view.record_id) } }
            dt { "origin" } dd { code { (view.origin) } ", sequence " (view.sequence) }
            @if view.indicator.is_some() {
                @if !indicator.description.is_empty() {
                    dt { "description" } dd.text { (Shown(&indicator.description)) }
                }
                @if !indicator.case_reference.is_empty() {
                    dt { "case" } dd { (Shown(&indicator.case_reference)) }
                }
                @if !indicator.source.is_empty() {
                    dt { "source" } dd { (Shown(&indicator.source)) " (first reported it)" }
                }
                @if indicator.first_seen_unix_ms > 0 {
                    dt { "first seen" } dd { (time(indicator.first_seen_unix_ms)) }
                }
                @if !indicator.handling_note.is_empty() {
                    dt { "handling note" } dd { (Shown(&indicator.handling_note)) }
                }
                @if indicator.outside_known_ranges {
                    dt { "note" } dd { "number lies outside the known allocated ranges (accepted, flagged)" }
                }
            }
            @if view.expired_sightings > 0 {
                dt { "no longer in use" } dd { (view.expired_sightings) " sighting(s) say so" }
            }
            @if !view.reported_by_platform.is_empty() {
                dt { "reported by platform" } dd {
                    (Shown(&view.reported_by_platform))
                    @if view.held_until_endorsed { " (held from relay until an analyst here sights it)" }
                }
            }
            @for bulletin in &view.bulletins {
                dt { "bulletin" } dd { a href={ "/bulletin/" (bulletin.record_id) } { (Shown(&bulletin.title)) } " " code { (short(&bulletin.record_id)) } }
            }
        }
    };
    page(
        &format!("Record {}", short(&view.record_id)),
        Nav::Other,
        who,
        body,
    )
}

/// The record page when the node refused or does not hold the record.
pub fn record_error(who: &str, id: &str, message: &str) -> Markup {
    page(
        &format!("Record {}", short(id)),
        Nav::Other,
        who,
        error_box(message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use liaison_core::indicator::Kind;
    use liaison_core::record::{sign_payload, Body, Indicator, NodeId, Payload, Tlp};

    fn signed_view(seed: u8) -> proto::RecordView {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let origin = NodeId(key.verifying_key().to_bytes());
        let payload = Payload {
            origin,
            sequence: 1,
            created_ms: 1_700_000_000_000,
            body: Body::Indicator(Indicator {
                kind: Kind::Phone,
                value: "+447700900123".into(),
                labels: vec![],
                tlp: Tlp::Green,
                handling: vec![],
                handling_note: String::new(),
                evaluation: "B2".parse().expect("evaluation"),
                valid_until_ms: 2_000_000_000_000,
                description: String::new(),
                case_reference: String::new(),
                recipients: vec![],
                supersedes: None,
                outside_known_ranges: false,
                source: String::new(),
                first_seen_ms: None,
            }),
        };
        let record = sign_payload(&key, &payload).expect("signed");
        proto::RecordView {
            record_id: record.id.to_hex(),
            envelope: Some(record.envelope.to_wire()),
            origin: origin.to_hex(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_signature_verifies_here() {
        assert!(matches!(
            check_signature(&signed_view(1)),
            Signature::Verified
        ));
    }

    #[test]
    fn a_tampered_or_mislabelled_record_is_flagged() {
        let mut tampered = signed_view(1);
        if let Some(envelope) = tampered.envelope.as_mut() {
            let last = envelope.payload.len() - 1;
            envelope.payload[last] ^= 1;
        }
        assert!(matches!(check_signature(&tampered), Signature::Failed(_)));

        let mut other_origin = signed_view(1);
        other_origin.origin = signed_view(2).origin;
        let Signature::Failed(why) = check_signature(&other_origin) else {
            panic!("another origin's name on the record was accepted");
        };
        assert!(why.contains("another agency"), "{why}");

        let mut no_envelope = signed_view(1);
        no_envelope.envelope = None;
        assert!(matches!(
            check_signature(&no_envelope),
            Signature::Failed(_)
        ));
        let html = card(&no_envelope).into_string();
        assert!(html.contains("signature NOT verified"), "{html}");
    }
}
