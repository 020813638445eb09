//! One MISP attribute read into entries: its type to a kind (the table in
//! [`super`]), composite values split (`domain|ip` into two items, a `…|port`
//! type's port kept in the description), a scheme-less URL read as `http://`,
//! markings and tags. Owns the attribute's decoding; must never guess a kind
//! for a type outside the table (such attributes are skipped, naming their
//! object and relation).

use serde::Deserialize;
use serde_json::Value;

use super::provenance::{provenance, tag_loss, Found};
use super::read::{Event, MispReader, Tag};
use super::{
    kind_for, machine_tag, refine, tlp_for_distribution, tlp_for_tag, BANK_ACCOUNT_TYPE,
    DOMAIN_IP_TYPE,
};
use crate::formats::time::parse_ms;
use crate::formats::{Entry, ImportItem, Location, Loss, Skipped, Validity};
use crate::indicator::Kind;
use crate::record::RecordError;
use crate::untrusted::quote;

#[derive(Deserialize)]
pub(super) struct Attribute {
    #[serde(rename = "type")]
    kind: String,
    value: String,
    #[serde(default)]
    comment: String,
    distribution: Option<Value>,
    #[serde(default)]
    deleted: Value,
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
    /// Its role in its object (e.g. `iban` in a `bank-account` object).
    object_relation: Option<String>,
    #[serde(default)]
    category: String,
    /// ISO 8601 (MISP 2.4.120 and later); null when not set.
    first_seen: Option<String>,
    /// Unix seconds, as a string or a number.
    timestamp: Option<Value>,
}

impl<R: std::io::Read> MispReader<R> {
    pub(super) fn attribute(
        &mut self,
        event: &Event,
        location: Location,
        attribute: Attribute,
        object: Option<&str>,
    ) -> Result<Entry, (&'static str, String)> {
        let skipped = |what: String| {
            let context = match (object, &attribute.object_relation) {
                (Some(name), Some(relation)) => {
                    format!(" (object {}, relation {})", quote(name), quote(relation))
                }
                (Some(name), None) => format!(" (object {})", quote(name)),
                _ => String::new(),
            };
            Ok(Entry::Skipped(Skipped {
                location: location.clone(),
                what: format!("{what}{context}"),
            }))
        };
        if truthy(&attribute.deleted) {
            return skipped("a deleted attribute".into());
        }
        let tags = || {
            attribute
                .tags
                .iter()
                .chain(event.tags.iter())
                .map(|t| t.name.as_str())
        };
        let tagged_kind = tags().find_map(|t| machine_tag(t, "kind"));
        let halves = match (attribute.kind.as_str(), tagged_kind) {
            ("text", Some(kind)) => vec![(
                kind.parse().map_err(|_| {
                    (
                        "type",
                        format!("liaison:kind {} is not a known kind", quote(kind)),
                    )
                })?,
                attribute.value.clone(),
            )],
            (BANK_ACCOUNT_TYPE, _) => vec![(Kind::BankAccount, attribute.value.clone())],
            (DOMAIN_IP_TYPE, _) => {
                let (domain, ip) = composite(&attribute.value, "domain|address")?;
                vec![
                    (Kind::Domain, domain.to_string()),
                    (Kind::Ip, ip.to_string()),
                ]
            }
            (other, _) => match kind_for(other) {
                Some(kind) => vec![(kind, attribute.value.clone())],
                None => return skipped(format!("MISP type {}", quote(other))),
            },
        };
        let mut entries = Vec::with_capacity(halves.len());
        for (kind, value) in halves {
            let item = self.item(event, &attribute, location.clone(), kind, value)?;
            entries.push(Entry::Item(item));
        }
        let mut entries = entries.into_iter();
        let first = entries.next().ok_or(("type", "no value".to_string()))?;
        self.pending.extend(entries);
        Ok(first)
    }

    /// One item of an attribute: its value (a `…|port` type's port moved to
    /// the description, a scheme-less URL read as `http://`), description,
    /// marking and tags.
    fn item(
        &mut self,
        event: &Event,
        attribute: &Attribute,
        location: Location,
        kind: Kind,
        mut value: String,
    ) -> Result<ImportItem, (&'static str, String)> {
        let mut port = None;
        if attribute.kind.ends_with("|port") {
            let (host, number) = composite(&value, "host|port")?;
            match number.parse::<u16>() {
                Ok(n) if n > 0 => port = Some(n),
                _ => {
                    return Err((
                        "value",
                        format!("port {} is not a number 1-65535", quote(number)),
                    ))
                }
            }
            value = host.to_string();
        }
        let (kind, mut value) = refine(&attribute.kind, kind, &value);
        let mut notes = Vec::new();
        if kind == Kind::Url && !value.contains("://") {
            // MISP lets a url attribute be written without its scheme.
            value = format!("http://{}", value.trim());
            notes.push("url: no scheme; http:// assumed".to_string());
        }
        if kind == Kind::BankAccount && !value.contains(':') {
            let country = attribute
                .tags
                .iter()
                .chain(event.tags.iter())
                .find_map(|t| machine_tag(&t.name, "country"))
                .map(str::to_string)
                .or_else(|| self.options.default_country.clone())
                .ok_or(("value", "bank-account-nr has no country: add a liaison:country=\"CC\" tag or give a default country".to_string()))?;
            value = format!("{country}:{value}");
        }
        let mut item = ImportItem::new(location, kind, value);
        item.notes = notes;
        provenance(
            &mut item,
            &Found {
                producer: event.orgc.as_ref().and_then(|o| o.name.as_deref()),
                first_seen: attribute.first_seen.as_deref(),
                timestamp: attribute.timestamp.as_ref(),
                category: &attribute.category,
                tags: attribute.tags.iter().map(|t| t.name.as_str()),
            },
        );
        item.description = match attribute.comment.is_empty() {
            true => event.info.clone(),
            false => attribute.comment.clone(),
        };
        if let Some(port) = port {
            item.description = match item.description.trim().is_empty() {
                true => format!("port {port}"),
                false => format!("{} (port {port})", item.description.trim()),
            };
        }
        item.tlp = attribute
            .tags
            .iter()
            .find_map(|t| tlp_for_tag(&t.name))
            .or_else(|| event.tags.iter().find_map(|t| tlp_for_tag(&t.name)))
            .or_else(|| level(&attribute.distribution).and_then(tlp_for_distribution))
            .or_else(|| level(&event.distribution).and_then(tlp_for_distribution));
        for tag in attribute.tags.iter().chain(event.tags.iter()) {
            self.tag(&mut item, &tag.name)?;
        }
        Ok(item)
    }

    /// Applies one tag to an item: labels and `liaison:` machine tags.
    fn tag(&mut self, item: &mut ImportItem, tag: &str) -> Result<(), (&'static str, String)> {
        let field = |e: RecordError| match e {
            RecordError::InvalidField { field, reason } => (field, reason),
            other => ("tag", other.to_string()),
        };
        if tlp_for_tag(tag).is_some() || tag.starts_with("tlp:") {
            return Ok(());
        }
        if let Some(label) = machine_tag(tag, "label")
            .or(Some(tag))
            .and_then(|l| l.parse().ok())
        {
            if !item.labels.contains(&label) {
                item.labels.push(label);
            }
            return Ok(());
        }
        if let Some(evaluation) = machine_tag(tag, "evaluation") {
            item.evaluation = Some(evaluation.parse().map_err(field)?);
        } else if let Some(code) = machine_tag(tag, "handling") {
            let code = code.parse().map_err(field)?;
            if !item.handling.contains(&code) {
                item.handling.push(code);
            }
        } else if let Some(note) = machine_tag(tag, "handling-note") {
            item.handling_note = note.to_string();
        } else if let Some(case) = machine_tag(tag, "case") {
            item.case_reference = case.to_string();
        } else if let Some(until) = machine_tag(tag, "valid-until") {
            item.validity = Some(Validity::UntilMs(
                parse_ms(until).map_err(|r| ("valid_until", r))?,
            ));
        } else if let Some(source) = machine_tag(tag, "source") {
            item.set_source(source);
        } else if !(tag.starts_with("liaison:kind=")
            || tag.starts_with("liaison:country=")
            // Derived from the value again on import: nothing is lost.
            || tag.starts_with("liaison:coin="))
        {
            self.ignored_tags += 1;
            item.not_carried.push(Loss::new(tag_loss(tag), tag));
        }
        Ok(())
    }
}

/// The two halves of a composite value `left|right` (both non-empty).
fn composite<'a>(
    value: &'a str,
    shape: &str,
) -> Result<(&'a str, &'a str), (&'static str, String)> {
    match value.split_once('|') {
        Some((left, right)) if !left.trim().is_empty() && !right.trim().is_empty() => {
            Ok((left.trim(), right.trim()))
        }
        _ => Err(("value", format!("{} is not {shape}", quote(value)))),
    }
}

/// A distribution level written as a number or a string.
fn level(value: &Option<Value>) -> Option<u8> {
    match value.as_ref()? {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() != Some(0),
        Value::String(s) => !matches!(s.as_str(), "" | "0" | "false"),
        _ => false,
    }
}
