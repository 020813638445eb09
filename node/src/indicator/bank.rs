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

fn explain_iban(err: &ParseIbanError, compact: &str) -> String {
    let country = compact.get(..2).unwrap_or(compact);
    match err {
        ParseIbanError::InvalidBaseIban {
            source: ParseBaseIbanError::InvalidChecksum,
        } => "mod-97 check failed (a character is mistyped, missing or extra)".to_string(),
        ParseIbanError::InvalidBaseIban {
            source: ParseBaseIbanError::InvalidFormat,
        } => "not in IBAN format (two letters, two check digits, then up to 30 letters or digits)"
            .to_string(),
        ParseIbanError::InvalidBban(_) => format!(
            "wrong length or account structure for country {country} (the check digits are right, so a character may be missing, extra or in the wrong place)"
        ),
        ParseIbanError::UnknownCountry(_) => format!(
            "country {country} does not use IBAN; use kind bank-account ({country}:number) instead"
        ),
    }
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
