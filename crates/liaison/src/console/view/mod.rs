//! The console's HTML: one page shell and the small pieces every page uses
//! (untrusted text, TLP chips, times). Pages are rendered by maud, which
//! escapes every interpolated string; [`Shown`] additionally makes control and
//! bidirectional characters visible.
//!
//! Rendering only: this module must never call the node or decide what a
//! caller may see (the node already did).

pub mod actions;
pub mod audit;
pub mod bulletins;
pub mod import;
pub mod lookup;
pub mod partners;
pub mod publish;
pub mod record;
pub mod records;
pub mod search;

use maud::{html, Markup, Render, DOCTYPE};

use liaison_core::proto;

/// Text from outside the console (a partner's record, the node's message, the
/// analyst's own query), shown safely: HTML-escaped by maud, and every
/// control or bidi character spelled out as `⟨U+202E⟩`, so it cannot reorder
/// or hide what the analyst reads ("Trojan Source").
pub struct Shown<'a>(pub &'a str);

impl Render for Shown<'_> {
    fn render_to(&self, buffer: &mut String) {
        visible(self.0).as_str().render_to(buffer);
    }
}

/// `text` with control and bidi characters replaced by `⟨U+XXXX⟩`; line
/// breaks and tabs stay.
pub fn visible(text: &str) -> String {
    let hidden = |c: char| {
        !matches!(c, '\n' | '\t')
            && liaison_core::untrusted::check_text(
                c.encode_utf8(&mut [0; 4]),
                liaison_core::untrusted::Lines::Single,
            )
            .is_err()
    };
    if !text.chars().any(hidden) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match hidden(c) {
            true => format!("⟨U+{:04X}⟩", u32::from(c)),
            false => c.to_string(),
        })
        .collect()
}

/// Which page is current, for the navigation bar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Search,
    Publish,
    Import,
    Records,
    Bulletins,
    Lookup,
    Partners,
    Audit,
    Other,
}

/// The page shell: title, navigation, the stylesheet and script (both served
/// by the console itself; nothing external).
pub fn page(title: &str, nav: Nav, who: &str, body: Markup) -> Markup {
    page_with_head(title, nav, who, html! {}, body)
}

/// [`page`] with more in its `<head>` (the Import page's no-script refresh).
pub fn page_with_head(title: &str, nav: Nav, who: &str, head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (Shown(title)) " · Liaison" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
                (head)
            }
            body {
                header.top {
                    span.brand { "Liaison" }
                    nav aria-label="main" {
                        a href="/search" aria-current=[(nav == Nav::Search).then_some("page")] { "Search" }
                        a href="/publish" aria-current=[(nav == Nav::Publish).then_some("page")] { "Publish" }
                        a href="/import" aria-current=[(nav == Nav::Import).then_some("page")] { "Import" }
                        a href="/records" aria-current=[(nav == Nav::Records).then_some("page")] { "Records" }
                        a href="/bulletins" aria-current=[(nav == Nav::Bulletins).then_some("page")] { "Bulletins" }
                        a href="/lookup" aria-current=[(nav == Nav::Lookup).then_some("page")] { "Lookup" }
                        a href="/partners" aria-current=[(nav == Nav::Partners).then_some("page")] { "Partners" }
                        a href="/audit" aria-current=[(nav == Nav::Audit).then_some("page")] { "Audit" }
                    }
                    span.who title="the node and certificate this console calls as" { (Shown(who)) }
                }
                main { (body) }
            }
        }
    }
}

/// The field a node's refusal names (`field: reason`, after the status
/// sentence's `invalid input: `), as the node spelled it.
pub fn named_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("invalid input: ").unwrap_or(message);
    rest.split_once(": ").map(|(head, _)| head.trim())
}

/// An error box with the node's (or the console's) own sentence.
pub fn error_box(message: &str) -> Markup {
    html! { p.error role="alert" { (Shown(message)) } }
}

/// A TLP 2.0 chip in the standard colours (the classes in console.css).
pub fn tlp_chip(tlp: i32) -> Markup {
    let (class, text) = match liaison_core::record::tlp_from_wire(tlp) {
        Ok(tlp) => (
            format!("tlp tlp-{}", tlp.as_str().replace('+', "-")),
            format!("TLP:{tlp}"),
        ),
        Err(_) => ("tlp".to_string(), "TLP:?".to_string()),
    };
    html! { span class=(class) { (text) } }
}

/// A time as UTC text in a `<time>` element; console.js, when it runs,
/// rewrites it in local time and keeps UTC in the tooltip.
pub fn time(ms: i64) -> Markup {
    if ms <= 0 {
        return html! { "—" };
    }
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    let utc = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
    )
    .to_string();
    html! { time datetime=(utc) title=(utc) { (utc.replace('T', " ").replace('Z', " UTC")) } }
}

/// A kind's name from its wire code.
pub fn kind_name(kind: i32) -> String {
    u8::try_from(kind)
        .ok()
        .and_then(liaison_core::indicator::Kind::from_code)
        .map(|k| k.to_string())
        .unwrap_or_else(|| format!("kind-{kind}"))
}

/// The first 16 hex digits of an id, as the CLI shows them. Counted in
/// characters: an id from a URL may be anything, and must not split a character.
pub fn short(id: &str) -> &str {
    match id.char_indices().nth(16) {
        Some((at, _)) => &id[..at],
        None => id,
    }
}

/// The evaluation as "B2", or "—".
pub fn evaluation(indicator: &proto::Indicator) -> String {
    match &indicator.evaluation {
        Some(e) => format!("{}{}", e.source_reliability, e.information_accuracy),
        None => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_bidi_are_shown_not_obeyed() {
        let rendered =
            html! { p { (Shown("<script>alert(1)</script>\u{202E}gpj.exe\u{7}")) } }.into_string();
        assert_eq!(
            rendered,
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;⟨U+202E⟩gpj.exe⟨U+0007⟩</p>"
        );
    }

    #[test]
    fn plain_text_and_line_breaks_pass_unchanged() {
        assert_eq!(
            visible("+44 7700 900123\nsecond line"),
            "+44 7700 900123\nsecond line"
        );
        assert_eq!(visible("\u{2066}x\u{200F}"), "⟨U+2066⟩x⟨U+200F⟩");
    }

    #[test]
    fn short_ids_never_split_a_character() {
        assert_eq!(short(&"ab".repeat(32)), "abababababababab");
        assert_eq!(short("abc"), "abc");
        assert_eq!(short(&"é".repeat(20)), "é".repeat(16));
    }

    #[test]
    fn tlp_chips_use_the_tlp_classes() {
        let red =
            tlp_chip(liaison_core::record::tlp_to_wire(liaison_core::record::Tlp::Red) as i32)
                .into_string();
        assert!(red.contains("tlp-red") && red.contains("TLP:RED"), "{red}");
        let strict = tlp_chip(liaison_core::record::tlp_to_wire(
            liaison_core::record::Tlp::AmberStrict,
        ) as i32)
        .into_string();
        assert!(strict.contains("tlp-amber-strict"), "{strict}");
    }
}
