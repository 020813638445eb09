//! The Bulletins pages: the list of bulletins this node holds, one bulletin
//! with its visible members as record cards and the node's count of the rest
//! ("N of M members withheld"), and the compose form fed by the records an
//! analyst ticked on the Records list or in search results. The form carries
//! the session's CSRF token; the node's `field: reason` refusal is shown
//! beside the field it names.
//!
//! Rendering only: it must never call the node, check a value or work out
//! which members a viewer may see (the node already withheld them).

use maud::{html, Markup};

use super::publish::{field, Refusal};
use super::{error_box, kind_name, page, short, time, tlp_chip, Nav, Shown};
use crate::console::form::Fields;
use liaison_core::proto;
use liaison_core::record::{HandlingCode, Label, Tlp};

/// The compose form's field names, as the node's messages name them.
pub const FIELDS: [&str; 11] = [
    "title",
    "summary",
    "modus_operandi",
    "members",
    "tlp",
    "recipients",
    "labels",
    "countries",
    "handling",
    "handling_note",
    "valid_days",
];

/// The compose form field a name in the node's (or the CLI helpers') messages
/// refers to.
pub fn field_for(name: &str) -> Option<&'static str> {
    match name {
        "label" => Some("labels"),
        "country" => Some("countries"),
        "recipient" | "--recipient" => Some("recipients"),
        "record_id" | "indicator" | "--indicator" | "member_ids" => Some("members"),
        "valid_until" => Some("valid_days"),
        other => FIELDS.iter().copied().find(|f| *f == other),
    }
}

/// The node's count of the members this agency was not given, in the CLI's
/// words (`liaison bulletin show`); None when nothing is withheld.
pub fn withheld_line(view: &proto::BulletinView) -> Option<String> {
    (view.withheld > 0).then(|| {
        format!(
            "{} of {} members withheld (not shared with this agency)",
            view.withheld, view.members_total
        )
    })
}

fn origin(view: &proto::BulletinView) -> String {
    match view.origin_name.is_empty() {
        true => short(&view.origin).to_string(),
        false => view.origin_name.clone(),
    }
}

pub fn list_page(who: &str, answer: Result<proto::ListBulletinsResponse, String>) -> Markup {
    let body = html! {
        h1 { "Bulletins" }
        p.hint {
            "Tick records on the " a href="/records" { "Records" } " list or in " a href="/search" { "search" }
            " results, then “Compose a bulletin”; or "
            a href="/bulletins/new" { "compose one from record ids" } "."
        }
        @match &answer {
            Err(message) => (error_box(message)),
            Ok(list) if list.bulletins.is_empty() => p.none { "No bulletins here yet." },
            Ok(list) => {
                table.records {
                    thead { tr { th { "Title" } th { "TLP" } th { "From" } th { "Members" } th { "Created" } } }
                    tbody {
                        @for b in &list.bulletins {
                            tr {
                                td {
                                    a href={ "/bulletin/" (b.record_id) } { (Shown(&b.title)) }
                                    @if b.revoked { " " span.revoked { "revoked" } }
                                }
                                td { (tlp_chip(b.tlp)) }
                                td title=(b.origin) { (Shown(&origin(b))) }
                                td {
                                    (b.members.len()) " of " (b.members_total) " visible here"
                                    @if b.withheld > 0 { br; span.withheld { (b.withheld) " withheld" } }
                                }
                                td { (time(b.created_unix_ms)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page("Bulletins", Nav::Bulletins, who, body)
}

/// A member as the bulletin page shows it.
pub enum Member {
    /// Held here and read with the analyst's `Analyst.Get`.
    Card(Box<proto::RecordView>),
    /// Held here, but shown only as the bulletin lists it, and why.
    Listed(proto::BulletinMember, String),
    /// Only its id is known here (not received yet).
    NotHeld(String),
}

pub fn bulletin_page(
    who: &str,
    view: &proto::BulletinView,
    members: &[Member],
    published: bool,
) -> Markup {
    let handling: Vec<String> = view
        .handling
        .iter()
        .filter_map(|&c| liaison_core::record::handling_from_wire(c).ok())
        .map(|c| c.to_string())
        .collect();
    let body = html! {
        @if published { p.notice role="status" { "Bulletin signed and shared: each partner receives the members it may see." } }
        article.bulletin {
            h1 {
                (Shown(&view.title)) " " (tlp_chip(view.tlp))
                @if view.revoked { " " span.revoked { "revoked by its origin" } }
            }
            p.meta {
                "from " span.origin title=(view.origin) { (Shown(&origin(view))) }
                @if !view.received_from.is_empty() && view.received_from != view.origin {
                    " " span.via title=(view.received_from) { "(via " (short(&view.received_from)) ")" }
                }
                " · created " (time(view.created_unix_ms))
                " · valid until " (time(view.valid_until_unix_ms))
            }
            p.meta {
                @for label in &view.labels { span.label { (Shown(label)) } " " }
                @for code in &handling { span.handling { (code) } " " }
                @if !view.countries.is_empty() { "countries " (Shown(&view.countries.join(", "))) }
            }
            dl.details {
                @if !view.summary.is_empty() { dt { "summary" } dd.text { (Shown(&view.summary)) } }
                @if !view.modus_operandi.is_empty() { dt { "modus operandi" } dd.text { (Shown(&view.modus_operandi)) } }
                @if !view.handling_note.is_empty() { dt { "handling note" } dd { (Shown(&view.handling_note)) } }
                dt { "bulletin id" } dd { code { (view.record_id) } }
            }
        }
        h2 { "Members" }
        @match withheld_line(view) {
            Some(line) => p.withheld role="note" { (line) },
            None => p.meta { "All " (view.members_total) " members are visible here." },
        }
        @for member in members {
            @match member {
                Member::Card(record) => (super::record::card(record)),
                Member::Listed(m, why) => article.record {
                    h3 {
                        span.kind { (kind_name(m.kind)) } " "
                        a.value href={ "/record/" (m.record_id) } { (Shown(&m.value)) }
                        " " (tlp_chip(m.tlp))
                    }
                    p.meta { (Shown(why)) }
                },
                Member::NotHeld(id) => article.record {
                    h3 { code { (short(id)) } }
                    p.meta { "Not held here yet: its record has not arrived." }
                },
            }
        }
    };
    page(
        &format!("Bulletin {}", view.title),
        Nav::Bulletins,
        who,
        body,
    )
}

/// The bulletin page when the node refused or does not hold the bulletin.
pub fn bulletin_error(who: &str, id: &str, message: &str) -> Markup {
    page(
        &format!("Bulletin {}", short(id)),
        Nav::Bulletins,
        who,
        error_box(message),
    )
}

/// A record ticked for the bulletin, as the node answered `Analyst.Get`
/// (None: not read, one of very many ticked).
pub struct Selected {
    pub id: String,
    pub view: Option<Result<proto::RecordView, String>>,
}

pub fn compose_page(
    who: &str,
    csrf: &str,
    given: &Fields,
    selected: &[Selected],
    refusal: Option<&Refusal>,
) -> Markup {
    let error_at = |name: &str| -> Option<&str> {
        refusal
            .filter(|r| r.field.is_some_and(|f| f == name))
            .map(|r| r.message.as_str())
    };
    let tlp = match given.get("tlp") {
        "" => "green",
        t => t,
    };
    let body = html! {
        h1 { "Compose a bulletin" }
        @if let Some(r) = refusal.filter(|r| r.field.is_none()) { (error_box(&r.message)) }
        form.publish.compose method="post" action="/bulletins/new" {
            input type="hidden" name="csrf" value=(csrf);
            fieldset #members { legend { "Members (indicators this node holds)" }
                @if selected.is_empty() {
                    p.none { "No records ticked: tick them on the Records list or in search results, or give record ids below." }
                }
                @for s in selected {
                    div.member {
                        label.check {
                            input type="checkbox" name="members" value=(s.id) checked;
                            " "
                            @match &s.view {
                                Some(Ok(view)) => @match &view.indicator {
                                    Some(i) => { span.kind { (kind_name(i.kind)) } " " span.value { (Shown(&i.value)) } " " (tlp_chip(i.tlp)) },
                                    None => { code { (Shown(short(&s.id))) } " (" (Shown(&view.body)) ")" },
                                },
                                Some(Err(why)) => { code { (Shown(short(&s.id))) } " " span.meta { (Shown(why)) } },
                                None => { code { (Shown(&s.id)) } },
                            }
                        }
                    }
                }
                label for="member_ids" { "More record ids (64 hex digits or a unique prefix of 8+), comma or space separated" }
                input #member_ids type="text" name="member_ids" value=(super::visible(given.get("member_ids")));
                @if let Some(e) = error_at("members") { p.field-error role="alert" { (Shown(e)) } }
            }
            (field("title", "Title (one line)", html! {
                input #title type="text" name="title" required value=(super::visible(given.get("title")));
            }, error_at("title")))
            (field("summary", "Summary: what the case or campaign is", html! {
                textarea #summary name="summary" rows="3" { (super::visible(given.get("summary"))) }
            }, error_at("summary")))
            (field("modus_operandi", "Modus operandi: how the criminals operate", html! {
                textarea #modus_operandi name="modus_operandi" rows="3" { (super::visible(given.get("modus_operandi"))) }
            }, error_at("modus_operandi")))
            (field("tlp", "TLP of the bulletin itself", html! {
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
            (field("countries", "Countries affected (ISO codes, e.g. KE, MM)", html! {
                input #countries type="text" name="countries" value=(super::visible(given.get("countries")));
            }, error_at("countries")))
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
            button type="submit" { "Sign and share the bulletin" }
        }
    };
    page("Compose a bulletin", Nav::Bulletins, who, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_members_are_counted_in_words() {
        let mut view = proto::BulletinView {
            members_total: 2,
            ..Default::default()
        };
        assert_eq!(withheld_line(&view), None);
        view.withheld = 1;
        assert_eq!(
            withheld_line(&view).as_deref(),
            Some("1 of 2 members withheld (not shared with this agency)")
        );
    }

    #[test]
    fn the_node_message_lands_on_the_compose_field() {
        let r = Refusal::for_form(
            "invalid input: title: 201 characters; the limit is 200".into(),
            field_for,
        );
        assert_eq!(r.field, Some("title"));
        let r = Refusal::for_form("invalid input: record_id: abc is not".into(), field_for);
        assert_eq!(r.field, Some("members"));
        let html = compose_page("me", "c", &Fields::default(), &[], Some(&r)).into_string();
        let members = html.find("id=\"members\"").expect("members fieldset");
        let error = html.find("record_id: abc").expect("error shown");
        let title = html.find("id=\"title\"").expect("title input");
        assert!(members < error && error < title, "{html}");
    }

    #[test]
    fn a_hostile_title_is_shown_as_text() {
        let view = proto::BulletinView {
            title: "<script>alert(1)</script>\u{202E}".into(),
            ..Default::default()
        };
        let html = bulletin_page("me", &view, &[], false).into_string();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains('\u{202E}'), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;⟨U+202E⟩"));
    }
}
