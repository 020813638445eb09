//! Locations: decimal-degree coordinates (`16.7784,98.5247`) or place names
//! (`place:shwe kokko`).
//!
//! Coordinates are rounded to six decimals (about 0.1 m), which is finer than
//! any source analysts copy from, and written without trailing zeros so that
//! `16.77840` and `16.7784` meet. Anything that is not written as two decimal
//! numbers is a place name, normalised like an alias.

use super::text::{fold_name, PLACE_PREFIX};
use super::{invalid, IndicatorError, Kind, Normalized};

const DECIMALS: usize = 6;

pub(super) fn normalize(input: &str) -> Result<Normalized, IndicatorError> {
    let text = input.trim();
    let value = match strip_place_prefix(text) {
        Some(name) => place(name)?,
        None => match coordinates(text) {
            Some(pair) => format_coordinates(pair)?,
            None => place(text)?,
        },
    };
    Ok(Normalized::new(Kind::Location, value))
}

fn strip_place_prefix(text: &str) -> Option<&str> {
    text.get(..PLACE_PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(PLACE_PREFIX))
        .and_then(|_| text.get(PLACE_PREFIX.len()..))
}

fn place(name: &str) -> Result<String, IndicatorError> {
    let name = fold_name(Kind::Location, name)?;
    Ok(format!("{PLACE_PREFIX}{name}"))
}

/// `lat,lon` when both sides are plain decimal numbers; `None` means "not
/// written as coordinates", not "invalid".
fn coordinates(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.split_once(',')?;
    Some((parse_decimal(lat.trim())?, parse_decimal(lon.trim())?))
}

/// `[+-]digits[.digits]`: no exponents, `inf` or `nan`, which `f64::from_str`
/// would otherwise accept.
fn parse_decimal(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) {
        return None;
    }
    text.parse().ok()
}

fn format_coordinates((lat, lon): (f64, f64)) -> Result<String, IndicatorError> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(invalid(
            Kind::Location,
            format!("latitude {lat} is outside -90..90 (is the order lat,lon?)"),
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(invalid(
            Kind::Location,
            format!("longitude {lon} is outside -180..180"),
        ));
    }
    Ok(format!("{},{}", format_degrees(lat), format_degrees(lon)))
}

/// At most six decimals, trailing zeros removed, never `-0`.
fn format_degrees(value: f64) -> String {
    let fixed = format!("{value:.DECIMALS$}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "-0" => "0".to_string(),
        other => other.to_string(),
    }
}
