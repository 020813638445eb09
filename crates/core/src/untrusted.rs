//! Text that came from outside (an analyst's request, a partner's record or
//! bundle): the rules it must meet to be stored, and how it may be shown.
//!
//! Owns: refusing control and bidirectional-override characters in names and
//! text fields, quoting bad input in error messages (bounded, escaped), and
//! escaping text for a terminal. It must never alter text that is stored or
//! signed: refusing is allowed, rewriting is not.

/// Most characters of a bad input quoted back in an error message. Longer
/// quotes overflow gRPC metadata limits (grpcio: 16 KiB) and hide the reason.
pub const QUOTE_CHARS: usize = 100;

/// Whether line breaks and tabs are allowed in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// A name or one-line field: no control characters at all.
    Single,
    /// Free text such as a description: `\n`, `\r` and `\t` are allowed.
    Multi,
}

/// Why a text field was refused; the caller names the field.
pub fn check_text(text: &str, lines: Lines) -> Result<(), String> {
    match text.char_indices().find(|&(_, c)| is_forbidden(c, lines)) {
        None => Ok(()),
        Some((at, c)) => Err(format!(
            "contains the control character U+{:04X} at byte {at}; only printable text is accepted",
            u32::from(c)
        )),
    }
}

fn is_forbidden(c: char, lines: Lines) -> bool {
    if lines == Lines::Multi && matches!(c, '\n' | '\r' | '\t') {
        return false;
    }
    c.is_control() || is_bidi_control(c)
}

/// Bidirectional embedding, override and isolate characters: they can make a
/// name display as something else ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// `text` quoted for an error message: escaped like `{:?}` and cut to
/// [`QUOTE_CHARS`] characters, saying how long it really was.
pub fn quote(text: &str) -> String {
    let total = text.chars().count();
    if total <= QUOTE_CHARS {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(QUOTE_CHARS).collect();
    format!("{head:?}… ({total} characters)")
}

/// `text` cut to [`quote`]'s length for a message that does its own quoting
/// (clap's usage errors), saying how long it was; unchanged when short.
pub fn shorten(text: &str) -> String {
    let total = text.chars().count();
    if total <= QUOTE_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(QUOTE_CHARS).collect();
    format!("{head}… ({total} characters)")
}

/// `text` made safe for a terminal: control and bidi characters other than line
/// breaks become `\uXXXX` escapes, so partner-controlled text cannot move the
/// cursor, recolour the screen or reorder what an admin reads. The escape is
/// also valid inside a JSON string, so whole JSON documents can pass through.
pub fn escape(text: &str) -> String {
    let forbidden = |c: char| c != '\n' && is_forbidden(c, Lines::Single);
    if !text.chars().any(forbidden) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match forbidden(c) {
            true => format!("\\u{:04x}", u32::from(c)),
            false => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_every_control_and_bidi_character() {
        assert!(check_text("Agency A (example)", Lines::Single).is_ok());
        assert!(check_text("Polícia – 警察", Lines::Single).is_ok());
        for bad in [
            "a\nb",
            "a\u{1b}[31mred",
            "\u{7f}",
            "evil\u{202E}gpj.exe",
            "\u{0}",
        ] {
            assert!(check_text(bad, Lines::Single).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn free_text_allows_line_breaks_only() {
        assert!(check_text("line one\nline two\tend\r\n", Lines::Multi).is_ok());
        assert!(check_text("bell\u{7}", Lines::Multi).is_err());
        assert!(check_text("\u{2066}isolate", Lines::Multi).is_err());
    }

    #[test]
    fn quotes_are_bounded() {
        assert_eq!(quote("short"), "\"short\"");
        let long = "x".repeat(20_000);
        let quoted = quote(&long);
        assert!(quoted.len() < 140, "{quoted}");
        assert!(quoted.ends_with("(20000 characters)"));
    }

    #[test]
    fn escape_neutralises_terminal_sequences() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u001b[2Jb");
        assert_eq!(escape("x\u{202E}y\nz"), "x\\u202ey\nz");
        let json = serde_json::json!({ "name": "x\u{202E}y" }).to_string();
        let back: serde_json::Value = serde_json::from_str(&escape(&json)).unwrap();
        assert_eq!(back["name"], "x\u{202E}y");
    }
}
