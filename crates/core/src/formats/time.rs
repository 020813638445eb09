//! Timestamps in files: RFC 3339 (UTC) text ↔ milliseconds since the epoch.
//! Owns only the conversion; never reads the clock.

use std::time::{Duration, UNIX_EPOCH};

/// `2026-05-01T12:00:00.000Z` (STIX's millisecond form). Times before the epoch
/// are written as the epoch: records never carry them.
pub fn format_ms(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// The date only, `2026-05-01`, for MISP's event date.
pub fn format_date(ms: i64) -> String {
    format_ms(ms)[..10].to_string()
}

/// Reads `2026-05-01` (midnight UTC) or an RFC 3339 date-time in UTC
/// (`2026-05-01T12:00:00Z`, fractions allowed). Offsets other than `Z` are refused
/// rather than guessed; `+00:00` (what MISP writes) is UTC, read as `Z`.
pub fn parse_ms(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let full = match (text.len() == 10, text.strip_suffix("+00:00")) {
        (true, _) => format!("{text}T00:00:00Z"),
        (false, Some(utc)) => format!("{utc}Z"),
        (false, None) => text.to_string(),
    };
    let time = humantime::parse_rfc3339(&full).map_err(|_| {
        format!(
            "{} is not an RFC 3339 date (2026-05-01) or UTC date-time (2026-05-01T12:00:00Z)",
            crate::untrusted::quote(text)
        )
    })?;
    let since = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "is before 1970".to_string())?;
    i64::try_from(since.as_millis()).map_err(|_| "is too far in the future".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_round_trip() {
        assert_eq!(parse_ms("1970-01-02").unwrap(), 86_400_000);
        let ms = parse_ms("2026-05-01T12:00:00.123Z").unwrap();
        assert_eq!(format_ms(ms), "2026-05-01T12:00:00.123Z");
        assert_eq!(format_date(ms), "2026-05-01");
        assert!(parse_ms("2026-05-01T12:00:00+02:00").is_err());
        let misp = parse_ms("2026-05-01T12:00:00.123000+00:00");
        assert_eq!(misp, Ok(ms));
        assert!(parse_ms("tomorrow").unwrap_err().contains("tomorrow"));
    }
}
