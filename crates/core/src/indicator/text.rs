//! Free-text kinds: platform handles, job adverts (hashed), perceptual image
//! hashes, aliases and locations.
//!
//! Text is compared after Unicode NFKC, lower-casing and whitespace collapsing,
//! so that copies of the same advert or name that differ only in case, spacing
//! or full-width/compatibility characters meet.

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::{invalid, IndicatorError, Kind, Normalized};

const PLATFORMS: [&str; 10] = [
    "telegram",
    "whatsapp",
    "facebook",
    "instagram",
    "tiktok",
    "x",
    "line",
    "wechat",
    "signal",
    "viber",
];
const MAX_HANDLE_CHARS: usize = 256;
const PHASH_HEX_DIGITS: usize = 16;
const MAX_ALIAS_CHARS: usize = 200;
/// Prefix marking a place name in a location value.
pub(super) const PLACE_PREFIX: &str = "place:";

/// `platform:handle`, e.g. `Telegram:@Some_Name` → `telegram:some_name`.
pub(super) fn normalize_handle(input: &str) -> Result<Normalized, IndicatorError> {
    let Some((platform, handle)) = input.trim().split_once(':') else {
        return Err(invalid(
            Kind::Handle,
            format!(
                "expected platform:handle, e.g. telegram:@name (platforms: {})",
                PLATFORMS.join(", ")
            ),
        ));
    };
    let platform = platform.trim().to_lowercase();
    if !PLATFORMS.contains(&platform.as_str()) {
        return Err(invalid(
            Kind::Handle,
            format!(
                "unknown platform {platform:?} (expected one of: {})",
                PLATFORMS.join(", ")
            ),
        ));
    }
    // Only one `@` is the conventional mention marker; more are part of the handle.
    let handle = handle.trim_start();
    let handle = handle.strip_prefix('@').unwrap_or(handle).to_lowercase();
    check_handle(&handle)?;
    Ok(Normalized::new(
        Kind::Handle,
        format!("{platform}:{handle}"),
    ))
}

/// The canonical-form check for a received handle. `normalize_handle` strips
/// exactly one leading `@`, so `tiktok:@@hr_agent` becomes `tiktok:@hr_agent`,
/// which a second pass would change again: normalising the value itself would
/// refuse records this node signs. Normalising it with one `@` marker added
/// gives the value back exactly when it is canonical.
pub(super) fn normalize_handle_marked(value: &str) -> Result<Normalized, IndicatorError> {
    match value.split_once(':') {
        Some((platform, handle)) => normalize_handle(&format!("{platform}:@{handle}")),
        None => normalize_handle(value),
    }
}

fn check_handle(handle: &str) -> Result<(), IndicatorError> {
    if handle.is_empty() {
        return Err(invalid(
            Kind::Handle,
            "the handle after the platform is empty",
        ));
    }
    if handle.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            Kind::Handle,
            "the handle contains whitespace or control characters",
        ));
    }
    let chars = handle.chars().count();
    if chars > MAX_HANDLE_CHARS {
        return Err(invalid(
            Kind::Handle,
            format!("the handle has {chars} characters; the limit is {MAX_HANDLE_CHARS}"),
        ));
    }
    Ok(())
}

/// SHA-256 (lower-case hex) of the advert text after [`fold_text`].
pub(super) fn normalize_jobad(input: &str) -> Result<Normalized, IndicatorError> {
    let text = fold_text(input);
    if text.is_empty() {
        return Err(invalid(
            Kind::JobAd,
            "the advert text is empty after normalisation",
        ));
    }
    let digest = Sha256::digest(text.as_bytes());
    Ok(Normalized::new(Kind::JobAd, hex::encode(digest)))
}

/// NFKC, lower-case, each whitespace run to one space, trimmed: the order and
/// whitespace set of the reference implementation (Python `str.split()`).
pub(super) fn fold_text(input: &str) -> String {
    let lower = input.nfkc().collect::<String>().to_lowercase();
    lower
        .split(is_python_whitespace)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Unicode White_Space plus the ASCII information separators U+001C..U+001F,
/// which Python's `str.split()` also treats as whitespace.
fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Exactly 16 hex digits (a 64-bit perceptual hash), lower-cased. No trimming:
/// hashes are machine output, so anything else means a copy/paste problem.
pub(super) fn normalize_phash(input: &str) -> Result<Normalized, IndicatorError> {
    if input.len() != PHASH_HEX_DIGITS || !input.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            Kind::PHash,
            format!("expected exactly {PHASH_HEX_DIGITS} hex digits with no prefix or spaces"),
        ));
    }
    Ok(Normalized::new(Kind::PHash, input.to_ascii_lowercase()))
}

pub(super) fn normalize_alias(input: &str) -> Result<Normalized, IndicatorError> {
    fold_name(Kind::Alias, input).map(|name| Normalized::new(Kind::Alias, name))
}

/// Names (aliases, place names): [`fold_text`] applied twice, because
/// lower-casing can leave a string that NFKC would change again and the rule
/// must be idempotent; then 1-200 characters without control characters.
pub(super) fn fold_name(kind: Kind, input: &str) -> Result<String, IndicatorError> {
    let name = fold_text(&fold_text(input));
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(invalid(
            kind,
            format!("contains the control character {c:?}"),
        ));
    }
    let chars = name.chars().count();
    if chars == 0 {
        return Err(invalid(kind, "empty name"));
    }
    if chars > MAX_ALIAS_CHARS {
        return Err(invalid(
            kind,
            format!("the name has {chars} characters; the limit is {MAX_ALIAS_CHARS}"),
        ));
    }
    Ok(name)
}

/// A job-ad value as it travels: 64 lower-case hex digits.
pub(super) fn check_jobad_fingerprint(value: &str) -> Result<Normalized, IndicatorError> {
    let is_fingerprint = value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match is_fingerprint {
        true => Ok(Normalized {
            kind: Kind::JobAd,
            value: value.to_string(),
            outside_known_ranges: false,
        }),
        false => Err(invalid(
            Kind::JobAd,
            "a job-ad fingerprint is 64 lower-case hex digits",
        )),
    }
}
