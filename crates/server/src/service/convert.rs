//! Conversion between API messages and domain values: requests in (fallible,
//! naming the field at fault), views out.

use liaison_core::proto;
use liaison_core::record::kind_from_wire;
use liaison_core::record::{
    check_count, Body, Evaluation, HandlingCode, NodeId, RecordError, RecordId, Tlp,
    VerifiedRecord, MAX_HANDLING_CODES, MAX_LABELS, MAX_RECIPIENTS,
};
use liaison_core::untrusted::quote;
use liaison_identity::identity::fingerprint;
use liaison_node::error::{Error, Result};
use liaison_node::node::{Draft, Node};
use liaison_store::store::{PartnerEntry, StoredRecord, SyncState};

pub fn record_id(text: &str) -> Result<RecordId> {
    text.parse::<RecordId>().map_err(|_| {
        Error::InvalidRequest(format!(
            "record_id: {} is not a 64-hex-digit record id",
            quote(text)
        ))
    })
}

fn node_id(field: &str, text: &str) -> Result<NodeId> {
    text.parse::<NodeId>().map_err(|_| {
        Error::InvalidRequest(format!(
            "{field}: {} is not a 64-hex-digit node id",
            quote(text)
        ))
    })
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

pub fn draft_from_publish(request: proto::PublishRequest) -> Result<Draft> {
    let kind = kind_from_wire(request.kind)?
        .ok_or_else(|| Error::InvalidRequest("kind: required".into()))?;
    let tlp = match request.tlp {
        0 => {
            return Err(Error::InvalidRequest(
                "tlp: required (clear, green, amber, amber+strict or red)".into(),
            ))
        }
        value => liaison_core::record::tlp_from_wire(value)?,
    };
    let handling = request
        .handling
        .iter()
        .map(|&h| liaison_core::record::handling_from_wire(h))
        .collect::<Result<Vec<HandlingCode>, RecordError>>()?;
    let evaluation = match non_empty(&request.evaluation) {
        Some(text) => text.parse()?,
        None => Evaluation::UNEVALUATED,
    };
    check_count("labels", request.labels.len(), MAX_LABELS)?;
    let labels = request
        .labels
        .iter()
        .map(|l| l.parse())
        .collect::<Result<Vec<_>, RecordError>>()?;
    check_count("recipients", request.recipients.len(), MAX_RECIPIENTS)?;
    let recipients = request
        .recipients
        .iter()
        .map(|r| node_id("recipients", r))
        .collect::<Result<Vec<_>>>()?;
    check_count("handling", request.handling.len(), MAX_HANDLING_CODES)?;
    let supersedes = match non_empty(&request.supersedes) {
        Some(text) => Some(record_id(&text).map_err(|_| {
            Error::InvalidRequest(format!("supersedes: {} is not a record id", quote(&text)))
        })?),
        None => None,
    };
    Ok(Draft {
        kind,
        value: request.value,
        default_country: non_empty(&request.default_country),
        labels: without_repeats(labels),
        tlp,
        handling: without_repeats(handling),
        handling_note: request.handling_note,
        evaluation,
        valid_days: (request.valid_days > 0).then_some(request.valid_days),
        valid_until_ms: (request.valid_until_unix_ms != 0).then_some(request.valid_until_unix_ms),
        description: request.description,
        case_reference: request.case_reference,
        recipients: without_repeats(recipients),
        supersedes,
        source: liaison_core::record::source_from_wire(request.source.trim().to_string())?,
        first_seen_ms: liaison_core::record::first_seen_from_wire(request.first_seen_unix_ms)?,
    })
}

/// The request field at fault and the reason, for per-item answers.
pub fn error_field(error: &Error) -> (String, String) {
    match error {
        Error::Indicator(e) => (e.field().to_string(), e.to_string()),
        Error::Record(RecordError::InvalidField { field, reason }) => {
            (field.to_string(), reason.clone())
        }
        other => {
            let text = other.to_string();
            match text.split_once(": ") {
                Some((field, reason)) if is_field_name(field) => {
                    (field.to_string(), reason.to_string())
                }
                _ => (String::new(), text),
            }
        }
    }
}

fn is_field_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// The same label, code or recipient given twice means it once.
fn without_repeats<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// A record for display. `source` is "local" or the partner that answered.
pub fn record_view(
    node: &Node,
    record: &VerifiedRecord,
    received_from: Option<NodeId>,
    source: &str,
) -> proto::RecordView {
    let summary = liaison_node::correlation::sighting_summary(node, &record.id).unwrap_or_default();
    let mut view = proto::RecordView {
        record_id: record.id.to_hex(),
        envelope: Some(record.envelope.to_wire()),
        origin: record.origin().to_hex(),
        origin_name: liaison_node::names::origin_name(node, &record.origin()),
        sequence: record.payload.sequence,
        created_unix_ms: record.payload.created_ms,
        indicator: record
            .payload
            .indicator()
            .map(liaison_core::record::indicator_to_wire),
        received_from: received_from.map(|n| n.to_hex()).unwrap_or_default(),
        sightings: summary.seen,
        last_sighting_unix_ms: summary.last_seen_ms,
        source: source.to_string(),
        body: body_name(&record.payload.body).to_string(),
        refers_to: refers_to(&record.payload.body)
            .map(|(id, _)| id.to_hex())
            .unwrap_or_default(),
        note: refers_to(&record.payload.body)
            .map(|(_, note)| note.to_string())
            .unwrap_or_default(),
        revoked: node
            .store
            .is_tombstoned_by(&record.id, &record.origin())
            .unwrap_or(false),
        false_positives: summary.false_positives,
        false_positive_by: summary
            .false_positive_by
            .iter()
            .map(|by| match liaison_node::names::origin_name(node, by) {
                name if name.is_empty() => by.short(),
                name => name,
            })
            .collect(),
        expired_sightings: summary.expired,
        warninglists: liaison_node::warninglist::record_matches(&node.store, record),
        sighting_type: match &record.payload.body {
            Body::Sighting(s) => s.kind.as_str().to_string(),
            _ => String::new(),
        },
        bulletins: liaison_node::bulletin::bulletin_refs(node, &record.id),
        value_detail: record
            .payload
            .indicator()
            .and_then(|i| liaison_core::indicator::value_detail(i.kind, &i.value))
            .unwrap_or_default()
            .to_string(),
        ..Default::default()
    };
    liaison_node::platform::annotate(node, record, &mut view);
    view
}

fn body_name(body: &Body) -> &'static str {
    match body {
        Body::Indicator(_) => "indicator",
        Body::Revocation(_) => "revocation",
        Body::Sighting(_) => "sighting",
        Body::Bulletin(_) => "bulletin",
    }
}

fn refers_to(body: &Body) -> Option<(RecordId, &str)> {
    match body {
        Body::Indicator(_) | Body::Bulletin(_) => None,
        Body::Revocation(r) => Some((r.record_id, r.reason.as_str())),
        Body::Sighting(s) => Some((s.record_id, s.note.as_str())),
    }
}

pub fn stored_view(node: &Node, stored: &StoredRecord) -> proto::RecordView {
    record_view(node, &stored.record, stored.received_from, "local")
}

pub fn partner_info(
    entry: &PartnerEntry,
    state: &SyncState,
    connection: String,
    tls_cert_der: &[u8],
    id: &NodeId,
    stated: (Option<liaison_node::sync::compat::PeerVersion>, String),
) -> proto::PartnerInfo {
    let (version, compatibility) = stated;
    let version = version.unwrap_or_else(|| liaison_node::sync::compat::PeerVersion {
        protocol: 0,
        features: Vec::new(),
        software: String::new(),
    });
    proto::PartnerInfo {
        protocol_version: version.protocol,
        features: version.features,
        software_version: version.software,
        compatibility,
        name: entry.name.clone(),
        node_id: entry.node_id.clone(),
        fingerprint: fingerprint(id, tls_cert_der),
        max_tlp: entry.max_tlp.clone(),
        relay: entry.relay,
        endpoints: entry.endpoints.clone(),
        connection,
        cursor: state.cursor,
        records_received: state.received,
        records_rejected: state.rejected,
        last_rejection: state.last_rejection.clone(),
        records_pending: state.pending,
        kind: entry
            .kind
            .parse::<liaison_core::policy::PartnerKind>()
            .unwrap_or_default()
            .to_string(),
        rules: entry
            .kind
            .parse::<liaison_core::policy::PartnerKind>()
            .unwrap_or_default()
            .rules()
            .to_string(),
        max_evaluation: entry.max_evaluation.clone(),
        // Live figures the caller adds (service/admin.rs list_partners).
        lag: 0,
        rejected_by_reason: Default::default(),
        rotation: String::new(),
    }
}

/// TLS rotation in progress with a partner, in the node's own words; empty
/// when none is. The decisions are the store's (the partner's previous pin in
/// grace) and the identity's (`Rotation::awaits`: our rotation not yet
/// acknowledged); this only words them.
pub fn rotation_state(
    entry: &PartnerEntry,
    ours: Option<&liaison_identity::identity::Rotation>,
    id: &NodeId,
    now_ms: i64,
) -> String {
    let mut parts = Vec::new();
    if let Some((_, until)) = entry.previous_pin_in_grace(now_ms) {
        let until = std::time::UNIX_EPOCH + std::time::Duration::from_millis(until.max(0) as u64);
        parts.push(format!(
            "partner rotated its certificate; the previous one is accepted until {}",
            humantime::format_rfc3339_seconds(until)
        ));
    }
    if ours.is_some_and(|r| r.awaits(id, entry.added_ms, now_ms)) {
        parts.push("our rotation not yet acknowledged by this partner".to_string());
    }
    parts.join("; ")
}

pub fn tlp_name(text: &str) -> Result<Tlp> {
    Ok(text.parse::<Tlp>()?)
}
