//! MISP event JSON: attributes ↔ indicators, tags and distribution ↔ markings.
//!
//! Owns the MISP type ↔ kind table, the distribution ↔ TLP table and the
//! `liaison:` machine tags that carry what MISP has no field for. Must never
//! guess a kind for a MISP type outside the table (such attributes are
//! reported as skipped).
//!
//! Markings, most specific first: a `tlp:` tag on the attribute, a `tlp:` tag on
//! the event, the attribute's distribution (unless 5, "inherit"), the event's
//! distribution, else the import's default. Distributions map conservatively
//! (when unsure, the stricter marking): 0 your organisation only → AMBER+STRICT,
//! 1 this community only → AMBER, 2 connected communities → GREEN, 3 all
//! communities → CLEAR, 4 sharing group → AMBER.

mod attribute;
mod feed;
mod provenance;
mod read;
mod write;

pub use feed::feed_files;
pub use read::{read, MispReader, MAX_EVENT_BYTES};
pub use write::{attribute_value, MispWriter, REVOKED_TAG};

use crate::indicator::{coin_of, hash_algorithm, Coin, HashAlgorithm, Kind};
use crate::record::{Label, Tlp};

/// MISP categories that name a Liaison label; the label is added on import.
/// Other categories describe where a value was found, not the crime, and are
/// counted as not carried. An attribute with `liaison:` tags (a Liaison export,
/// which states its labels exactly) keeps only those labels.
pub const CATEGORY_LABELS: [(&str, Label); 1] = [("Financial fraud", Label::Fraud)];

/// The label a MISP category maps to (see [`CATEGORY_LABELS`]).
pub fn label_for_category(category: &str) -> Option<Label> {
    CATEGORY_LABELS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(category.trim()))
        .map(|(_, label)| *label)
}

/// MISP attribute types read, and the kind each becomes. `…|port` types keep
/// the part before the `|` (the port goes into the description),
/// `filename|…` types the hash after it. An `ip-src` or `ip-dst` value with a
/// `/prefix` is a network range; a hash type's value must have that
/// algorithm's length (see [`refine`]). `domain|ip` is [`DOMAIN_IP_TYPE`].
pub const TYPES: [(&str, Kind); 30] = [
    ("phone-number", Kind::Phone),
    ("prtn", Kind::Phone),
    ("whatsapp", Kind::Phone),
    ("whois-registrant-phone", Kind::Phone),
    ("email", Kind::Email),
    ("email-src", Kind::Email),
    ("email-dst", Kind::Email),
    ("email-reply-to", Kind::Email),
    ("target-email", Kind::Email),
    ("whois-registrant-email", Kind::Email),
    ("domain", Kind::Domain),
    ("hostname", Kind::Domain),
    ("url", Kind::Url),
    ("link", Kind::Url),
    ("uri", Kind::Url),
    ("ip-src", Kind::Ip),
    ("ip-dst", Kind::Ip),
    ("btc", Kind::Wallet),
    ("xmr", Kind::Wallet),
    ("dash", Kind::Wallet),
    ("iban", Kind::Iban),
    ("hostname|port", Kind::Domain),
    ("ip-src|port", Kind::Ip),
    ("ip-dst|port", Kind::Ip),
    ("md5", Kind::FileHash),
    ("sha1", Kind::FileHash),
    ("sha256", Kind::FileHash),
    ("filename|md5", Kind::FileHash),
    ("filename|sha1", Kind::FileHash),
    ("filename|sha256", Kind::FileHash),
];

/// The kind and value an attribute becomes, from its type's kind and its
/// value: the hash of a `filename|…` type, an address with a `/prefix` as a
/// network range, and a hash prefixed with its type's algorithm so that the
/// normaliser checks the length against it.
pub fn refine(misp_type: &str, kind: Kind, value: &str) -> (Kind, String) {
    let hashed = misp_type.strip_prefix("filename|").unwrap_or(misp_type);
    match kind {
        Kind::Ip if value.contains('/') => (Kind::Network, value.to_string()),
        Kind::FileHash => {
            let hex = match misp_type.starts_with("filename|") {
                true => value.rsplit('|').next().unwrap_or_default(),
                false => value,
            };
            (kind, format!("{hashed}:{}", hex.trim()))
        }
        _ => (kind, value.to_string()),
    }
}

/// Composite types: the value is `left|right`. `domain|ip` gives two items,
/// a domain and an address; the `…|port` types give one, the port kept in
/// its description (`port N`), never a value of its own.
pub const DOMAIN_IP_TYPE: &str = "domain|ip";

/// `bank-account-nr` becomes bank-account, with a country from a
/// `liaison:country` tag or the import's default country.
pub const BANK_ACCOUNT_TYPE: &str = "bank-account-nr";

/// What the writer uses for each kind: MISP type and category. Kinds MISP has no
/// type for are written as `text` with a `liaison:kind="…"` tag, which the reader
/// understands (plain `text` attributes are skipped).
pub fn type_for(kind: Kind, value: &str) -> (&'static str, &'static str) {
    match kind {
        Kind::Phone => ("phone-number", "Person"),
        Kind::Email => ("email", "Social network"),
        Kind::Domain => ("domain", "Network activity"),
        Kind::Url => ("url", "Network activity"),
        Kind::Ip | Kind::Network => ("ip-dst", "Network activity"),
        Kind::FileHash => match hash_algorithm(value) {
            Some(HashAlgorithm::Md5) => ("md5", "Payload delivery"),
            Some(HashAlgorithm::Sha1) => ("sha1", "Payload delivery"),
            Some(HashAlgorithm::Sha256) => ("sha256", "Payload delivery"),
            None => ("text", "Other"),
        },
        Kind::Wallet => match coin_of(value) {
            Some(Coin::Bitcoin) => ("btc", "Financial fraud"),
            Some(Coin::Monero) => ("xmr", "Financial fraud"),
            Some(Coin::Dash) => ("dash", "Financial fraud"),
            _ => ("text", "Other"),
        },
        Kind::Iban => ("iban", "Financial fraud"),
        Kind::BankAccount => (BANK_ACCOUNT_TYPE, "Financial fraud"),
        _ => ("text", "Other"),
    }
}

/// The kind of a MISP type in [`TYPES`].
pub fn kind_for(misp_type: &str) -> Option<Kind> {
    TYPES.iter().find(|(t, _)| *t == misp_type).map(|(_, k)| *k)
}

/// Distribution level → TLP (see the module doc); `None` for 5 (inherit) and unknown.
pub fn tlp_for_distribution(level: u8) -> Option<Tlp> {
    match level {
        0 => Some(Tlp::AmberStrict),
        1 | 4 => Some(Tlp::Amber),
        2 => Some(Tlp::Green),
        3 => Some(Tlp::Clear),
        _ => None,
    }
}

/// TLP → the distribution level written on export (the inverse, strict side).
pub fn distribution_for(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 3,
        Tlp::Green => 2,
        Tlp::Amber => 1,
        Tlp::AmberStrict | Tlp::Red => 0,
    }
}

/// `tlp:` tags (TLP 2.0 names, and `tlp:white` for CLEAR).
pub fn tlp_for_tag(tag: &str) -> Option<Tlp> {
    let lower = tag.trim().to_ascii_lowercase();
    let name = lower.strip_prefix("tlp:")?;
    match name {
        "white" => Some(Tlp::Clear),
        other => other.parse().ok(),
    }
}

/// The value of a `liaison:name="value"` machine tag.
pub(crate) fn machine_tag<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let rest = tag
        .strip_prefix("liaison:")?
        .strip_prefix(name)?
        .strip_prefix('=')?;
    rest.strip_prefix('"')?.strip_suffix('"')
}
