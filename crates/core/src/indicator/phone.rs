//! Phone numbers: libphonenumber parsing (through the `phonenumber` crate) to
//! E.164, plus the two pieces of libphonenumber behaviour that crate lacks:
//!
//! * the possible-length check (`isPossibleNumberWithReason`), computed from the
//!   per-type possible lengths in the metadata, because the crate neither
//!   exposes it nor fills in the general descriptor's lengths;
//! * removal of a trunk prefix written after the country code (`+44 (0)7700 …`),
//!   which the crate only performs when the result is a *valid* number, so it
//!   kept the `0` for possible-but-unassigned ranges such as UK 07700 900xxx.
//!
//! Because the crate reads leading zeros after the country code differently
//! from pass to pass, a result is only accepted if it normalises to itself.

use std::collections::BTreeSet;

use phonenumber::metadata::{Descriptor, DATABASE};
use phonenumber::{country, Metadata, Mode, ParseError, PhoneNumber, Validation};

use super::{invalid, Context, IndicatorError, Kind, Normalized};

pub(super) fn normalize(input: &str, ctx: &Context) -> Result<Normalized, IndicatorError> {
    let region = default_region(ctx)?;
    let first = normalize_once(input, region)?;
    // The crate reads zeros right after the country code (`+44 000 …`)
    // differently on a second pass, and differently with and without a default
    // country, so only a value that reproduces itself either way is canonical;
    // anything else would give one number two values.
    let reproduces =
        |region| normalize_once(&first.value, region).is_ok_and(|again| again == first);
    if reproduces(None) && (region.is_none() || reproduces(region)) {
        return Ok(first);
    }
    Err(invalid(
        Kind::Phone,
        format!(
            "{} is not a stable E.164 number (unexpected zeros after the country code?); check the digits",
            first.value
        ),
    ))
}

/// One parse without a default country: enough to check a received E.164 value,
/// since a value that reproduces itself is by definition stable.
pub(super) fn normalize_once_without_country(input: &str) -> Result<Normalized, IndicatorError> {
    normalize_once(input, None)
}

fn normalize_once(input: &str, region: Option<country::Id>) -> Result<Normalized, IndicatorError> {
    let number = parse_possible(input, region)?;
    Ok(Normalized {
        kind: Kind::Phone,
        value: number.format().mode(Mode::E164).to_string(),
        outside_known_ranges: !number.is_valid(),
    })
}

/// The E.164 form of one parse without a default country, without the range
/// check (`is_valid`, the costliest part of a parse, which only sets
/// `outside_known_ranges`): what checking a received record's value needs,
/// since the record carries its own flag. Accepts exactly what
/// [`normalize_once_without_country`] accepts.
pub(super) fn e164_once_without_country(input: &str) -> Result<String, IndicatorError> {
    Ok(parse_possible(input, None)?
        .format()
        .mode(Mode::E164)
        .to_string())
}

fn parse_possible(input: &str, region: Option<country::Id>) -> Result<PhoneNumber, IndicatorError> {
    let number = parse(input, region)?;
    let number = drop_trunk_prefix_after_country_code(number);
    check_possible_length(&number)?;
    Ok(number)
}

fn default_region(ctx: &Context) -> Result<Option<country::Id>, IndicatorError> {
    let Some(raw) = ctx
        .default_country
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    else {
        return Ok(None);
    };
    let code = raw.trim().to_ascii_uppercase();
    code.parse::<country::Id>().map(Some).map_err(|_| {
        IndicatorError::DefaultCountry(format!(
            "{} is not an ISO 3166 alpha-2 code with a numbering plan (e.g. GB, TH, US)",
            crate::untrusted::quote(raw)
        ))
    })
}

fn parse(input: &str, region: Option<country::Id>) -> Result<PhoneNumber, IndicatorError> {
    if !has_plausible_characters(input) {
        return Err(invalid(
            Kind::Phone,
            "contains characters that never appear in a phone number",
        ));
    }
    phonenumber::parse(region, input).map_err(|err| {
        let reason = match err {
            ParseError::NoNumber => "no phone number found (at least 3 digits are needed)",
            ParseError::InvalidCountryCode
                if region.is_none() && !input.trim_start().starts_with('+') =>
            {
                "national format needs a default country (e.g. --country GB) or a leading +"
            }
            ParseError::InvalidCountryCode => "unknown country calling code",
            ParseError::TooShortAfterIdd => "too short after the international prefix",
            ParseError::TooShortNsn => "too short: not enough digits after the country code",
            ParseError::TooLong => "too long to be a phone number",
            ParseError::MalformedInteger(_) => "malformed digit sequence",
        };
        invalid(Kind::Phone, reason)
    })
}

/// Printable characters used in written phone numbers, `tel:` URIs and
/// extensions; anything else (control characters, emoji, `@`) means the input is
/// not a phone number, and rejecting it early keeps odd input away from the
/// third-party parser.
fn has_plausible_characters(input: &str) -> bool {
    input.chars().all(|c| {
        c.is_alphanumeric()
            || c.is_whitespace()
            || "+\u{FF0B}()-./[]~#*;=:,\u{2010}\u{2011}\u{2012}\u{2013}\u{2014}\u{2015}\u{2212}\u{30FC}\u{FF0D}"
                .contains(c)
    })
}

/// The metadata libphonenumber uses for length checks: that of the main
/// region of the calling code (e.g. GB for +44), or the non-geographic entry.
fn main_metadata(calling_code: u16) -> Option<&'static Metadata> {
    let regions = DATABASE.region(&calling_code)?;
    match regions.first().copied() {
        Some("001") | None => DATABASE.by_code(&calling_code)?.into_iter().next(),
        Some(region) => DATABASE.by_id(region),
    }
}

fn number_type_descriptors(meta: &Metadata) -> [Option<&Descriptor>; 10] {
    let d = meta.descriptors();
    [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
}

/// Possible lengths of full national significant numbers, and lengths that are
/// possible only as local numbers, as libphonenumber's metadata builder derives
/// them for the general descriptor (union over the diallable number types).
fn possible_lengths(meta: &Metadata) -> (Vec<u16>, BTreeSet<u16>) {
    let mut full: BTreeSet<u16> = meta
        .descriptors()
        .general()
        .possible_length()
        .iter()
        .copied()
        .collect();
    let mut local = BTreeSet::new();
    for desc in number_type_descriptors(meta).into_iter().flatten() {
        full.extend(desc.possible_length());
        local.extend(desc.possible_local_length());
    }
    let local = local.difference(&full).copied().collect();
    (full.into_iter().collect(), local)
}

/// libphonenumber's `testNumberLength` for the "unknown" number type.
fn classify_length(length: u16, full: &[u16], local_only: &BTreeSet<u16>) -> Validation {
    let (Some(&min), Some(&max)) = (full.first(), full.last()) else {
        return Validation::InvalidLength;
    };
    if local_only.contains(&length) {
        Validation::IsPossibleLocalOnly
    } else if length < min {
        Validation::TooShort
    } else if length > max {
        Validation::TooLong
    } else if full.contains(&length) {
        Validation::IsPossible
    } else {
        Validation::InvalidLength
    }
}

fn check_possible_length(number: &PhoneNumber) -> Result<(), IndicatorError> {
    let calling_code = number.code().value();
    let Some(meta) = main_metadata(calling_code) else {
        return Err(invalid(
            Kind::Phone,
            format!("unknown country calling code +{calling_code}"),
        ));
    };
    let digits = number.national().to_string().len();
    let (full, local_only) = possible_lengths(meta);
    let length = u16::try_from(digits).unwrap_or(u16::MAX);
    let place = format!("+{calling_code} ({})", meta.id());
    let lengths = join(&full);
    let reason = match classify_length(length, &full, &local_only) {
        Validation::IsPossible => return Ok(()),
        Validation::IsPossibleLocalOnly => format!(
            "{digits} digits after {place} is only diallable as a local number; the area code seems to be missing (full numbers have {lengths} digits)"
        ),
        Validation::TooShort => {
            format!("too short: {digits} digits after {place}, expected {lengths}")
        }
        Validation::TooLong => {
            format!("too long: {digits} digits after {place}, expected {lengths}")
        }
        Validation::InvalidLength | Validation::InvalidCountryCode => format!(
            "{digits} digits after {place} is not a possible length (expected {lengths})"
        ),
    };
    Err(invalid(Kind::Phone, reason))
}

fn join(lengths: &[u16]) -> String {
    let parts: Vec<String> = lengths.iter().map(u16::to_string).collect();
    parts.join(", ")
}

/// `+44 (0)7700 900789`: libphonenumber strips the national (trunk) prefix even
/// after an explicit country code when the remainder looks like a national
/// number and the original does not. The crate only does so for valid numbers,
/// so repeat the step here for the rest.
fn drop_trunk_prefix_after_country_code(number: PhoneNumber) -> PhoneNumber {
    if number.national().zeros() == 0 {
        return number;
    }
    let calling_code = number.code().value();
    let Some(meta) = main_metadata(calling_code) else {
        return number;
    };
    if meta.national_prefix_transform_rule().is_some() {
        return number;
    }
    let digits = number.national().to_string();
    let Some(prefix_len) = trunk_prefix_len(meta, &digits) else {
        return number;
    };
    let stripped = &digits[prefix_len..];
    let general = meta.descriptors().general();
    if !matches_entirely(general, stripped) || matches_entirely(general, &digits) {
        return number;
    }
    phonenumber::parse(None, format!("+{calling_code}{stripped}")).unwrap_or(number)
}

/// Length of the trunk prefix at the start of `digits`, if there is one.
fn trunk_prefix_len(meta: &Metadata, digits: &str) -> Option<usize> {
    match meta.national_prefix_for_parsing() {
        Some(pattern) => pattern
            .find(digits)
            .filter(|m| m.start() == 0 && m.end() > 0)
            .map(|m| m.end()),
        None => meta
            .national_prefix()
            .filter(|prefix| !prefix.is_empty() && digits.starts_with(prefix))
            .map(str::len),
    }
}

fn matches_entirely(desc: &Descriptor, digits: &str) -> bool {
    desc.national_number()
        .find(digits)
        .is_some_and(|m| m.start() == 0 && m.end() == digits.len())
}
