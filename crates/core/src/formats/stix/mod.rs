//! STIX 2.1 bundles: indicators with patterns and cyber observables (SCOs).
//!
//! Owns the mapping between Liaison kinds and STIX object types/patterns, the
//! TLP 2.0 marking-definition ids, and Liaison's own extension definitions
//! (ids of its own, schemas shipped in the repository). Must never invent ids
//! for official objects (the TLP markings keep the ids OASIS gave them), nor
//! publish under another publisher's ids.
//!
//! | kind | STIX object : property |
//! | --- | --- |
//! | phone | `phone-number:value` (Liaison extension) |
//! | email | `email-addr:value` |
//! | domain | `domain-name:value` |
//! | url | `url:value` |
//! | ip | `ipv4-addr:value` / `ipv6-addr:value` |
//! | wallet | `cryptocurrency-wallet:value` (Liaison extension; `address` read too) |
//! | iban | `bank-account:iban` (Liaison extension) |
//! | bank-account | `bank-account:account_number` (`CC:number`, Liaison extension) |

pub mod pattern;
mod read;
mod report;
mod write;

pub use read::{read, StixReader};
pub use report::report_object;
pub use write::{fixed_objects, indicator_object, origin_identity, origin_identity_id, StixWriter};

use crate::indicator::{hash_algorithm, HashAlgorithm, Kind};
use crate::record::Tlp;

/// Largest single STIX object read (bytes of JSON); larger ones are reported.
pub const MAX_OBJECT_BYTES: usize = 1024 * 1024;

/// The TLP 2.0 extension every official TLP 2.0 marking-definition declares.
pub(crate) const TLP2_EXTENSION: &str =
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The official TLP 2.0 marking-definition ids (OASIS cti-stix-common-objects).
pub const TLP_MARKINGS: [(Tlp, &str); 5] = [
    (
        Tlp::Clear,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        Tlp::Green,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        Tlp::Amber,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        Tlp::AmberStrict,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    ),
    (
        Tlp::Red,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

/// The TLP 1.0 markings STIX 2.1 predefines, still common in feeds.
const TLP1_MARKINGS: [(Tlp, &str); 4] = [
    (
        Tlp::Clear,
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        Tlp::Green,
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        Tlp::Amber,
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        Tlp::Red,
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

pub(crate) fn marking_id(tlp: Tlp) -> &'static str {
    TLP_MARKINGS
        .iter()
        .find(|(t, _)| *t == tlp)
        .map_or(TLP_MARKINGS[4].1, |(_, id)| id)
}

/// The most restrictive TLP among the marking refs (TLP 2.0 or 1.0 ids).
pub(crate) fn tlp_of_markings(refs: &[String]) -> Option<Tlp> {
    refs.iter()
        .filter_map(|r| {
            TLP_MARKINGS
                .iter()
                .chain(TLP1_MARKINGS.iter())
                .find(|(_, id)| id == r)
                .map(|(tlp, _)| *tlp)
        })
        .max()
}

/// Liaison's own extension definitions for the SCOs STIX 2.1 lacks: the SCO
/// type, the definition's name, and its properties. Their ids are UUIDv5 of
/// the SCO type ([`sco_extension_id`]), their author is Liaison's identity,
/// and their JSON schemas ship in the repository under [`SCHEMA_DIR`] (the
/// `schema` property names the file). The type and property names follow the
/// community's (muchdogesec/stix2extensions: `cryptocurrency-wallet:value`),
/// so their readers understand the patterns; the definitions are Liaison's own.
pub const SCO_EXTENSIONS: [(&str, &str, &[&str]); 3] = [
    ("phone-number", "Liaison phone-number", &["value"]),
    (
        "cryptocurrency-wallet",
        "Liaison cryptocurrency-wallet",
        &["value"],
    ),
    (
        "bank-account",
        "Liaison bank-account",
        &["iban", "account_number"],
    ),
];

/// Where the extension definitions' JSON schemas are, in the repository.
pub const SCHEMA_DIR: &str = "docs/stix/extensions/";

/// The extension definition of a Liaison SCO (`phone-number`, …).
pub fn sco_extension_id(sco: &str) -> String {
    format!(
        "extension-definition--{}",
        crate::formats::stable_uuid("extension", format!("sco:{sco}").as_bytes())
    )
}

/// The `schema` property of a Liaison extension definition: its schema file.
pub fn schema_reference(file: &str) -> String {
    format!("JSON schema {SCHEMA_DIR}{file}.json in the Liaison source (version 1.0)")
}

/// The STIX object type and property a kind's value lives in; `None` for kinds
/// STIX has no object for (handle, jobad, phash, alias, location). A network
/// range is written as an `ipv4-addr`/`ipv6-addr` value in CIDR form, a file
/// hash as `file:hashes.'MD5'`, `'SHA-1'` or `'SHA-256'` by its length.
pub fn object_property(kind: Kind, value: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        Kind::Phone => ("phone-number", "value"),
        Kind::Email => ("email-addr", "value"),
        Kind::Domain => ("domain-name", "value"),
        Kind::Url => ("url", "value"),
        Kind::Ip | Kind::Network if value.contains(':') => ("ipv6-addr", "value"),
        Kind::Ip | Kind::Network => ("ipv4-addr", "value"),
        Kind::FileHash => match hash_algorithm(value)? {
            HashAlgorithm::Md5 => ("file", "hashes.'MD5'"),
            HashAlgorithm::Sha1 => ("file", "hashes.'SHA-1'"),
            HashAlgorithm::Sha256 => ("file", "hashes.'SHA-256'"),
        },
        Kind::Wallet => ("cryptocurrency-wallet", "value"),
        Kind::Iban => ("bank-account", "iban"),
        Kind::BankAccount => ("bank-account", "account_number"),
        _ => return None,
    })
}

/// The kind for a STIX object type and property (the inverse of [`object_property`]).
pub fn kind_of(object: &str, property: &str) -> Option<Kind> {
    Some(match (object, property) {
        ("phone-number", "value") => Kind::Phone,
        ("email-addr", "value") => Kind::Email,
        ("domain-name", "value") => Kind::Domain,
        ("url", "value") => Kind::Url,
        ("ipv4-addr" | "ipv6-addr", "value") => Kind::Ip,
        // `address`: the name before the community renamed it (still read).
        ("cryptocurrency-wallet", "value" | "address") => Kind::Wallet,
        ("bank-account", "iban") => Kind::Iban,
        ("bank-account", "account_number") => Kind::BankAccount,
        ("file", hashes) if hash_property(hashes).is_some() => Kind::FileHash,
        _ => return None,
    })
}

/// The algorithm a `file` property names: `hashes.'SHA-256'`, `hashes.MD5`.
fn hash_property(property: &str) -> Option<HashAlgorithm> {
    let name = property.strip_prefix("hashes.")?;
    HashAlgorithm::from_name(name.trim_matches('\''))
}

/// The kind and value a property's value becomes: an address with a
/// `/prefix` is a network range (STIX allows CIDR in `ipv4-addr:value` and
/// `ipv6-addr:value`), and a hash carries the algorithm its property names so
/// that the normaliser checks the length against it.
pub fn refine(kind: Kind, property: &str, value: String) -> (Kind, String) {
    match kind {
        Kind::Ip if value.contains('/') => (Kind::Network, value),
        Kind::FileHash => match hash_property(property) {
            Some(algorithm) => (kind, format!("{}:{value}", algorithm.stix_name())),
            None => (kind, value),
        },
        _ => (kind, value),
    }
}
