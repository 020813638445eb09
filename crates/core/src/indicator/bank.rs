//! Bank identifiers: IBANs (validated with `iban_validate`: country, length,
//! BBAN structure and mod-97) and national bank-account numbers written
//! `CC:number` for countries without IBAN.

use iban::{Iban, IbanLike, ParseBaseIbanError, ParseIbanError};

use super::{invalid, IndicatorError, Kind, Normalized};

const MIN_ACCOUNT_LEN: usize = 4;
const MAX_ACCOUNT_LEN: usize = 34;

pub(super) fn normalize_iban(input: &str) -> Result<Normalized, IndicatorError> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if compact.is_empty() {
        return Err(invalid(Kind::Iban, "empty IBAN"));
    }
    if compact.contains('-') {
        return Err(invalid(
            Kind::Iban,
            "hyphens are not part of an IBAN; write it compact or in groups separated by spaces",
        ));
    }
    let iban = compact
        .parse::<Iban>()
        .map_err(|err| invalid(Kind::Iban, explain_iban(&err, &compact)))?;
    Ok(Normalized::new(
        Kind::Iban,
        iban.electronic_str().to_string(),
    ))
}

/// Says what is wrong, most specific first: the country, then the length or
/// structure for that country, then the check digits. iban_validate checks
/// mod-97 first, so re-parse with corrected check digits to learn whether the
/// rest would be valid.
fn explain_iban(err: &ParseIbanError, compact: &str) -> String {
    let country = compact.get(..2).unwrap_or(compact);
    let base_error = match err {
        ParseIbanError::InvalidBaseIban { source } => *source,
        ParseIbanError::InvalidBban(_) => return wrong_structure(country),
        ParseIbanError::UnknownCountry(_) => return unknown_country(country),
    };
    if base_error == ParseBaseIbanError::InvalidFormat {
        return "not in IBAN format (two letters, two check digits, then up to 30 letters or digits)"
            .to_string();
    }
    match with_correct_check_digits(compact).map(|fixed| fixed.parse::<Iban>()) {
        Some(Err(ParseIbanError::UnknownCountry(_))) => unknown_country(country),
        Some(Err(ParseIbanError::InvalidBban(_))) => wrong_structure(country),
        _ => "mod-97 check failed (a character is mistyped, missing or extra)".to_string(),
    }
}

fn unknown_country(country: &str) -> String {
    format!("country code {country} has no IBAN format; for a country without IBAN use kind bank-account ({country}:number)")
}

fn wrong_structure(country: &str) -> String {
    format!("wrong length or account structure for an IBAN from {country} (a character may be missing, extra or in the wrong place)")
}

/// The same IBAN with the check digits recomputed (ISO 13616 mod-97), if the
/// text has the basic shape of one.
fn with_correct_check_digits(compact: &str) -> Option<String> {
    let country = compact.get(..2)?;
    let bban = compact.get(4..)?;
    let remainder = format!("{bban}{country}00")
        .chars()
        .try_fold(0u32, |acc, c| {
            let value = c.to_digit(36)?;
            let scale = if value >= 10 { 100 } else { 10 };
            Some((acc * scale + value) % 97)
        })?;
    Some(format!("{country}{:02}{bban}", 98 - remainder))
}

fn is_valid_iban(compact: &str) -> bool {
    compact.parse::<Iban>().is_ok()
}

/// `CC:number`, e.g. `TH:123-4-56789-0` → `TH:1234567890`.
pub(super) fn normalize_bank_account(input: &str) -> Result<Normalized, IndicatorError> {
    let text = input.trim();
    let Some((country, number)) = text.split_once(':') else {
        let hint = if is_valid_iban(&compact_account(text)) {
            "; this is a valid IBAN, so use kind iban"
        } else {
            ""
        };
        return Err(invalid(
            Kind::BankAccount,
            format!("expected COUNTRY:NUMBER with an ISO 3166 alpha-2 country, e.g. TH:1234567890{hint}"),
        ));
    };
    let country = normalize_country(country)?;
    let number = compact_account(number);
    if is_valid_iban(&number) {
        return Err(invalid(
            Kind::BankAccount,
            "the number is a valid IBAN; use kind iban for it",
        ));
    }
    check_account_number(&number)?;
    Ok(Normalized::new(
        Kind::BankAccount,
        format!("{country}:{number}"),
    ))
}

fn normalize_country(country: &str) -> Result<String, IndicatorError> {
    let country = country.trim();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid(
            Kind::BankAccount,
            format!("country {country:?} is not a two-letter ISO 3166 code such as TH or GB"),
        ));
    }
    Ok(country.to_ascii_uppercase())
}

/// Spaces and hyphens are only grouping; letters are compared upper-case.
fn compact_account(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_uppercase()
}

fn check_account_number(number: &str) -> Result<(), IndicatorError> {
    if let Some(c) = number.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(invalid(
            Kind::BankAccount,
            format!("account number contains {c:?}; only letters and digits (plus spaces and hyphens as separators) are allowed"),
        ));
    }
    if !(MIN_ACCOUNT_LEN..=MAX_ACCOUNT_LEN).contains(&number.len()) {
        return Err(invalid(
            Kind::BankAccount,
            format!(
                "account number has {} characters; expected {MIN_ACCOUNT_LEN} to {MAX_ACCOUNT_LEN}",
                number.len()
            ),
        ));
    }
    Ok(())
}
