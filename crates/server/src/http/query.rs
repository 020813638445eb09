//! TAXII 2.1 query parameters (`added_after`, `limit`, `next`, `match[…]`),
//! parsed strictly: an unknown parameter or a bad value is a 400 naming the
//! parameter, never ignored. Pure; owns no I/O.

use percent_encoding::percent_decode_str;

use super::errors::HttpError;
use liaison_core::formats::time::parse_ms;

/// Objects per page when the client names no `limit`.
pub const DEFAULT_LIMIT: usize = 1_000;
/// Largest page served; a larger `limit` is clamped to it (TAXII allows that).
pub const MAX_LIMIT: usize = 10_000;
/// Most values one `match[…]` filter may list.
const MAX_MATCH_VALUES: usize = 1_000;

/// `match[version]` values.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionMatch {
    /// `first`, `last` or `all`: every object here has exactly one version.
    Any,
    /// A `modified` timestamp, ms since the epoch.
    At(i64),
}

/// A parsed objects or manifest query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub added_after: Option<i64>,
    pub limit: usize,
    /// Change-log position to go on after (from a `next` this server gave).
    pub next: Option<u64>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    /// Empty: TAXII's default, the latest version (the only one here).
    pub versions: Vec<VersionMatch>,
    pub spec_versions: Vec<String>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            added_after: None,
            limit: DEFAULT_LIMIT,
            next: None,
            ids: Vec::new(),
            types: Vec::new(),
            versions: Vec::new(),
            spec_versions: Vec::new(),
        }
    }
}

/// The opaque `next` token of a change-log position.
pub fn next_token(position: u64) -> String {
    format!("{position:x}")
}

/// Parses a raw query string (without `?`).
pub fn parse(raw: Option<&str>) -> Result<Query, HttpError> {
    let mut query = Query::default();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key, "query")?;
        let value = decode(value, &key)?;
        match key.as_str() {
            "added_after" => {
                let ms = parse_ms(&value).map_err(|e| HttpError::bad_request(&key, e))?;
                query.added_after = Some(ms);
            }
            "limit" => query.limit = limit(&value)?,
            "next" => {
                let position = u64::from_str_radix(&value, 16)
                    .map_err(|_| HttpError::bad_request("next", "not a token this server gave"))?;
                query.next = Some(position);
            }
            "match[id]" => query.ids = list(&key, &value)?,
            "match[type]" => query.types = list(&key, &value)?,
            "match[spec_version]" => query.spec_versions = list(&key, &value)?,
            "match[version]" => {
                query.versions = list(&key, &value)?
                    .iter()
                    .map(|v| version(v))
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(HttpError::bad_request(
                other,
                "unknown parameter (added_after, limit, next, match[id|type|version|spec_version])",
            )),
        }
    }
    Ok(query)
}

fn decode(text: &str, field: &str) -> Result<String, HttpError> {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| HttpError::bad_request(field, "not UTF-8 after percent-decoding"))
}

fn limit(value: &str) -> Result<usize, HttpError> {
    match value.parse::<u64>() {
        Ok(0) => Err(HttpError::bad_request("limit", "must be at least 1")),
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
        // A number too large for u64 is still a number: clamp it.
        Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => Ok(MAX_LIMIT),
        Err(_) => Err(HttpError::bad_request(
            "limit",
            format!(
                "{} is not a positive integer",
                liaison_core::untrusted::quote(value)
            ),
        )),
    }
}

fn list(key: &str, value: &str) -> Result<Vec<String>, HttpError> {
    let values: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    if values.is_empty() {
        return Err(HttpError::bad_request(key, "names no value"));
    }
    if values.len() > MAX_MATCH_VALUES {
        return Err(HttpError::bad_request(
            key,
            format!("at most {MAX_MATCH_VALUES} values"),
        ));
    }
    Ok(values)
}

fn version(value: &str) -> Result<VersionMatch, HttpError> {
    match value {
        "first" | "last" | "all" => Ok(VersionMatch::Any),
        stamp => parse_ms(stamp)
            .map(VersionMatch::At)
            .map_err(|e| HttpError::bad_request("match[version]", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_and_clamp() {
        let q = parse(Some(
            "added_after=2026-05-01T12%3A00%3A00Z&limit=50&next=1f&match%5Bid%5D=indicator--a,indicator--b&match[type]=indicator&match[version]=last,2026-05-01T00:00:00.000Z&match[spec_version]=2.1",
        ))
        .unwrap();
        assert_eq!(
            q.added_after,
            Some(parse_ms("2026-05-01T12:00:00Z").unwrap())
        );
        assert_eq!((q.limit, q.next), (50, Some(0x1f)));
        assert_eq!(q.ids, ["indicator--a", "indicator--b"]);
        assert_eq!(q.types, ["indicator"]);
        assert_eq!(q.versions.len(), 2);
        assert_eq!(q.spec_versions, ["2.1"]);
        assert_eq!(parse(Some("limit=999999999")).unwrap().limit, MAX_LIMIT);
        assert_eq!(
            parse(Some("limit=99999999999999999999999")).unwrap().limit,
            MAX_LIMIT
        );
        assert_eq!(parse(None).unwrap(), Query::default());
    }

    #[test]
    fn bad_parameters_are_named() {
        for (raw, field) in [
            ("limit=abc", "limit"),
            ("limit=0", "limit"),
            ("limit=-3", "limit"),
            ("added_after=yesterday", "added_after"),
            ("next=zz", "next"),
            ("match[version]=newest", "match[version]"),
            ("match[id]=", "match[id]"),
            ("colour=red", "colour"),
        ] {
            let error = parse(Some(raw)).unwrap_err();
            assert_eq!(error.status, 400, "{raw}");
            assert!(error.description.starts_with(field), "{raw}: {error}");
        }
    }
}
