//! The audit log as oversight reads it, whoever asks: the text filters of
//! `liaison audit list` resolved to a [`Filter`], one page of matches newest
//! first, and the verdict of `liaison audit verify` in its own words. The CLI
//! (reading the file) and the node's `Admin.ListAudit` call (for the console)
//! both come here, so a filter or a verdict means the same on either.
//!
//! This module only reads; it must never decide who may read the log (the
//! node's admin check does) nor word a verdict differently from `audit verify`.

use std::path::Path;

use ed25519_dalek::VerifyingKey;

use super::entry::Entry;
use super::error::AuditError;
use super::query::{for_each, parse_time, resolve_partner, Filter};

/// The filters as a person typed them (a date or an age, a partner id prefix).
#[derive(Debug, Default, Clone)]
pub struct FilterText {
    pub since: Option<String>,
    pub until: Option<String>,
    pub actor: Option<String>,
    pub partner: Option<String>,
    pub action: Option<String>,
}

impl FilterText {
    /// The filter, or a message naming the field (`{flags}since: …`, so the CLI
    /// says `--since` and a gRPC client `since`). A partner prefix is resolved
    /// among the partners the log mentions and the `known` ids.
    pub fn resolve(&self, log: &Path, known: &[String], flags: &str) -> Result<Filter, String> {
        let time = |name: &str, t: &Option<String>| {
            blank(t)
                .map(|t| parse_time(&format!("{flags}{name}"), t))
                .transpose()
        };
        let partner = match blank(&self.partner) {
            Some(prefix) => Some(
                resolve_partner(log, prefix, known)
                    .map_err(|e| e.replacen("--partner", &format!("{flags}partner"), 1))?,
            ),
            None => None,
        };
        Ok(Filter {
            since_ms: time("since", &self.since)?,
            until_ms: time("until", &self.until)?,
            actor: blank(&self.actor).map(str::to_string),
            partner,
            action: blank(&self.action).map(str::to_string),
        })
    }
}

fn blank(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// One page of matching entries, newest first.
#[derive(Debug, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Matching entries in all (below the bound).
    pub total: u64,
    /// The log's last sequence number when read (0 for an empty log).
    pub head_seq: u64,
}

/// The entries matching `filter` with a sequence number below `before_seq`
/// (0: no bound), newest first, skipping `offset` and keeping `limit`. Reads
/// the file once, holding one page.
pub fn page(
    log: &Path,
    filter: &Filter,
    before_seq: u64,
    offset: usize,
    limit: usize,
) -> Result<Page, AuditError> {
    if !log.exists() {
        return Ok(Page::default());
    }
    let mut found = Page::default();
    // The newest `offset + limit` matches, oldest first, in a bounded window.
    let window = offset.saturating_add(limit);
    let mut newest = std::collections::VecDeque::with_capacity(window.min(4096));
    for_each(log, |entry| {
        found.head_seq = found.head_seq.max(entry.seq);
        if (before_seq != 0 && entry.seq >= before_seq) || !filter.matches(&entry) {
            return;
        }
        found.total += 1;
        if window == 0 {
            return;
        }
        if newest.len() == window {
            newest.pop_front();
        }
        newest.push_back(entry);
    })?;
    found.entries = newest.into_iter().rev().skip(offset).collect();
    Ok(found)
}

/// `liaison audit verify`'s verdict on `log` as lines of text; an error when
/// the log does not verify (its chain, a checkpoint or its seal).
pub fn verdict_lines(log: &Path, key: &VerifyingKey) -> Result<Vec<String>, AuditError> {
    let found = super::verify_with(log, Some(key))?.require_sealed(log)?;
    let mut lines = vec![format!(
        "audit log intact: {} entries, {} signed checkpoints (node key {}), head {}",
        found.last_seq,
        found.checkpoints,
        &hex::encode(key.to_bytes())[..16],
        &found.head[..16]
    )];
    match found.unsealed {
        0 => lines.push(format!(
            "sealed through entry {}: every entry is covered by a checkpoint",
            found.sealed_through
        )),
        n => lines.push(format!(
            "sealed through entry {}; {n} entries after it are unsealed (chained, not yet signed: the node is running, or it stopped without its shutdown checkpoint)",
            found.sealed_through
        )),
    }
    for seq in &found.unverified_at {
        lines.push(format!("WARNING: entry {seq} records a start at which the log was unverified (its seal was missing or unreadable): entries before it may have been cut off; compare with a backup"));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_log(dir: &Path, entries: u64) -> std::path::PathBuf {
        let path = dir.join("audit.log");
        let mut text = String::new();
        for seq in 1..=entries {
            let entry = serde_json::json!({
                "seq": seq, "time_ms": seq as i64 * 1000,
                "actor": if seq % 2 == 0 { "analyst \"Ann\"" } else { "node" },
                "action": if seq % 2 == 0 { "search.federated" } else { "node.start" },
                "detail": {}, "prev": "", "hash": "",
            });
            text.push_str(&format!("{entry}\n"));
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn pages_are_newest_first_and_stable_below_a_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = write_log(dir.path(), 10);
        let filter = FilterText {
            action: Some("search".into()),
            ..Default::default()
        }
        .resolve(&log, &[], "--")
        .expect("filter");
        let first = page(&log, &filter, 0, 0, 2).expect("page");
        assert_eq!(first.total, 5);
        assert_eq!(first.head_seq, 10);
        let seqs: Vec<u64> = first.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![10, 8]);
        let second = page(&log, &filter, 11, 2, 2).expect("page");
        let seqs: Vec<u64> = second.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![6, 4]);
        let bounded = page(&log, &filter, 8, 0, 10).expect("page");
        assert_eq!(bounded.total, 3);
        assert_eq!(bounded.entries[0].seq, 6);
    }

    #[test]
    fn filter_errors_name_the_field_as_the_caller_spells_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = write_log(dir.path(), 2);
        let bad = FilterText {
            since: Some("soon".into()),
            ..Default::default()
        };
        let cli = bad.resolve(&log, &[], "--").expect_err("bad time");
        assert!(cli.starts_with("--since:"), "{cli}");
        let grpc = bad.resolve(&log, &[], "").expect_err("bad time");
        assert!(grpc.starts_with("since:"), "{grpc}");
        let partner = FilterText {
            partner: Some("zz".into()),
            ..Default::default()
        };
        let grpc = partner.resolve(&log, &[], "").expect_err("not hex");
        assert!(grpc.starts_with("partner:"), "{grpc}");
    }
}
