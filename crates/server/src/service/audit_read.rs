//! `Admin.ListAudit` and `Admin.AuditReport`: the node's audit log for
//! oversight over gRPC (the console's Audit page, issue 25), with the filters,
//! pages, verdict and partner report of `liaison audit list`, `verify` and
//! `report` — the same functions of the store's audit module, so the answer is
//! what the CLI would print on the node's machine.
//!
//! Admin certificates only (checked by the caller, as for every Admin call).
//! Like the other admin reads (ListPartners, ShowIdentity, Doctor) these calls
//! are not themselves audited. This module must never write to the log, and
//! reads it off the async threads.

use std::sync::Arc;

use tonic::Status;

use crate::status::status;
use liaison_core::proto;
use liaison_node::error::Error;
use liaison_node::node::Node;
use liaison_store::audit::{oversight, query, report, AuditError, Entry};
use liaison_store::store::StoreError;

/// Entries per page when the request does not say, and the most it may say.
const DEFAULT_PAGE: usize = 50;
const MOST_PER_PAGE: usize = 500;

fn read_error(error: AuditError) -> Error {
    Error::Store(StoreError::Io(format!("reading the audit log: {error}")))
}

/// The enrolled partners' ids, so a prefix names one even before the log
/// mentions it.
fn known_partners(node: &Node) -> Vec<String> {
    node.store
        .partners()
        .map(|all| all.into_iter().map(|(id, _)| id.to_hex()).collect())
        .unwrap_or_default()
}

fn text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

pub(super) async fn list(
    node: Arc<Node>,
    request: proto::ListAuditRequest,
) -> Result<proto::ListAuditResponse, Status> {
    tokio::task::spawn_blocking(move || list_blocking(&node, &request))
        .await
        .map_err(|_| status(Error::ShuttingDown))?
        .map_err(status)
}

fn list_blocking(
    node: &Node,
    request: &proto::ListAuditRequest,
) -> Result<proto::ListAuditResponse, Error> {
    let log = node.dir.audit_log();
    let filter = oversight::FilterText {
        since: text(&request.since),
        until: text(&request.until),
        actor: text(&request.actor),
        partner: text(&request.partner),
        action: text(&request.action),
    }
    .resolve(&log, &known_partners(node), "")
    .map_err(Error::InvalidRequest)?;
    let limit = match request.limit as usize {
        0 => DEFAULT_PAGE,
        n => n.min(MOST_PER_PAGE),
    };
    let page = oversight::page(
        &log,
        &filter,
        request.before_seq,
        request.offset as usize,
        limit,
    )
    .map_err(read_error)?;
    let verdict = request.verify.then(|| {
        let key = node.identity.signing_key.verifying_key();
        match oversight::verdict_lines(&log, &key) {
            Ok(lines) => proto::AuditVerdict {
                intact: true,
                lines,
                error: String::new(),
            },
            Err(why) => proto::AuditVerdict {
                intact: false,
                lines: Vec::new(),
                error: why.to_string(),
            },
        }
    });
    Ok(proto::ListAuditResponse {
        entries: page.entries.iter().map(entry).collect(),
        total: page.total,
        head_seq: page.head_seq,
        verdict,
    })
}

fn entry(e: &Entry) -> proto::AuditEntry {
    proto::AuditEntry {
        seq: e.seq,
        time_unix_ms: e.time_ms,
        actor: e.actor.clone(),
        action: e.action.clone(),
        partner: e.partner().unwrap_or_default().to_string(),
        detail_json: e.detail.to_string(),
        hash: e.hash.clone(),
        prev: e.prev.clone(),
    }
}

pub(super) async fn report(
    node: Arc<Node>,
    request: proto::AuditReportRequest,
) -> Result<proto::AuditReportResponse, Status> {
    tokio::task::spawn_blocking(move || {
        let log = node.dir.audit_log();
        let partner = query::resolve_partner(&log, &request.partner, &known_partners(&node))
            .map_err(|e| Error::InvalidRequest(e.replacen("--partner", "partner", 1)))?;
        let since_ms = text(&request.since)
            .map(|t| query::parse_time("since", &t))
            .transpose()
            .map_err(Error::InvalidRequest)?
            .unwrap_or(0);
        let found = report::partner_report(&log, &partner, since_ms).map_err(read_error)?;
        Ok::<_, Error>(proto::AuditReportResponse {
            report_json: found.to_string(),
            partner,
        })
    })
    .await
    .map_err(|_| status(Error::ShuttingDown))?
    .map_err(status)
}
