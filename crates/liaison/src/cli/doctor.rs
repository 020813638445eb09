//! `liaison doctor`: one verdict per line (ok / warn / error) and a non-zero exit
//! when any check is an error. File checks run here; the database and partner
//! checks (with the client certificates, which need the database's list of
//! revoked ones) come from the running node (`Admin.Doctor`), or from the
//! database itself when the node is stopped.

use anyhow::{bail, Result};
use clap::Args;

use super::backup::running_node;
use super::status::status_error;
use liaison_core::proto;
use liaison_identity::identity::NodeDir;
use liaison_server::ops::{Check, Verdict};

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Print the checks as one JSON object, a DoctorReport:
    /// {"checks": [{"check", "verdict", "detail"}]}.
    #[arg(long)]
    pub json: bool,
}

pub async fn doctor(dir: &NodeDir, args: DoctorArgs) -> Result<()> {
    let now = liaison_core::now_ms();
    let mut checks = liaison_server::ops::permission_checks(dir);
    checks.extend(liaison_server::ops::certificate_checks(dir, now));
    checks.push(liaison_server::ops::audit_check(dir));
    match running_node(dir).await {
        Some(client) => {
            let report = client
                .admin()
                .doctor(proto::DoctorRequest {})
                .await
                .map_err(status_error)?
                .into_inner();
            checks.extend(report.checks.into_iter().map(|c| Check {
                verdict: Verdict::parse(&c.verdict),
                check: c.check,
                detail: c.detail,
            }));
        }
        None => checks.extend(offline_checks(dir)),
    }
    match args.json {
        true => super::output::print_json(&proto::DoctorReport {
            checks: checks
                .iter()
                .map(|c| proto::DoctorCheck {
                    check: c.check.clone(),
                    verdict: c.verdict.as_str().to_string(),
                    detail: c.detail.clone(),
                })
                .collect(),
        })?,
        false => {
            for check in &checks {
                out!(
                    "{:<5} {}: {}",
                    check.verdict.as_str(),
                    check.check,
                    check.detail
                );
            }
        }
    }
    let errors = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Error)
        .count();
    if errors > 0 {
        bail!("doctor found {errors} error(s)");
    }
    Ok(())
}

/// With the node stopped: the database opens, and the partners' certificates.
fn offline_checks(dir: &NodeDir) -> Vec<Check> {
    let mut checks = vec![Check::new(
        "node",
        Verdict::Warn,
        "not running (or not answering): partners' clocks and reachability not checked",
    )];
    match liaison_store::store::Store::open(&dir.database(), 16 * 1024 * 1024) {
        Ok(store) => {
            checks.extend(liaison_server::ops::database_checks(&store, None));
            checks.extend(liaison_server::ops::client_checks_from(dir, &store));
            match store.partners() {
                Ok(partners) => checks.extend(liaison_server::ops::partner_cert_checks(
                    &partners,
                    liaison_core::now_ms(),
                )),
                Err(e) => checks.push(Check::new("partners", Verdict::Error, e.to_string())),
            }
        }
        Err(e) => {
            checks.push(Check::new("database", Verdict::Error, e.to_string()));
            checks.extend(liaison_server::ops::client_certificate_checks(
                dir,
                None,
                liaison_core::now_ms(),
            ));
        }
    }
    checks
}
