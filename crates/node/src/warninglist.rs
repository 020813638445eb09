//! Warninglists (issue 15): per-node lists of values known to be harmless or
//! shared. Owns normalising entries, the publish-time check (warn, or refuse when
//! strict), marking search results, and reading MISP's warninglist JSON format.
//!
//! Entries never leave this node and never change a record: a match is advice to
//! this node's analysts only. This module must never sign or sync anything itself.

use serde::Deserialize;

use crate::error::{Error, Result};
use liaison_core::indicator::{self, Kind};
use liaison_core::proto;
use liaison_core::record::{Body, VerifiedRecord};
use liaison_core::untrusted::{check_text, Lines};
use liaison_store::store::Store;
use liaison_store::store::WarninglistEntry;

/// The list an entry goes to when none is named.
pub const DEFAULT_LIST: &str = "local";
/// Entries per add or import request.
pub const MAX_ENTRIES: usize = 100_000;
const MAX_NAME_CHARS: usize = 128;
const MAX_NOTE_CHARS: usize = 1024;

fn text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(Error::InvalidRequest(format!(
            "{field}: longer than {max} characters"
        )));
    }
    check_text(value, Lines::Single).map_err(|r| Error::InvalidRequest(format!("{field}: {r}")))
}

/// A requested entry, validated and normalised; `at` names it in errors.
fn entry_from_wire(
    default_country: &str,
    wire: proto::WarninglistEntry,
    at: usize,
) -> Result<WarninglistEntry> {
    let field = |name: &str| format!("entries[{at}].{name}");
    let kind = liaison_core::record::kind_from_wire(wire.kind)?
        .ok_or_else(|| Error::InvalidRequest(format!("{}: required", field("kind"))))?;
    let list = match wire.list.trim() {
        "" => DEFAULT_LIST.to_string(),
        name => name.to_string(),
    };
    text(&field("list"), &list, MAX_NAME_CHARS)?;
    text(&field("note"), &wire.note, MAX_NOTE_CHARS)?;
    let context = indicator::Context {
        default_country: Some(wire.default_country)
            .filter(|c| !c.is_empty())
            .or_else(|| Some(default_country.to_string()).filter(|c| !c.is_empty())),
    };
    let normalized = indicator::normalize(kind, &wire.value, &context)
        .map_err(|e| Error::InvalidRequest(format!("{}: {e}", field("value"))))?;
    Ok(WarninglistEntry {
        list,
        kind,
        value: normalized.value,
        note: wire.note,
        added_ms: liaison_core::now_ms(),
    })
}

fn entry_to_wire(entry: &WarninglistEntry) -> proto::WarninglistEntry {
    proto::WarninglistEntry {
        list: entry.list.clone(),
        kind: i32::from(entry.kind.code()),
        value: entry.value.clone(),
        note: entry.note.clone(),
        added_unix_ms: entry.added_ms,
        default_country: String::new(),
    }
}

/// Adds every entry or none: one bad entry refuses the request, naming it.
/// Phone numbers in national format are read with `default_country` unless the
/// entry names its own.
pub async fn add(
    store: &Store,
    default_country: &str,
    request: proto::AddWarninglistRequest,
) -> Result<proto::WarninglistResponse> {
    if request.entries.is_empty() {
        return Err(Error::InvalidRequest("entries: at least one value".into()));
    }
    if request.entries.len() > MAX_ENTRIES {
        return Err(Error::InvalidRequest(format!(
            "entries: {} given; the limit is {MAX_ENTRIES}",
            request.entries.len()
        )));
    }
    let entries = request
        .entries
        .into_iter()
        .enumerate()
        .map(|(at, wire)| entry_from_wire(default_country, wire, at))
        .collect::<Result<Vec<_>>>()?;
    store.put_warninglist(&entries).await?;
    Ok(proto::WarninglistResponse {
        entries: entries.iter().map(entry_to_wire).collect(),
    })
}

pub fn list(store: &Store) -> Result<proto::WarninglistResponse> {
    let entries = store.warninglist_all()?;
    Ok(proto::WarninglistResponse {
        entries: entries.iter().map(entry_to_wire).collect(),
    })
}

pub async fn remove(
    store: &Store,
    default_country: &str,
    request: proto::RemoveWarninglistRequest,
) -> Result<proto::WarninglistResponse> {
    let wire = proto::WarninglistEntry {
        list: request.list.clone(),
        kind: request.kind,
        value: request.value,
        ..Default::default()
    };
    let entry = entry_from_wire(default_country, wire, 0).map_err(|e| match e {
        Error::InvalidRequest(m) => Error::InvalidRequest(m.replace("entries[0].", "")),
        other => other,
    })?;
    let only = Some(request.list.trim()).filter(|l| !l.is_empty());
    let gone: Vec<_> = store
        .warninglist_matches(entry.kind, &entry.value)?
        .into_iter()
        .filter(|e| only.is_none_or(|l| l == e.list))
        .collect();
    if gone.is_empty() {
        return Err(Error::NotFound(format!(
            "{}:{} on {}",
            entry.kind,
            entry.value,
            only.unwrap_or("any warninglist")
        )));
    }
    store
        .remove_warninglist(entry.kind, &entry.value, only)
        .await?;
    Ok(proto::WarninglistResponse {
        entries: gone.iter().map(entry_to_wire).collect(),
    })
}

/// Names of the lists naming this canonical value (empty on a store error: a
/// warning is advice, and must not make a search fail).
pub fn matches(store: &Store, kind: Kind, value: &str) -> Vec<String> {
    let mut names: Vec<String> = store
        .warninglist_matches(kind, value)
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.list)
        .collect();
    names.dedup();
    names
}

/// The warninglists naming a record's indicator value; empty for other bodies.
pub fn record_matches(store: &Store, record: &VerifiedRecord) -> Vec<String> {
    match &record.payload.body {
        Body::Indicator(i) => matches(store, i.kind, &i.value),
        _ => Vec::new(),
    }
}

/// The warninglists naming a canonical value (a warning), or, when `strict` and
/// there are any, the refusal naming them (before anything is signed). Shared by
/// single and bulk publishing.
pub fn checked(store: &Store, kind: Kind, value: &str, strict: bool) -> Result<Vec<String>> {
    let lists = matches(store, kind, value);
    if strict && !lists.is_empty() {
        return Err(Error::InvalidRequest(format!(
            "value: {value} is on warninglist {} (refused: strict)",
            lists.join(", ")
        )));
    }
    Ok(lists)
}

/// A MISP warninglist file (github.com/MISP/misp-warninglists, `list.json`).
#[derive(Deserialize)]
struct MispList {
    name: String,
    list: Vec<String>,
    #[serde(default)]
    matching_attributes: Vec<String>,
}

/// The entries of a MISP warninglist file, under the file's list name. `kind`
/// wins; otherwise it is read from `matching_attributes` (first one we know).
pub fn parse_misp(json: &str, kind: Option<Kind>) -> Result<Vec<proto::WarninglistEntry>> {
    let file: MispList = serde_json::from_str(json)
        .map_err(|e| Error::InvalidRequest(format!("file: not a MISP warninglist: {e}")))?;
    let kind = match kind {
        Some(kind) => kind,
        None => file
            .matching_attributes
            .iter()
            .find_map(|a| misp_kind(a))
            .ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "matching_attributes: none of {:?} maps to a Liaison kind; pass --kind",
                    file.matching_attributes
                ))
            })?,
    };
    Ok(file
        .list
        .into_iter()
        .map(|value| proto::WarninglistEntry {
            list: file.name.clone(),
            kind: i32::from(kind.code()),
            value,
            ..Default::default()
        })
        .collect())
}

fn misp_kind(attribute: &str) -> Option<Kind> {
    let name = match attribute {
        "phone-number" | "whatsapp" => "phone",
        "email" | "email-src" | "email-dst" => "email",
        "domain" | "hostname" | "domain|ip" => "domain",
        "url" | "uri" | "link" => "url",
        "ip-src" | "ip-dst" => "ip",
        "iban" | "bank-account-nr" => "bank-account",
        "btc" | "xmr" => "wallet",
        _ => return None,
    };
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misp_file_reads_its_name_and_kind() {
        let json = r#"{"name": "Helplines (fictional)", "type": "string",
            "matching_attributes": ["comment", "phone-number"],
            "list": ["+44 7700 900999", "+44 7700 900998"]}"#;
        let entries = parse_misp(json, None).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].list, "Helplines (fictional)");
        assert_eq!(entries[0].kind, i32::from(Kind::Phone.code()));
    }

    #[test]
    fn a_misp_file_without_a_known_attribute_needs_a_kind() {
        let json = r#"{"name": "x", "list": ["a"], "matching_attributes": ["comment"]}"#;
        let err = parse_misp(json, None).err().unwrap().to_string();
        assert!(err.contains("matching_attributes"), "{err}");
        assert!(parse_misp("{}", None)
            .err()
            .unwrap()
            .to_string()
            .contains("file:"));
    }
}
