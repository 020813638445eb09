//! Where a MISP attribute came from: the producer (`Orgc`), the first-seen
//! time (`first_seen`, else `timestamp`), the category's label, and which kind
//! of tag a tag Liaison does not carry is (for the not-carried report).
//!
//! Owns only these readings; must never decide a kind or a marking (the reader
//! does) nor drop a field without listing it in the item's `not_carried`.

use serde_json::Value;

use super::label_for_category;
use crate::formats::time::parse_ms;
use crate::formats::{ImportItem, Loss, LossKind};

/// Which kind of MISP tag `tag` is: a galaxy cluster, a taxonomy's machine tag
/// (`namespace:predicate` or `namespace:predicate="value"`), or free text.
pub(super) fn tag_loss(tag: &str) -> LossKind {
    if tag.starts_with("misp-galaxy:") {
        return LossKind::GalaxyTag;
    }
    let machine = tag.split_once(':').is_some_and(|(namespace, predicate)| {
        !namespace.is_empty()
            && !predicate.is_empty()
            && !namespace.contains(char::is_whitespace)
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    match machine {
        true => LossKind::TaxonomyTag,
        false => LossKind::MispTag,
    }
}

/// What an attribute (and its event) say about where it came from.
pub(super) struct Found<'a, T: Iterator<Item = &'a str>> {
    /// The event's `Orgc` name.
    pub producer: Option<&'a str>,
    pub first_seen: Option<&'a str>,
    pub timestamp: Option<&'a Value>,
    pub category: &'a str,
    /// The attribute's own tags.
    pub tags: T,
}

/// The event's producer, the attribute's first-seen time and its category.
pub(super) fn provenance<'a>(
    item: &mut ImportItem,
    found: &Found<'a, impl Iterator<Item = &'a str> + Clone>,
) {
    if let Some(name) = found.producer {
        item.set_source(name);
    }
    let first_seen = match found.first_seen.filter(|t| !t.is_empty()) {
        Some(text) => Some(parse_ms(text).map_err(|_| text.to_string())),
        None => found.timestamp.and_then(seconds).map(Ok),
    };
    match first_seen {
        Some(Ok(ms)) if ms > 0 => item.first_seen_ms = Some(ms),
        Some(Ok(_)) | None => {}
        Some(Err(text)) => item.not_carried.push(Loss::new(LossKind::FirstSeen, &text)),
    }
    // A Liaison export (`liaison:` tags) states its labels exactly; its
    // category follows from the type, not from the crime.
    let from_liaison = found.tags.clone().any(|t| t.starts_with("liaison:"));
    if found.category.is_empty() || from_liaison {
        return;
    }
    match label_for_category(found.category) {
        Some(label) if !item.labels.contains(&label) => item.labels.push(label),
        Some(_) => {}
        None => item
            .not_carried
            .push(Loss::new(LossKind::MispCategory, found.category)),
    }
}

/// A MISP `timestamp` (Unix seconds, a string or a number) in ms.
fn seconds(value: &Value) -> Option<i64> {
    let seconds = match value {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    seconds.checked_mul(1000)
}
