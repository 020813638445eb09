//! The indicator kinds, their stable names and their stable numeric codes.
//!
//! The codes are used as index-key prefixes and equal the protobuf enum numbers,
//! so they must never be renumbered; new kinds get new codes at the end.

use std::fmt;
use std::str::FromStr;

use super::IndicatorError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Phone,
    Email,
    Domain,
    Url,
    Ip,
    Wallet,
    Iban,
    BankAccount,
    Handle,
    JobAd,
    PHash,
    Alias,
    Location,
    /// A CIDR range of IP addresses (`198.51.100.0/24`).
    Network,
    /// An MD5, SHA-1 or SHA-256 file hash (algorithm from the length).
    FileHash,
}

impl Kind {
    /// Every kind, in code order.
    pub const ALL: [Kind; 15] = [
        Kind::Phone,
        Kind::Email,
        Kind::Domain,
        Kind::Url,
        Kind::Ip,
        Kind::Wallet,
        Kind::Iban,
        Kind::BankAccount,
        Kind::Handle,
        Kind::JobAd,
        Kind::PHash,
        Kind::Alias,
        Kind::Location,
        Kind::Network,
        Kind::FileHash,
    ];

    /// The canonical lower-case name, as used on the command line and in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Ip => "ip",
            Kind::Wallet => "wallet",
            Kind::Iban => "iban",
            Kind::BankAccount => "bank-account",
            Kind::Handle => "handle",
            Kind::JobAd => "jobad",
            Kind::PHash => "phash",
            Kind::Alias => "alias",
            Kind::Location => "location",
            Kind::Network => "network",
            Kind::FileHash => "file-hash",
        }
    }

    /// Stable code 1..=15 (the protobuf enum number; 0 is "unspecified" there).
    pub fn code(self) -> u8 {
        match self {
            Kind::Phone => 1,
            Kind::Email => 2,
            Kind::Domain => 3,
            Kind::Url => 4,
            Kind::Ip => 5,
            Kind::Wallet => 6,
            Kind::Iban => 7,
            Kind::BankAccount => 8,
            Kind::Handle => 9,
            Kind::JobAd => 10,
            Kind::PHash => 11,
            Kind::Alias => 12,
            Kind::Location => 13,
            Kind::Network => 14,
            Kind::FileHash => 15,
        }
    }

    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// Alternative spellings analysts are likely to type.
const ALIASES: [(&str, Kind); 10] = [
    ("bank_account", Kind::BankAccount),
    ("bankaccount", Kind::BankAccount),
    ("job-ad", Kind::JobAd),
    ("job_ad", Kind::JobAd),
    ("image-hash", Kind::PHash),
    ("image_hash", Kind::PHash),
    ("cidr", Kind::Network),
    ("ip-range", Kind::Network),
    ("file_hash", Kind::FileHash),
    ("filehash", Kind::FileHash),
];

impl FromStr for Kind {
    type Err = IndicatorError;

    /// Accepts the canonical names and a few aliases, ignoring case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let lower = name.trim().to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == lower)
            .or_else(|| {
                ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == lower)
                    .map(|(_, kind)| *kind)
            })
            .ok_or_else(|| IndicatorError::UnknownKind(name.to_string()))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
