//! What an import does not carry: the fields and tags of a file that no
//! Liaison record field holds, so that an import reports them instead of
//! dropping them silently.
//!
//! Owns [`Loss`] (one field or tag one item lost), [`LossKind`] (the closed set
//! of what can be lost, with the words the summary prints) and [`NotCarried`]
//! (the tally with a count and one example per kind). Every reader fills
//! [`ImportItem::not_carried`](super::ImportItem::not_carried); the import
//! command only adds them up. Must never decide what a reader carries: each
//! reader says what it dropped.

use std::collections::BTreeMap;

use crate::untrusted::shorten;

/// What kind of field or tag an item lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LossKind {
    /// A STIX label that names no Liaison label.
    Label,
    /// A STIX `indicator_types` value other than `malicious-activity` (what
    /// every Liaison indicator is) that names no Liaison label.
    IndicatorType,
    /// The producer (STIX `created_by_ref`, MISP `Orgc`) when its name could
    /// not be read: an identity not given before the object, or a name that is
    /// not one line of at most 200 characters.
    Producer,
    /// The original first-seen time (STIX `valid_from`, MISP `first_seen` /
    /// `timestamp`) when it could not be read or lies in the future.
    FirstSeen,
    /// A STIX statement marking (copyright, terms of use).
    StatementMarking,
    /// A STIX marking that is neither TLP nor a known statement.
    OtherMarking,
    /// A MISP galaxy tag (`misp-galaxy:…`).
    GalaxyTag,
    /// A MISP taxonomy tag (`namespace:predicate…`) other than `tlp:`.
    TaxonomyTag,
    /// Any other MISP tag that names no Liaison label.
    MispTag,
    /// A MISP category that maps to no Liaison label.
    MispCategory,
}

impl LossKind {
    /// Every kind, in the order the summary lists them.
    pub const ALL: [LossKind; 10] = [
        LossKind::Label,
        LossKind::IndicatorType,
        LossKind::Producer,
        LossKind::FirstSeen,
        LossKind::StatementMarking,
        LossKind::OtherMarking,
        LossKind::GalaxyTag,
        LossKind::TaxonomyTag,
        LossKind::MispTag,
        LossKind::MispCategory,
    ];

    /// The stable name in `--json` (`not_carried[].field`).
    pub fn as_str(self) -> &'static str {
        match self {
            LossKind::Label => "stix-label",
            LossKind::IndicatorType => "stix-indicator-type",
            LossKind::Producer => "producer",
            LossKind::FirstSeen => "first-seen",
            LossKind::StatementMarking => "stix-statement-marking",
            LossKind::OtherMarking => "stix-other-marking",
            LossKind::GalaxyTag => "misp-galaxy-tag",
            LossKind::TaxonomyTag => "misp-taxonomy-tag",
            LossKind::MispTag => "misp-tag",
            LossKind::MispCategory => "misp-category",
        }
    }

    /// Words for the plain summary.
    pub fn describe(self) -> &'static str {
        match self {
            LossKind::Label => "STIX labels that name no Liaison label",
            LossKind::IndicatorType => "STIX indicator_types other than malicious-activity",
            LossKind::Producer => "producers whose name could not be read",
            LossKind::FirstSeen => "first-seen times that could not be read or lie ahead",
            LossKind::StatementMarking => "STIX statement markings",
            LossKind::OtherMarking => "STIX markings that are neither TLP nor a statement",
            LossKind::GalaxyTag => "MISP galaxy tags",
            LossKind::TaxonomyTag => "MISP taxonomy tags",
            LossKind::MispTag => "MISP tags that name no Liaison label",
            LossKind::MispCategory => "MISP categories that map to no label",
        }
    }
}

/// One field or tag that one item does not carry, with what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub kind: LossKind,
    /// What the file said, cut short (see [`shorten`]) and shown escaped.
    pub example: String,
}

impl Loss {
    pub fn new(kind: LossKind, example: &str) -> Loss {
        Loss {
            kind,
            example: shorten(example),
        }
    }
}

/// The tally of what an import did not carry: per kind, how many times an
/// item lost one, and the first example.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotCarried {
    by_kind: BTreeMap<LossKind, (u64, String)>,
}

impl NotCarried {
    pub fn add(&mut self, loss: &Loss) {
        self.by_kind
            .entry(loss.kind)
            .or_insert_with(|| (0, loss.example.clone()))
            .0 += 1;
    }

    pub fn add_all(&mut self, losses: &[Loss]) {
        for loss in losses {
            self.add(loss);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }

    /// Each kind lost, with its count and first example, in [`LossKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (LossKind, u64, &str)> + '_ {
        self.by_kind
            .iter()
            .map(|(kind, (count, example))| (*kind, *count, example.as_str()))
    }

    /// How many of this kind were lost.
    pub fn count(&self, kind: LossKind) -> u64 {
        self.by_kind.get(&kind).map_or(0, |(count, _)| *count)
    }
}
