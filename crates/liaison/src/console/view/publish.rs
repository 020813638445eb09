//! The publish page: a form per indicator kind (tabs), TLP with recipients for
//! RED, labels, evaluation and handling, and the node's refusal shown next to
//! the field it names (`field: reason`), and the node's warninglist warning
//! with a second, explicit "publish anyway" submit. The forms carry the
//! session's CSRF token.
//!
//! Rendering only: it must never call the node, nor validate a value (the node
//! normalises and checks every value; the console shows what it says).

use maud::{html, Markup};

use super::{error_box, page, Nav, Shown};
use crate::console::form::Fields;
use liaison_core::indicator::Kind;
use liaison_core::record::{HandlingCode, Label, Tlp};

/// The form's field names, in the order the node's messages use them.
pub const FIELDS: [&str; 12] = [
    "kind",
    "value",
    "country",
    "tlp",
    "recipients",
    "labels",
    "evaluation",
    "handling",
    "handling_note",
    "valid_days",
    "description",
    "case",
];

/// The node's refusal, split into the form field it names (if any) and its sentence.
pub struct Refusal {
    pub field: Option<&'static str>,
    pub message: String,
}

impl Refusal {
    /// Reads `field: reason` from the node's message; the node's own words stay.
    pub fn from_message(message: String) -> Refusal {
        Refusal::for_form(message, field_for)
    }

    /// As [`Refusal::from_message`], for a form whose field names `map` knows.
    pub fn for_form(message: String, map: fn(&str) -> Option<&'static str>) -> Refusal {
        Refusal {
            field: super::named_field(&message).and_then(map),
            message,
        }
    }
}

/// The form field a name in the node's messages refers to.
fn field_for(name: &str) -> Option<&'static str> {
    match name {
        "case_reference" => Some("case"),
        "default_country" => Some("country"),
        "recipient" | "--recipient" => Some("recipients"),
        "label" => Some("labels"),
        "valid_until" => Some("valid_days"),
        other => FIELDS.iter().copied().find(|f| *f == other),
    }
}

/// Example input per kind, to show what the box expects.
fn example(kind: Kind) -> &'static str {
    match kind {
        Kind::Phone => "+44 7700 900123 or 07700 900123",
        Kind::Email => "someone@example.org",
        Kind::Domain => "scam.example.org",
        Kind::Url => "https://scam.example.org/pay",
        Kind::Ip => "192.0.2.10",
        Kind::Iban => "GB82 WEST 1234 5698 7654 32",
        Kind::Wallet => "a cryptocurrency address",
        _ => "",
    }
}

pub fn publish_page(
    who: &str,
    csrf: &str,
    kind: Kind,
    given: &Fields,
    refusal: Option<&Refusal>,
) -> Markup {
    page(
        &format!("Publish {kind}"),
        Nav::Publish,
        who,
        publish_form(csrf, kind, given, refusal),
    )
}

/// Whether the node's refusal is its warninglist check (a `strict` publish of a
/// listed value, refused before anything was signed).
pub fn warninglisted(message: &str) -> bool {
    message.contains(" is on warninglist ") && message.ends_with("(refused: strict)")
}

/// The value is on a warninglist: the node's words, a "publish anyway" form
/// carrying exactly what was submitted, and the form again to change it.
pub fn warning_page(who: &str, csrf: &str, kind: Kind, given: &Fields, warning: &str) -> Markup {
    let body = html! {
        div.warning-box role="alert" {
            p { strong { "Warninglist: " } (Shown(warning)) }
            p { "Nothing was signed or stored. A value on a warninglist is usually harmless or widely shared; publish it only if you are sure it belongs to this case." }
            form.publish-anyway method="post" action="/publish" {
                input type="hidden" name="csrf" value=(csrf);
                @for (name, value) in given.pairs().filter(|(n, _)| !matches!(*n, "csrf" | "anyway" | "strict")) {
                    input type="hidden" name=(name) value=(value);
                }
                input type="hidden" name="anyway" value="1";
                button.danger type="submit" { "Publish anyway" }
            }
        }
        (publish_form(csrf, kind, given, None))
    };
    page(&format!("Publish {kind}"), Nav::Publish, who, body)
}

fn publish_form(csrf: &str, kind: Kind, given: &Fields, refusal: Option<&Refusal>) -> Markup {
    let error_at = |field: &str| -> Option<&str> {
        refusal
            .filter(|r| r.field == Some(field_static(field)))
            .map(|r| r.message.as_str())
    };
    let tlp = match given.get("tlp") {
        "" => "green",
        t => t,
    };
    html! {
        nav.kinds aria-label="kind" {
            @for k in Kind::ALL {
                a href={ "/publish?kind=" (k.as_str()) } aria-current=[(k == kind).then_some("page")] { (k.as_str()) }
            }
        }
        @if let Some(r) = refusal.filter(|r| r.field.is_none()) { (error_box(&r.message)) }
        form.publish method="post" action="/publish" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="kind" value=(kind.as_str());
            (field("value", &format!("{kind} value"), html! {
                input #value type="text" name="value" required value=(super::visible(given.get("value"))) placeholder=(example(kind));
            }, error_at("value")))
            @if kind == Kind::Phone {
                (field("country", "Country for a national number (ISO code, default: the node's)", html! {
                    input #country type="text" name="country" maxlength="2" value=(super::visible(given.get("country")));
                }, error_at("country")))
            }
            (field("tlp", "TLP", html! {
                select #tlp name="tlp" {
                    @for t in Tlp::ALL { option value=(t.as_str()) selected[t.as_str() == tlp] { "TLP:" (t) } }
                }
            }, error_at("tlp")))
            (field("recipients", "Recipients for TLP:RED (node ids, comma separated)", html! {
                input #recipients type="text" name="recipients" value=(super::visible(given.get("recipients")));
            }, error_at("recipients")))
            fieldset { legend { "Labels" }
                @for l in Label::ALL {
                    label.check { input type="checkbox" name="labels" value=(l.as_str()) checked[given.all("labels").iter().any(|g| g == l.as_str())]; " " (l.as_str()) }
                }
                @if let Some(e) = error_at("labels") { p.field-error role="alert" { (Shown(e)) } }
            }
            (field("evaluation", "Evaluation (4x4, e.g. B2)", html! {
                input #evaluation type="text" name="evaluation" maxlength="2" value=(super::visible(given.get("evaluation")));
            }, error_at("evaluation")))
            fieldset { legend { "Handling" }
                @for h in [HandlingCode::H0, HandlingCode::H1, HandlingCode::H2, HandlingCode::H3] {
                    label.check { input type="checkbox" name="handling" value=(h) checked[given.all("handling").iter().any(|g| *g == h.to_string())]; " " (h) }
                }
                @if let Some(e) = error_at("handling") { p.field-error role="alert" { (Shown(e)) } }
            }
            (field("handling_note", "H3 restriction text", html! {
                input #handling_note type="text" name="handling_note" value=(super::visible(given.get("handling_note")));
            }, error_at("handling_note")))
            (field("valid_days", "Valid for (days; empty: the node's default)", html! {
                input #valid_days type="number" min="1" name="valid_days" value=(super::visible(given.get("valid_days")));
            }, error_at("valid_days")))
            (field("description", "Description for the receiving analyst (signed)", html! {
                textarea #description name="description" rows="3" { (super::visible(given.get("description"))) }
            }, error_at("description")))
            (field("case", "Case reference (signed)", html! {
                input #case type="text" name="case" value=(super::visible(given.get("case")));
            }, error_at("case")))
            label.check { input type="checkbox" name="strict" value="1" checked[given.flag("strict")]; " refuse a value on a warninglist (otherwise the console asks first)" }
            button type="submit" { "Sign and publish" }
        }
    }
}

fn field_static(name: &str) -> &'static str {
    FIELDS.iter().copied().find(|f| *f == name).unwrap_or("")
}

/// One labelled input with its error, if the node named this field.
pub(super) fn field(id: &str, label: &str, input: Markup, error: Option<&str>) -> Markup {
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            (input)
            @if let Some(e) = error { p.field-error role="alert" { (Shown(e)) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_message_lands_on_its_field() {
        let r = Refusal::from_message("invalid input: value: not a phone number".into());
        assert_eq!(r.field, Some("value"));
        let r = Refusal::from_message("evaluation: \"Z9\" is not …".into());
        assert_eq!(r.field, Some("evaluation"));
        let r = Refusal::from_message("invalid input: case_reference: too long".into());
        assert_eq!(r.field, Some("case"));
        let r = Refusal::from_message("node unavailable: shutting down".into());
        assert_eq!(r.field, None);
    }

    #[test]
    fn the_warninglist_refusal_is_recognised_and_resubmitted_whole() {
        let message =
            "invalid input: value: +447700900999 is on warninglist helpline (refused: strict)";
        assert!(warninglisted(message));
        assert!(!warninglisted("invalid input: value: not a phone number"));
        let given = Fields::parse("csrf=old&kind=phone&value=07700+900999&labels=fraud&strict=1");
        let html = warning_page("me", "tok", Kind::Phone, &given, message).into_string();
        let anyway = &html[html.find("publish-anyway").expect("form")
            ..html.find("Publish anyway").expect("button")];
        assert!(
            anyway.contains("name=\"value\" value=\"07700 900999\""),
            "{anyway}"
        );
        assert!(
            anyway.contains("name=\"labels\" value=\"fraud\""),
            "{anyway}"
        );
        assert!(anyway.contains("name=\"anyway\" value=\"1\""), "{anyway}");
        assert!(
            !anyway.contains("old") && !anyway.contains("strict"),
            "{anyway}"
        );
    }

    #[test]
    fn a_field_error_is_shown_beside_the_field() {
        let refusal = Refusal::from_message("value: too long".into());
        let html =
            publish_page("me", "c", Kind::Phone, &Fields::default(), Some(&refusal)).into_string();
        let value_at = html.find("id=\"value\"").expect("value input");
        let error_at = html.find("value: too long").expect("error shown");
        let next_field = html.find("id=\"country\"").expect("country input");
        assert!(value_at < error_at && error_at < next_field, "{html}");
    }
}
