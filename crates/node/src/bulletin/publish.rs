//! Publishing a bulletin: members resolved (full ids or unique prefixes) among
//! the indicators this node holds, committed with fresh salts, signed, and
//! stored in one durable write together with the openings.

use crate::node::Node;
use crate::{Error, Result};
use liaison_core::record::{
    check_bulletin, Body, Bulletin, HandlingCode, Label, NodeId, RecordId, Tlp,
};

const MS_PER_DAY: i64 = 86_400_000;
/// Fewest hex digits accepted for a member id prefix.
const MIN_PREFIX: usize = 8;

/// An analyst's bulletin before it is signed.
#[derive(Debug, Clone, Default)]
pub struct BulletinDraft {
    pub title: String,
    pub summary: String,
    pub modus_operandi: String,
    pub labels: Vec<Label>,
    /// ISO 3166 alpha-2 (any case).
    pub countries: Vec<String>,
    /// Record ids of the grouped indicators: full hex or unique prefixes.
    pub members: Vec<String>,
    pub tlp: Option<Tlp>,
    pub handling: Vec<HandlingCode>,
    pub handling_note: String,
    pub recipients: Vec<NodeId>,
    /// Days of validity; None means the node's default.
    pub valid_days: Option<u32>,
}

impl Node {
    /// Validates, commits to the members, signs and durably stores a bulletin
    /// with its openings (one write).
    pub async fn publish_bulletin(
        &self,
        draft: BulletinDraft,
    ) -> Result<liaison_core::record::VerifiedRecord> {
        let created_ms = liaison_core::now_ms();
        let members = self.resolve_members(&draft.members)?;
        let (commitments, openings) = super::commit_members(&members);
        let days = i64::from(draft.valid_days.unwrap_or(self.config.default_valid_days));
        let max_days = self.config.max_retention_days;
        if days > i64::from(max_days) {
            return Err(Error::InvalidRequest(format!(
                "valid_days: {days} days is longer than this node keeps any record (max_retention_days = {max_days})"
            )));
        }
        let countries = draft
            .countries
            .iter()
            .map(|c| liaison_core::record::check_country(c))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let bulletin = Bulletin {
            title: draft.title,
            summary: draft.summary,
            modus_operandi: draft.modus_operandi,
            labels: draft.labels,
            countries,
            members: commitments,
            tlp: draft
                .tlp
                .ok_or_else(|| Error::InvalidRequest("tlp: missing".into()))?,
            handling: draft.handling,
            handling_note: draft.handling_note,
            recipients: draft.recipients,
            valid_until_ms: created_ms.saturating_add(days.saturating_mul(MS_PER_DAY)),
        };
        check_bulletin(&bulletin)?;
        let record = self.sign_own(Body::Bulletin(bulletin), created_ms)?;
        self.commit_own(
            vec![record.clone()],
            vec![(record.id, openings)],
            created_ms,
        )
        .await?;
        Ok(record)
    }

    /// Each given id resolved to one held, live indicator; duplicates refused.
    fn resolve_members(&self, given: &[String]) -> Result<Vec<RecordId>> {
        if given.is_empty() {
            return Err(Error::InvalidRequest(
                "members: a bulletin groups at least one indicator (--indicator ID)".into(),
            ));
        }
        liaison_core::record::check_count(
            "members",
            given.len(),
            liaison_core::record::bulletin_bounds::MAX_MEMBERS,
        )?;
        let mut members = Vec::with_capacity(given.len());
        for text in given {
            let id = self.resolve_record(text)?;
            let stored = self
                .store
                .get(&id)?
                .ok_or_else(|| Error::NotFound(id.to_hex()))?;
            if stored.record.payload.indicator().is_none() {
                return Err(Error::InvalidRequest(format!(
                    "members: {} is not an indicator record",
                    id.short()
                )));
            }
            if self.store.is_tombstoned_by(&id, &stored.record.origin())? {
                return Err(Error::InvalidRequest(format!(
                    "members: {} was revoked by its origin; a bulletin groups live indicators only",
                    id.short()
                )));
            }
            if self
                .store
                .expires_ms(&stored)
                .is_some_and(|t| t <= liaison_core::now_ms())
            {
                return Err(Error::InvalidRequest(format!(
                    "members: {} is past its valid-until; a bulletin groups live indicators only",
                    id.short()
                )));
            }
            if members.contains(&id) {
                return Err(Error::InvalidRequest(format!(
                    "members: {} is given twice",
                    id.short()
                )));
            }
            members.push(id);
        }
        Ok(members)
    }

    /// A record id from its full hex form or a unique prefix of 8+ hex digits.
    pub fn resolve_record(&self, given: &str) -> Result<RecordId> {
        let wanted = given.trim().to_ascii_lowercase();
        let quoted = liaison_core::untrusted::quote(given);
        if wanted.len() < MIN_PREFIX
            || wanted.len() > 64
            || !wanted.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(Error::InvalidRequest(format!(
                "members: {quoted} is not a record id (64 hex digits) or a prefix of at least {MIN_PREFIX}"
            )));
        }
        let found = self.store.records_with_prefix(&wanted, 2)?;
        match found.as_slice() {
            [id] => Ok(*id),
            [] => Err(Error::NotFound(format!(
                "{wanted}: this node holds no record with that id (members)"
            ))),
            _ => Err(Error::InvalidRequest(format!(
                "members: {wanted} matches more than one record; give more digits"
            ))),
        }
    }
}
