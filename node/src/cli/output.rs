//! How results look: aligned text for people, JSON for scripts.

use serde_json::{json, Value};

use crate::proto;

fn time(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

fn kind_name(kind: i32) -> String {
    u8::try_from(kind)
        .ok()
        .and_then(crate::indicator::Kind::from_code)
        .map(|k| k.to_string())
        .unwrap_or_else(|| format!("kind-{kind}"))
}

fn tlp_name(tlp: i32) -> String {
    crate::record::tlp_from_wire(tlp)
        .map(|t| format!("TLP:{t}"))
        .unwrap_or_else(|_| "TLP:?".into())
}

fn handling_names(codes: &[i32]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|&c| crate::record::handling_from_wire(c).ok())
        .map(|c| c.to_string())
        .collect()
}

pub fn record_json(view: &proto::RecordView) -> Value {
    let indicator = view.indicator.clone().unwrap_or_default();
    let evaluation = indicator.evaluation.clone().unwrap_or_default();
    json!({
        "record_id": view.record_id,
        "origin": view.origin,
        "origin_name": view.origin_name,
        "sequence": view.sequence,
        "created": time(view.created_unix_ms),
        "created_unix_ms": view.created_unix_ms,
        "received_from": view.received_from,
        "kind": kind_name(indicator.kind),
        "value": indicator.value,
        "labels": indicator.labels,
        "tlp": tlp_name(indicator.tlp),
        "handling": handling_names(&indicator.handling),
        "handling_note": indicator.handling_note,
        "evaluation": format!("{}{}", evaluation.source_reliability, evaluation.information_accuracy),
        "valid_until": time(indicator.valid_until_unix_ms),
        "description": indicator.description,
        "case_reference": indicator.case_reference,
        "recipients": indicator.recipients.iter().map(hex::encode).collect::<Vec<_>>(),
        "supersedes": hex::encode(&indicator.supersedes),
        "outside_known_ranges": indicator.outside_known_ranges,
        "sightings": view.sightings,
        "last_sighting": if view.last_sighting_unix_ms > 0 { time(view.last_sighting_unix_ms) } else { String::new() },
        "source": view.source,
        "body": view.body,
        "refers_to": view.refers_to,
        "note": view.note,
        "revoked": view.revoked,
        "false_positives": view.false_positives,
        "false_positive_by": view.false_positive_by,
        "expired_sightings": view.expired_sightings,
        "sighting_type": view.sighting_type,
        "warninglists": view.warninglists,
        "reported_by_platform": view.reported_by_platform,
        "held_until_endorsed": view.held_until_endorsed,
        "bulletins": view.bulletins.iter().map(|b| serde_json::json!({ "record_id": b.record_id, "title": b.title })).collect::<Vec<_>>(),
    })
}

/// A revocation or sighting: what it refers to and why.
fn print_reference(view: &proto::RecordView) {
    match view.sighting_type.as_str() {
        "" | "seen" => out!("{} of record {}", view.body, view.refers_to),
        kind => out!("{} ({kind}) of record {}", view.body, view.refers_to),
    }
    out!("  record      {}", view.record_id);
    out!(
        "  origin      {} ({}), sequence {}",
        view.origin_name,
        &view.origin[..16.min(view.origin.len())],
        view.sequence
    );
    out!("  created     {}", time(view.created_unix_ms));
    if !view.note.is_empty() {
        out!(
            "  {:<11} {}",
            if view.body == "revocation" {
                "reason"
            } else {
                "note"
            },
            view.note
        );
    }
}

pub fn print_record(view: &proto::RecordView) {
    if view.indicator.is_none() {
        return print_reference(view);
    }
    let r = record_json(view);
    let origin = match view.origin_name.is_empty() {
        true => view.origin[..16].to_string(),
        false => format!("{} ({})", view.origin_name, &view.origin[..16]),
    };
    out!(
        "{} {}  {}",
        r["kind"].as_str().unwrap_or(""),
        r["value"].as_str().unwrap_or(""),
        r["tlp"].as_str().unwrap_or("")
    );
    out!("  record      {}", view.record_id);
    out!("  origin      {origin}, sequence {}", view.sequence);
    out!(
        "  created     {}   valid until {}",
        r["created"].as_str().unwrap_or(""),
        r["valid_until"].as_str().unwrap_or("")
    );
    out!(
        "  evaluation  {}   labels {}",
        r["evaluation"].as_str().unwrap_or(""),
        join(&r["labels"])
    );
    if !join(&r["handling"]).is_empty() {
        out!(
            "  handling    {} {}",
            join(&r["handling"]),
            r["handling_note"].as_str().unwrap_or("")
        );
    }
    if let Some(indicator) = &view.indicator {
        if !indicator.description.is_empty() {
            out!("  description {}", indicator.description);
        }
        if !indicator.case_reference.is_empty() {
            out!("  case        {}", indicator.case_reference);
        }
        if indicator.outside_known_ranges {
            out!(
                "  note        number lies outside the known allocated ranges (accepted, flagged)"
            );
        }
    }
    if view.sightings > 0 {
        out!(
            "  sightings   {} (latest {})",
            view.sightings,
            time(view.last_sighting_unix_ms)
        );
    }
    if !view.reported_by_platform.is_empty() {
        out!(
            "  reported by platform {}{}",
            view.reported_by_platform,
            if view.held_until_endorsed {
                " (held from relay until an analyst here sights it)"
            } else {
                " (endorsed here)"
            }
        );
    }
    for bulletin in &view.bulletins {
        out!(
            "  bulletin    {}  {}",
            super::ids::short(&bulletin.record_id),
            bulletin.title
        );
    }
    if !view.warninglists.is_empty() {
        out!(
            "  WARNING     on warninglist {} (known harmless or shared)",
            view.warninglists.join(", ")
        );
    }
    if view.false_positives > 0 {
        out!(
            "  WARNING     marked false positive by {} ({} sighting(s))",
            view.false_positive_by.join(", "),
            view.false_positives
        );
    }
    if view.expired_sightings > 0 {
        out!(
            "  note        reported no longer in use by {} sighting(s)",
            view.expired_sightings
        );
    }
    if view.source != "local" && !view.source.is_empty() {
        out!(
            "  answered by partner {} (not stored here)",
            &view.source[..16.min(view.source.len())]
        );
    } else if !view.received_from.is_empty() {
        out!("  received from {}", &view.received_from[..16]);
    }
}

fn join(value: &Value) -> String {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

pub fn publish_json(response: &proto::PublishResponse) -> Value {
    json!({
        "record_id": response.record_id,
        "sequence": response.sequence,
        "normalized_value": response.normalized_value,
        "outside_known_ranges": response.outside_known_ranges,
        "warninglists": response.warninglists,
    })
}

pub fn print_published(response: &proto::PublishResponse) {
    out!(
        "Published {} as record {}",
        response.normalized_value,
        response.record_id
    );
    if response.outside_known_ranges {
        out!("Note: the number lies outside the known allocated ranges; it was accepted and flagged.");
    }
    if !response.warninglists.is_empty() {
        out!(
            "Warning: the value is on warninglist {} (known harmless or shared); published anyway (--strict refuses).",
            response.warninglists.join(", ")
        );
    }
}

pub fn search_json(response: &proto::SearchResponse) -> Value {
    json!({
        "queries": response.normalized_queries,
        "records": response.records.iter().map(record_json).collect::<Vec<_>>(),
        "partners": response.partners.iter().map(|p| json!({
            "node_id": p.node_id, "name": p.name, "status": p.status, "latency_ms": p.latency_ms,
            "records": p.records, "detail": p.detail,
        })).collect::<Vec<_>>(),
        "correlations": response.correlations.iter().map(|c| json!({
            "query": c.query, "agencies": c.agencies,
            "holdings": c.holdings.iter().map(|h| json!({
                "origin": h.origin, "name": h.name, "labels": h.labels, "records": h.records,
                "sightings": h.sightings, "false_positives": h.false_positives,
                "expired": h.expired,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

pub fn print_search(response: &proto::SearchResponse) {
    out!("Looked up: {}", response.normalized_queries.join(", "));
    for c in &response.correlations {
        let names: Vec<String> = c
            .holdings
            .iter()
            .map(|h| {
                if h.name.is_empty() {
                    h.origin[..16].to_string()
                } else {
                    h.name.clone()
                }
            })
            .collect();
        out!(
            "  {}: held or sighted by {} agencies here ({})",
            c.query,
            c.agencies,
            names.join(", ")
        );
        let false_positives: u32 = c.holdings.iter().map(|h| h.false_positives).sum();
        if false_positives > 0 {
            out!(
                "  {}: {false_positives} false-positive sighting(s)",
                c.query
            );
        }
    }
    for p in &response.partners {
        let who = if p.name.is_empty() {
            &p.node_id[..16]
        } else {
            p.name.as_str()
        };
        out!(
            "  partner {who}: {} in {} ms, {} record(s){}",
            p.status,
            p.latency_ms,
            p.records,
            if p.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.detail)
            }
        );
    }
    if response.records.is_empty() {
        out!("No records.");
        return;
    }
    let agencies: std::collections::BTreeSet<&str> =
        response.records.iter().map(|r| r.origin.as_str()).collect();
    out!(
        "{} record(s) from {} agency(ies):",
        response.records.len(),
        agencies.len()
    );
    for view in &response.records {
        out!();
        print_record(view);
    }
}

pub fn identity_json(info: &proto::IdentityInfo) -> Value {
    json!({
        "name": info.name, "node_id": info.node_id, "fingerprint": info.fingerprint,
        "endpoints": info.endpoints, "records": info.records,
        "unreadable_records": info.unreadable_records, "unreadable_sample": info.unreadable_sample,
    })
}

pub fn print_identity(info: &proto::IdentityInfo) {
    out!("name         {}", info.name);
    out!("node id      {}", info.node_id);
    out!("fingerprint  {}", info.fingerprint);
    out!("endpoints    {}", info.endpoints.join(", "));
    out!("records      {}", info.records);
    match info.unreadable_records {
        0 => out!("unreadable   0 (ok)"),
        n => {
            out!("unreadable   {n} stored records do not read back and are skipped; see docs/OPERATIONS.md (unreadable records)");
            for line in &info.unreadable_sample {
                out!("             {line}");
            }
        }
    }
}

pub fn partner_json(p: &proto::PartnerInfo) -> Value {
    json!({
        "name": p.name, "node_id": p.node_id, "fingerprint": p.fingerprint, "max_tlp": p.max_tlp,
        "relay": p.relay, "endpoints": p.endpoints, "connection": p.connection, "cursor": p.cursor,
        "records_received": p.records_received, "records_rejected": p.records_rejected,
        "last_rejection": p.last_rejection, "records_pending": p.records_pending,
        "kind": p.kind, "rules": p.rules, "max_evaluation": p.max_evaluation,
    })
}

pub fn partners_json(list: &proto::ListPartnersResponse) -> Value {
    json!({
        "partners": list.partners.iter().map(partner_json).collect::<Vec<_>>(),
        "known_origins": list.known_origins.iter().map(|k| json!({
            "name": k.name, "node_id": k.node_id, "fingerprint": k.fingerprint, "known_via": k.known_via,
            "blocked": k.blocked,
        })).collect::<Vec<_>>(),
    })
}

pub fn print_partners(list: &proto::ListPartnersResponse) {
    if list.partners.is_empty() {
        out!("No partners enrolled.");
    }
    for p in &list.partners {
        out!("{} ({})", p.name, &p.node_id[..16]);
        out!("  fingerprint {}", p.fingerprint);
        out!(
            "  terms       up to TLP:{}{}",
            p.max_tlp.to_uppercase(),
            if p.relay { ", relay" } else { "" }
        );
        out!("  kind        {}: {}", p.kind, p.rules);
        if !p.max_evaluation.is_empty() {
            out!("  evaluation  capped at {}", p.max_evaluation);
        }
        out!(
            "  connection  {}   endpoints {}",
            p.connection,
            p.endpoints.join(", ")
        );
        out!(
            "  cursor {}   received {}   rejected {}   pending {}",
            p.cursor,
            p.records_received,
            p.records_rejected,
            p.records_pending
        );
        if !p.last_rejection.is_empty() {
            out!("  last rejection: {}", p.last_rejection);
        }
    }
    for k in &list.known_origins {
        out!(
            "{} ({}) known via {}{}",
            k.name,
            &k.node_id[..16],
            &k.known_via[..16.min(k.known_via.len())],
            if k.blocked { ", BLOCKED" } else { "" }
        );
    }
}
