//! Bulletins in a STIX export (issue 15): each bulletin this node holds becomes
//! a `report` whose `object_refs` are the members visible here (held, and within
//! `--max-tlp`). Every bulletin's signature is checked again before it is written.
//! A MISP export (one event) only notes that bulletins come through the MISP feed.

use std::io::Write;

use anyhow::Result;

use super::Counts;
use crate::cli::status::status_error;
use liaison_core::formats::stix::StixWriter;
use liaison_core::proto;
use liaison_core::record::{tlp_from_wire, Envelope, RecordId, Tlp};

pub(super) async fn export_reports<W: Write>(
    writer: &mut StixWriter<W>,
    mut analyst: proto::analyst_client::AnalystClient<tonic::transport::Channel>,
    max_tlp: Option<Tlp>,
    counts: &mut Counts,
) -> Result<()> {
    let listed = analyst
        .list_bulletins(proto::ListBulletinsRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    let within = |code: i32| tlp_from_wire(code).is_ok_and(|t| max_tlp.is_none_or(|max| t <= max));
    for view in &listed.bulletins {
        if !within(view.tlp) {
            counts.filtered += 1;
            continue;
        }
        let verified = view
            .envelope
            .clone()
            .ok_or_else(|| "envelope: missing".to_string())
            .and_then(|w| Envelope::from_wire(w).map_err(|e| e.to_string()))
            .and_then(|e| {
                Envelope::verify_many(vec![e])
                    .pop()
                    .ok_or_else(|| "envelope: not verified".to_string())?
                    .map_err(|e| e.to_string())
            });
        let record = match verified {
            Ok(record) if record.id.to_hex() == view.record_id => record,
            Ok(_) => {
                counts.failed += 1;
                eprintln!(
                    "bulletin {}: not exported: the envelope signs another record",
                    liaison_core::untrusted::quote(&view.record_id)
                );
                continue;
            }
            Err(reason) => {
                counts.failed += 1;
                eprintln!(
                    "bulletin {}: not exported: {}",
                    liaison_core::untrusted::quote(&view.record_id),
                    liaison_core::untrusted::escape(&reason)
                );
                continue;
            }
        };
        let members: Vec<RecordId> = view
            .members
            .iter()
            .filter(|m| m.held && within(m.tlp))
            .filter_map(|m| m.record_id.parse().ok())
            .collect();
        match writer.write_report(&record, &members, &view.origin_name)? {
            true => counts.exported += 1,
            false => counts.skipped += 1,
        }
    }
    Ok(())
}

/// A MISP export is one event (what MISP's "import event" expects), so it
/// cannot also carry bulletins, which are events of their own: MISP gets them,
/// one event each, from the node's MISP feed. Says so when there are any.
pub(super) async fn note_misp_feed(
    mut analyst: proto::analyst_client::AnalystClient<tonic::transport::Channel>,
) -> Result<()> {
    let listed = analyst
        .list_bulletins(proto::ListBulletinsRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    if !listed.bulletins.is_empty() {
        eprintln!(
            "note: {} bulletin(s) are not in this one-event MISP export; a MISP instance \
             receives each as an event of its own from the node's MISP feed (/misp-feed/)",
            listed.bulletins.len()
        );
    }
    Ok(())
}
