//! The command line's names for the core's enumerations (with the `clap`
//! feature): clap `ValueEnum` for kind, TLP, handling code, label, sighting type,
//! partner kind and file format, so `--help`, the error for a wrong value and the
//! shell completions all list the allowed values.
//!
//! Only names live here: each value is the domain type's canonical spelling
//! (`as_str`), with the aliases its `FromStr` already accepted. This module must
//! never hold a rule of its own about what a value means.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::formats::Format;
use crate::indicator::Kind;
use crate::record::{HandlingCode, Label, SightingType, Tlp};

impl ValueEnum for Kind {
    fn value_variants<'a>() -> &'a [Self] {
        &Kind::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.as_str());
        Some(match self {
            Kind::BankAccount => value.aliases(["bank_account", "bankaccount"]),
            Kind::JobAd => value.aliases(["job-ad", "job_ad"]),
            Kind::PHash => value.aliases(["image-hash", "image_hash"]),
            Kind::Wallet => value.help(
                "Tron, Ethereum, Bitcoin, Litecoin, Bitcoin Cash, Monero, Dogecoin, Dash or Solana address",
            ),
            Kind::Network => value
                .aliases(["cidr", "ip-range"])
                .help("CIDR range, e.g. 198.51.100.0/24"),
            Kind::FileHash => value
                .aliases(["file_hash", "filehash"])
                .help("MD5, SHA-1 or SHA-256 in hex"),
            _ => value,
        })
    }
}

impl ValueEnum for Tlp {
    fn value_variants<'a>() -> &'a [Self] {
        &Tlp::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.as_str());
        Some(match self {
            Tlp::Clear => value.alias("tlp:clear"),
            Tlp::Green => value.alias("tlp:green"),
            Tlp::Amber => value.alias("tlp:amber"),
            Tlp::AmberStrict => {
                value.aliases(["amber_strict", "tlp:amber+strict", "tlp:amber_strict"])
            }
            Tlp::Red => value
                .alias("tlp:red")
                .help("named recipients only (--recipient)"),
        })
    }
}

const HANDLING: [HandlingCode; 4] = [
    HandlingCode::H0,
    HandlingCode::H1,
    HandlingCode::H2,
    HandlingCode::H3,
];

impl ValueEnum for HandlingCode {
    fn value_variants<'a>() -> &'a [Self] {
        &HANDLING
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let (name, help) = match self {
            HandlingCode::H0 => ("H0", "law-enforcement use only"),
            HandlingCode::H1 => (
                "H1",
                "not for court proceedings without the originator's permission",
            ),
            HandlingCode::H2 => ("H2", "no onward sharing without permission (never relayed)"),
            HandlingCode::H3 => ("H3", "free-text restriction (--handling-note)"),
        };
        Some(PossibleValue::new(name).help(help))
    }
}

impl ValueEnum for Label {
    fn value_variants<'a>() -> &'a [Self] {
        &Label::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        // The spellings `Label::from_str` accepts: `_` for `-`, and "center".
        let value = PossibleValue::new(self.as_str());
        Some(match self {
            Label::ScamCentre => value.aliases(["scam-center", "scam_centre", "scam_center"]),
            Label::HumanTrafficking => value.alias("human_trafficking"),
            Label::RomanceScam => value.alias("romance_scam"),
            Label::MoneyLaundering => value.alias("money_laundering"),
            _ => value,
        })
    }
}

impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[Format::Csv, Format::Misp, Format::Stix]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Format::Csv => {
                PossibleValue::new("csv").help("RFC 4180 CSV (columns in docs/INTEROP.md)")
            }
            Format::Misp => PossibleValue::new("misp").help("a MISP event (JSON)"),
            Format::Stix => PossibleValue::new("stix")
                .aliases(["stix2", "stix2.1"])
                .help("a STIX 2.1 bundle"),
        })
    }
}

impl ValueEnum for SightingType {
    fn value_variants<'a>() -> &'a [Self] {
        &SightingType::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.as_str());
        Some(match self {
            SightingType::FalsePositive => value.aliases(["false_positive", "fp"]),
            _ => value,
        })
    }
}

impl ValueEnum for crate::policy::PartnerKind {
    fn value_variants<'a>() -> &'a [Self] {
        &crate::policy::PartnerKind::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clap spelling of every value is the one the domain parses back.
    #[test]
    fn every_value_round_trips_through_from_str() {
        fn check<T: ValueEnum + std::str::FromStr + PartialEq + std::fmt::Debug>() {
            for variant in T::value_variants() {
                let value = variant.to_possible_value().expect("named");
                for name in value.get_name_and_aliases() {
                    let parsed: T = name.parse().ok().expect("FromStr accepts the clap name");
                    assert_eq!(&parsed, variant, "{name}");
                }
            }
        }
        check::<Kind>();
        check::<Tlp>();
        check::<HandlingCode>();
        check::<Label>();
        check::<Format>();
    }
}
