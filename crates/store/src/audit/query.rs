//! Reading the log for people: filters (time, actor, partner, action), partner
//! ids by unique prefix, and CSV/JSON output for a data-protection officer.
//! It reads the file as it is on disk, so it works while the node runs (a
//! line still being written is simply not there yet).
//!
//! This module only reads; it must never trust the file to be sound (run
//! `audit verify` for that) nor fail on an entry it does not know.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::entry::Entry;
use super::error::{io_error, AuditError};

/// Which entries to show; every set field must match.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Part of the actor text, any case ("alice", "admin", a partner id prefix).
    pub actor: Option<String>,
    /// A full partner node id (see [`resolve_partner`]).
    pub partner: Option<String>,
    /// An action ("sync.disclose") or any part of it ("disclose", "rotate"); see
    /// [`action_matches`].
    pub action: Option<String>,
}

impl Filter {
    pub fn matches(&self, entry: &Entry) -> bool {
        let after = self.since_ms.is_none_or(|t| entry.time_ms >= t);
        let before = self.until_ms.is_none_or(|t| entry.time_ms <= t);
        let actor = self
            .actor
            .as_ref()
            .is_none_or(|a| entry.actor.to_lowercase().contains(&a.to_lowercase()));
        let partner = self
            .partner
            .as_ref()
            .is_none_or(|p| entry.partner() == Some(p.as_str()));
        let action = self
            .action
            .as_ref()
            .is_none_or(|a| action_matches(&entry.action, a));
        after && before && actor && partner && action
    }
}

/// Whether `action` is what `--action wanted` asks for: the action itself or
/// any part of it (docs/OPERATIONS.md §11), so `sync.disclose` matches
/// "sync.disclose", "sync" and "disclose", and "rotate" matches
/// `identity.rotate_tls` and `partner.tls_rotate`. Any case.
pub fn action_matches(action: &str, wanted: &str) -> bool {
    action
        .to_ascii_lowercase()
        .contains(&wanted.trim().to_ascii_lowercase())
}

/// Calls `each` for every entry in file order; a line that does not parse
/// (a torn last line while the node writes) is skipped.
pub fn for_each(path: &Path, mut each: impl FnMut(Entry)) -> Result<(), AuditError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| io_error(path, e))?;
        if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
            each(entry);
        }
    }
    Ok(())
}

/// The entries that match `filter`.
pub fn select(path: &Path, filter: &Filter) -> Result<Vec<Entry>, AuditError> {
    let mut found = Vec::new();
    for_each(path, |entry| {
        if filter.matches(&entry) {
            found.push(entry);
        }
    })?;
    Ok(found)
}

/// The full partner id that `prefix` names, among the partners this log
/// mentions (and any `known` ids, e.g. enrolled partners).
pub fn resolve_partner(path: &Path, prefix: &str, known: &[String]) -> Result<String, String> {
    let prefix = prefix.trim().to_lowercase();
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("--partner: give a node id or a prefix of one (hex)".into());
    }
    let mut ids: Vec<String> = known.to_vec();
    for_each(path, |entry| {
        if let Some(id) = entry.partner() {
            ids.push(id.to_string());
        }
    })
    .map_err(|e| e.to_string())?;
    ids.retain(|id| id.starts_with(&prefix));
    ids.sort();
    ids.dedup();
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] if prefix.len() == 64 => Ok(prefix),
        [] => Err(format!("--partner: no partner id starts with {prefix}")),
        many => Err(format!(
            "--partner: {prefix} is ambiguous ({} partners); give more characters",
            many.len()
        )),
    }
}

/// A time for `--since`/`--until`: a date (2026-11-20), an RFC 3339 time, or
/// an age (24h, 7days) counted back from now.
pub fn parse_time(flag: &str, text: &str) -> Result<i64, String> {
    let text = text.trim();
    let moment = match humantime::parse_duration(text) {
        Ok(age) => std::time::SystemTime::now()
            .checked_sub(age)
            .ok_or(format!("{flag}: that age reaches before 1970"))?,
        Err(_) => {
            let full = match text.len() {
                10 => format!("{text}T00:00:00Z"),
                _ => text.to_string(),
            };
            humantime::parse_rfc3339_weak(&full).map_err(|_| {
                format!("{flag}: {text:?} is not a date (2026-11-20), an RFC 3339 time or an age (24h, 7days)")
            })?
        }
    };
    let ms = moment
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("{flag}: before 1970"))?
        .as_millis();
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// RFC 3339 (seconds) of a millisecond time.
pub fn time_text(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

/// One JSON object per entry, as an array.
pub fn to_json(entries: &[Entry]) -> serde_json::Value {
    serde_json::Value::Array(
        entries
            .iter()
            .map(|e| {
                let mut value = serde_json::to_value(e).unwrap_or_default();
                value["time"] = serde_json::Value::String(time_text(e.time_ms));
                value
            })
            .collect(),
    )
}

/// CSV (RFC 4180): seq, time, actor, action, partner, detail (JSON), hash.
pub fn write_csv(entries: &[Entry], out: impl std::io::Write) -> Result<(), String> {
    let mut writer = csv::Writer::from_writer(out);
    let header = [
        "seq", "time", "actor", "action", "partner", "detail", "hash",
    ];
    writer.write_record(header).map_err(|e| e.to_string())?;
    for e in entries {
        writer
            .write_record([
                e.seq.to_string(),
                time_text(e.time_ms),
                // Outside text never reaches a spreadsheet or terminal raw.
                liaison_core::untrusted::escape(&e.actor),
                liaison_core::untrusted::escape(&e.action),
                e.partner().unwrap_or_default().to_string(),
                e.detail.to_string(),
                e.hash.clone(),
            ])
            .map_err(|e| e.to_string())?;
    }
    writer.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_match_whole_or_by_part() {
        assert!(action_matches("sync.disclose", "disclose"));
        assert!(action_matches("sync.disclose", "sync.disclose"));
        assert!(action_matches("sync.disclose", "sync"));
        assert!(action_matches("search.local", "search"));
        // A part need not be a whole dot-separated word (issue 23).
        assert!(action_matches("identity.rotate_tls", "rotate"));
        assert!(action_matches("partner.tls_rotate", "rotate"));
        assert!(action_matches("backup.create", "backup"));
        assert!(action_matches("identity.rotate_tls", "Rotate"));
        assert!(!action_matches("search.local", "disclose"));
        assert!(!action_matches("sync.disclose", "sync.receipt"));
        assert!(!action_matches("node.stop", "rotate"));
    }

    #[test]
    fn times_parse_as_dates_and_ages() {
        assert_eq!(parse_time("--since", "1970-01-02").unwrap(), 86_400_000);
        assert!(parse_time("--since", "24h").unwrap() > 0);
        let error = parse_time("--until", "soon").unwrap_err();
        assert!(error.starts_with("--until:"), "{error}");
    }
}
