//! Indicator normalisation: turning raw analyst input into exactly one canonical
//! value per [`Kind`], so that two agencies that saw the same phone number, wallet
//! or domain produce byte-identical values that can be matched, indexed and signed.
//!
//! This module owns parsing, validation and canonical formatting only. It never
//! stores, signs or transmits anything, and it never accepts a value it could not
//! validate: every rejection is an [`IndicatorError::Invalid`] whose reason tells
//! the analyst what to fix. It never panics, whatever the input.
//!
//! The rules for phone, email, domain, ip, wallet, iban, handle, jobad and phash
//! are those of `testdata/README.md` (shared test vectors, checked in `tests.rs`).
//! The remaining kinds follow these rules:
//!
//! * **url**: scheme `http`, `https` or `ftp` (lower-cased); host normalised with
//!   the domain rule, or an IPv4 literal, or an IPv6 literal in brackets written in
//!   RFC 5952 form; the default port (80/443/21) is dropped, other ports kept
//!   without leading zeros; userinfo is kept; path and query are kept as given
//!   except that characters outside RFC 3986 are percent-encoded (UTF-8) and
//!   existing escapes get upper-case hex digits; an empty path becomes `/`; the
//!   fragment is dropped. Whitespace and control characters are rejected.
//! * **bank-account**: `CC:number` with a two-letter country code (upper-cased)
//!   and 4-34 letters/digits after removing spaces and hyphens (upper-cased).
//!   A valid IBAN is refused with a hint to use kind `iban`.
//! * **alias**: NFKC, lower-case, whitespace runs collapsed to one space, trimmed;
//!   1-200 characters, no control characters.
//! * **network**: see `cidr.rs` (CIDR, network address, host bits refused).
//! * **file-hash**: see `filehash.rs` (MD5/SHA-1/SHA-256 lower-case hex).
//! * **wallet** coins beyond the shared rules: see `wallet.rs`.
//! * **location**: `lat,lon` in decimal degrees, written with at most six decimals
//!   and no trailing zeros (`16.7784,98.5247`), or a place name normalised like an
//!   alias and prefixed `place:` (`place:shwe kokko`).
//!
//! Phone numbers keep the national significant number only: an extension
//! (`ext. 12`) is not part of the E.164 form and is dropped.
//!
//! Inputs longer than [`MAX_INPUT_BYTES`] (jobad: [`MAX_JOBAD_BYTES`]) are
//! rejected before any parsing.

mod bank;
mod cidr;
mod filehash;
mod idna2008;
mod kind;
mod location;
mod net;
mod phone;
mod text;
mod url;
mod wallet;
mod wallet_coins;

#[cfg(test)]
mod kinds_proptests;
#[cfg(test)]
mod kinds_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod rule_tests;
#[cfg(test)]
mod tests;

pub use cidr::{answers, networks_containing, MIN_PREFIX_V4, MIN_PREFIX_V6};
pub use filehash::{hash_algorithm, HashAlgorithm};
pub use kind::Kind;
pub use wallet::{coin_of, Coin};

/// Longest input accepted for every kind except [`Kind::JobAd`].
pub const MAX_INPUT_BYTES: usize = 4096;
/// Longest job-advert text accepted.
pub const MAX_JOBAD_BYTES: usize = 64 * 1024;

/// A validated indicator in its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub kind: Kind,
    /// The canonical value: equal inputs (in the kind's sense) give equal values.
    pub value: String,
    /// Set for phone numbers whose length is possible for the country but which
    /// fall outside every number range libphonenumber knows (e.g. UK 07700 900xxx).
    pub outside_known_ranges: bool,
}

impl Normalized {
    fn new(kind: Kind, value: String) -> Self {
        Normalized {
            kind,
            value,
            outside_known_ranges: false,
        }
    }
}

/// Extra information some kinds need to interpret their input.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// ISO 3166 alpha-2 country used to read phone numbers written in national
    /// format (without a leading `+`). Ignored by every other kind.
    pub default_country: Option<String>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IndicatorError {
    #[error("unknown indicator kind {0:?} (expected one of: phone, email, domain, url, ip, wallet, iban, bank-account, handle, jobad, phash, alias, location, network, file-hash)")]
    UnknownKind(String),
    #[error("invalid {kind} value: {reason}")]
    Invalid { kind: Kind, reason: String },
    #[error("{0}")]
    DefaultCountry(String),
}

impl IndicatorError {
    /// The request field at fault, for `field: reason` messages.
    pub fn field(&self) -> &'static str {
        match self {
            IndicatorError::UnknownKind(_) => "kind",
            IndicatorError::Invalid { .. } => "value",
            IndicatorError::DefaultCountry(_) => "default_country",
        }
    }
}

/// Shorthand used by every normaliser to build a rejection.
fn invalid(kind: Kind, reason: impl Into<String>) -> IndicatorError {
    IndicatorError::Invalid {
        kind,
        reason: reason.into(),
    }
}

/// Whether a received value is in its kind's canonical form: the same verdict
/// as [`check_canonical`], without computing what a received record carries
/// itself (whether a phone number is in an assigned range). Used on every
/// record received from a partner, where the phone parse dominates the cost.
pub fn check_received_value(kind: Kind, value: &str) -> Result<(), IndicatorError> {
    if kind != Kind::Phone {
        return check_canonical(kind, value).map(|_| ());
    }
    check_size(kind, value)?;
    let canonical = phone::e164_once_without_country(value)?;
    match canonical == value {
        true => Ok(()),
        false => Err(invalid(
            kind,
            format!(
                "{} is not in canonical form (expected {})",
                crate::untrusted::quote(value),
                crate::untrusted::quote(&canonical)
            ),
        )),
    }
}

/// Validates `input` as an indicator of `kind` and returns its canonical form.
/// Checks that a received value is already in its kind's canonical form (a fixed
/// point of [`normalize`]); cheaper than normalising for phone numbers, which
/// need one parse here instead of the stability passes of `normalize`.
pub fn check_canonical(kind: Kind, value: &str) -> Result<Normalized, IndicatorError> {
    check_size(kind, value)?;
    let normalized = match kind {
        Kind::Phone => phone::normalize_once_without_country(value)?,
        // A job-ad value is the fingerprint itself, not the advert text.
        Kind::JobAd => text::check_jobad_fingerprint(value)?,
        // `platform:@name` is canonical (from `@@name`) but not a fixed point.
        Kind::Handle => text::normalize_handle_marked(value)?,
        _ => normalize(kind, value, &Context::default())?,
    };
    match normalized.value == value {
        true => Ok(normalized),
        false => Err(invalid(
            kind,
            format!(
                "{} is not in canonical form (expected {})",
                crate::untrusted::quote(value),
                crate::untrusted::quote(&normalized.value)
            ),
        )),
    }
}

pub fn normalize(kind: Kind, input: &str, ctx: &Context) -> Result<Normalized, IndicatorError> {
    check_size(kind, input)?;
    match kind {
        Kind::Phone => phone::normalize(input, ctx),
        Kind::Email => net::normalize_email(input),
        Kind::Domain => net::normalize_domain(input),
        Kind::Url => url::normalize(input),
        Kind::Ip => net::normalize_ip(input),
        Kind::Wallet => wallet::normalize(input),
        Kind::Iban => bank::normalize_iban(input),
        Kind::BankAccount => bank::normalize_bank_account(input),
        Kind::Handle => text::normalize_handle(input),
        Kind::JobAd => text::normalize_jobad(input),
        Kind::PHash => text::normalize_phash(input),
        Kind::Alias => text::normalize_alias(input),
        Kind::Location => location::normalize(input),
        Kind::Network => cidr::normalize(input),
        Kind::FileHash => filehash::normalize(input),
    }
}

/// What a canonical value is, derived from the value alone (never signed
/// separately): a wallet's coin (`tron`, `monero`, …), a file hash's algorithm
/// (`md5`, `sha1`, `sha256`). Shown in record views and carried by exports.
pub fn value_detail(kind: Kind, value: &str) -> Option<&'static str> {
    match kind {
        Kind::Wallet => coin_of(value).map(Coin::as_str),
        Kind::FileHash => hash_algorithm(value).map(HashAlgorithm::as_str),
        _ => None,
    }
}

/// Kinds that accept almost any text; `normalize_any` only falls back to them.
const CATCH_ALL_KINDS: [Kind; 3] = [Kind::Alias, Kind::Location, Kind::JobAd];

/// For search without a kind: every kind the input normalises as, ordered by
/// [`Kind`]. Alias, location and jobad accept nearly anything, so they are left
/// out unless nothing else matched; then only the alias interpretation is given.
pub fn normalize_any(input: &str, ctx: &Context) -> Vec<Normalized> {
    let matches: Vec<Normalized> = Kind::ALL
        .iter()
        .filter(|kind| !CATCH_ALL_KINDS.contains(kind))
        .filter_map(|&kind| normalize(kind, input, ctx).ok())
        .collect();
    if !matches.is_empty() {
        return matches;
    }
    normalize(Kind::Alias, input, ctx).into_iter().collect()
}

fn check_size(kind: Kind, input: &str) -> Result<(), IndicatorError> {
    let limit = match kind {
        Kind::JobAd => MAX_JOBAD_BYTES,
        _ => MAX_INPUT_BYTES,
    };
    if input.len() > limit {
        return Err(invalid(
            kind,
            format!("input is {} bytes; the limit is {limit} bytes", input.len()),
        ));
    }
    Ok(())
}
