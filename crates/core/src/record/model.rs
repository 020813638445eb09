//! The domain model of a record's content: what an agency asserts and the markings
//! that travel with it. Plain data; no wire types, no I/O.

use std::fmt;
use std::str::FromStr;

use super::{NodeId, RecordError, RecordId};
use crate::indicator::Kind;
use crate::untrusted::quote;

/// Traffic Light Protocol 2.0, ordered from least to most restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// Whether a receiver may pass a record with this marking on to its own partners.
    pub fn is_relayable(self) -> bool {
        matches!(self, Tlp::Clear | Tlp::Green)
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().to_uppercase())
    }
}

impl FromStr for Tlp {
    type Err = RecordError;
    fn from_str(s: &str) -> Result<Self, RecordError> {
        let wanted = s.trim().to_ascii_lowercase();
        let wanted = wanted.strip_prefix("tlp:").unwrap_or(&wanted);
        let wanted = if wanted == "amber_strict" {
            "amber+strict"
        } else {
            wanted
        };
        Tlp::ALL
            .into_iter()
            .find(|t| t.as_str() == wanted)
            .ok_or_else(|| {
                RecordError::field(
                    "tlp",
                    format!(
                        "{} is not one of clear, green, amber, amber+strict, red",
                        quote(s)
                    ),
                )
            })
    }
}

/// SIENA-style handling codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HandlingCode {
    /// Law-enforcement use only.
    H0,
    /// Not for court proceedings without the originator's permission.
    H1,
    /// No onward sharing without permission: never relayed.
    H2,
    /// Free-text restriction.
    H3,
}

impl FromStr for HandlingCode {
    type Err = RecordError;
    fn from_str(s: &str) -> Result<Self, RecordError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "H0" => Ok(HandlingCode::H0),
            "H1" => Ok(HandlingCode::H1),
            "H2" => Ok(HandlingCode::H2),
            "H3" => Ok(HandlingCode::H3),
            _ => Err(RecordError::field(
                "handling",
                format!("{} is not one of H0, H1, H2, H3", quote(s)),
            )),
        }
    }
}

impl fmt::Display for HandlingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Source reliability in the 4x4 evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reliability {
    A,
    B,
    C,
    X,
}

/// The 4x4 evaluation police use: source reliability and information accuracy (1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Evaluation {
    pub reliability: Reliability,
    pub accuracy: u8,
}

impl Evaluation {
    /// "X4": not evaluated.
    pub const UNEVALUATED: Evaluation = Evaluation {
        reliability: Reliability::X,
        accuracy: 4,
    };

    pub fn new(reliability: &str, accuracy: u32) -> Result<Self, RecordError> {
        let reliability = match reliability.trim().to_ascii_uppercase().as_str() {
            "A" => Reliability::A,
            "B" => Reliability::B,
            "C" => Reliability::C,
            "X" => Reliability::X,
            other => {
                return Err(RecordError::field(
                    "evaluation",
                    format!(
                        "source reliability {} is not one of A, B, C, X",
                        quote(other)
                    ),
                ))
            }
        };
        if !(1..=4).contains(&accuracy) {
            return Err(RecordError::field(
                "evaluation",
                format!("information accuracy {accuracy} is not between 1 and 4"),
            ));
        }
        Ok(Evaluation {
            reliability,
            accuracy: accuracy as u8,
        })
    }

    pub fn reliability_str(&self) -> &'static str {
        match self.reliability {
            Reliability::A => "A",
            Reliability::B => "B",
            Reliability::C => "C",
            Reliability::X => "X",
        }
    }
}

impl FromStr for Evaluation {
    type Err = RecordError;
    /// Parses the usual two-character form, e.g. "B2".
    fn from_str(s: &str) -> Result<Self, RecordError> {
        let s = s.trim();
        let mut chars = s.chars();
        match (chars.next(), chars.next(), chars.next()) {
            (Some(r), Some(a), None) if a.is_ascii_digit() => {
                Evaluation::new(&r.to_string(), a.to_digit(10).unwrap_or(0))
            }
            _ => Err(RecordError::field(
                "evaluation",
                format!(
                    "{} is not of the form A1..X4 (reliability A/B/C/X, accuracy 1-4)",
                    quote(s)
                ),
            )),
        }
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.reliability_str(), self.accuracy)
    }
}

/// Crime areas an indicator is tied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    ScamCentre,
    HumanTrafficking,
    RomanceScam,
    Sextortion,
    Fraud,
    Drugs,
    Firearms,
    Wildlife,
    MoneyLaundering,
}

impl Label {
    pub const ALL: [Label; 9] = [
        Label::ScamCentre,
        Label::HumanTrafficking,
        Label::RomanceScam,
        Label::Sextortion,
        Label::Fraud,
        Label::Drugs,
        Label::Firearms,
        Label::Wildlife,
        Label::MoneyLaundering,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::ScamCentre => "scam-centre",
            Label::HumanTrafficking => "human-trafficking",
            Label::RomanceScam => "romance-scam",
            Label::Sextortion => "sextortion",
            Label::Fraud => "fraud",
            Label::Drugs => "drugs",
            Label::Firearms => "firearms",
            Label::Wildlife => "wildlife",
            Label::MoneyLaundering => "money-laundering",
        }
    }
}

impl FromStr for Label {
    type Err = RecordError;
    fn from_str(s: &str) -> Result<Self, RecordError> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        let wanted = if wanted == "scam-center" {
            "scam-centre".to_string()
        } else {
            wanted
        };
        Label::ALL
            .into_iter()
            .find(|l| l.as_str() == wanted)
            .ok_or_else(|| {
                let known: Vec<_> = Label::ALL.iter().map(|l| l.as_str()).collect();
                RecordError::field(
                    "labels",
                    format!("{} is not one of {}", quote(s), known.join(", ")),
                )
            })
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An indicator with every marking that must travel with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Indicator {
    pub kind: Kind,
    pub value: String,
    pub labels: Vec<Label>,
    pub tlp: Tlp,
    pub handling: Vec<HandlingCode>,
    pub handling_note: String,
    pub evaluation: Evaluation,
    pub valid_until_ms: i64,
    pub description: String,
    pub case_reference: String,
    pub recipients: Vec<NodeId>,
    pub supersedes: Option<RecordId>,
    pub outside_known_ranges: bool,
    /// Who first reported it, when another producer did (an imported file's
    /// producer); empty when the origin agency itself is the source. Provenance
    /// only: the origin agency signs.
    pub source: String,
    /// When it was first seen (ms since the epoch), when stated.
    pub first_seen_ms: Option<i64>,
}

impl Indicator {
    /// H2: no onward sharing without the originator's permission.
    pub fn forbids_relay(&self) -> bool {
        self.handling.contains(&HandlingCode::H2)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub record_id: RecordId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub record_id: RecordId,
    pub note: String,
    /// What the sighter asserts; records from before sighting types decode as `Seen`.
    pub kind: SightingType,
}

/// What a sighting asserts about the record it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SightingType {
    /// "We saw this indicator too": strengthens it.
    #[default]
    Seen,
    /// "This indicator is wrong": weakens it; counted apart and told to the origin.
    FalsePositive,
    /// "This indicator is no longer in use."
    Expired,
}

impl SightingType {
    pub const ALL: [SightingType; 3] = [
        SightingType::Seen,
        SightingType::FalsePositive,
        SightingType::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SightingType::Seen => "seen",
            SightingType::FalsePositive => "false-positive",
            SightingType::Expired => "expired",
        }
    }
}

impl fmt::Display for SightingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SightingType {
    type Err = RecordError;
    /// Empty means the default, "seen"; `_` and `-` are interchangeable.
    fn from_str(s: &str) -> Result<Self, RecordError> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        if wanted.is_empty() {
            return Ok(SightingType::Seen);
        }
        SightingType::ALL
            .into_iter()
            .find(|t| t.as_str() == wanted)
            .ok_or_else(|| {
                RecordError::field(
                    "type",
                    format!("{} is not one of seen, false-positive, expired", quote(s)),
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Indicator(Indicator),
    Revocation(Revocation),
    Sighting(Sighting),
    Bulletin(Bulletin),
}

/// What the origin signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub origin: NodeId,
    pub sequence: u64,
    pub created_ms: i64,
    pub body: Body,
}

impl Payload {
    pub fn indicator(&self) -> Option<&Indicator> {
        match &self.body {
            Body::Indicator(indicator) => Some(indicator),
            _ => None,
        }
    }
}

/// A bulletin grouping indicators (issue 15). Members are commitments
/// (`crate::bulletin`), never record ids: one signed body serves partners who may
/// see different subsets of the members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bulletin {
    pub title: String,
    pub summary: String,
    pub modus_operandi: String,
    pub labels: Vec<Label>,
    /// ISO 3166 alpha-2, upper case.
    pub countries: Vec<String>,
    /// One commitment per member, in the origin's order.
    pub members: Vec<[u8; 32]>,
    pub tlp: Tlp,
    pub handling: Vec<HandlingCode>,
    pub handling_note: String,
    pub recipients: Vec<NodeId>,
    pub valid_until_ms: i64,
}

impl Payload {
    pub fn bulletin(&self) -> Option<&Bulletin> {
        match &self.body {
            Body::Bulletin(bulletin) => Some(bulletin),
            _ => None,
        }
    }
}
