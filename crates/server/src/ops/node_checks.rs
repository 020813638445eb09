//! The checks that need the node's state: its database, and each partner's
//! certificate, clock (a `Ping` round trip), reachability and stated version. Each partner call
//! is bounded in time, so a dead partner never stalls `doctor`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{expiry_check, Check, Verdict};
use liaison_core::proto;
use liaison_core::proto::federation_client::FederationClient;
use liaison_core::record::NodeId;
use liaison_node::node::Node;
use liaison_node::partner_state::{diagnose_status, Diagnosis, PartnerState};
use liaison_node::sync::compat::{self, PeerVersion};
use liaison_store::store::{PartnerEntry, Store};

/// How long a partner has to answer a ping.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// Clock differences above this get a warning (records are refused past the
/// configured `max_clock_skew_seconds`, which is an error).
const WARN_SKEW_MS: i64 = 30_000;

/// Every check the running node can make.
pub async fn node_checks(node: &Arc<Node>) -> Vec<Check> {
    let mut checks = database_checks(&node.store, node.commits.failed());
    checks.extend(client_checks_from(&node.dir, &node.store));
    let partners = node.store.partners().unwrap_or_default();
    checks.extend(partner_cert_checks(&partners, liaison_core::now_ms()));
    checks.extend(rotation_checks(node, &partners));
    checks.push(lookup_filter_check(node));
    // Pings run in parallel, each bounded by PING_TIMEOUT.
    let mut pings = tokio::task::JoinSet::new();
    for (index, (id, entry)) in partners.into_iter().enumerate() {
        let node = node.clone();
        pings.spawn(async move { (index, ping_check(&node, id, &entry).await) });
    }
    let mut answers: Vec<(usize, Check)> = pings.join_all().await;
    answers.sort_by_key(|(index, _)| *index);
    checks.extend(answers.into_iter().map(|(_, check)| check));
    checks
}

/// "lookup filter for epoch N: ready (V values)" or "… building (x of y values)":
/// a warning until this epoch's filters are built, since until then a partner's
/// first private lookup waits for the build.
fn lookup_filter_check(node: &Node) -> Check {
    let epoch = liaison_node::lookup::epoch::Epoch::at(
        liaison_core::now_ms(),
        node.config.lookup.epoch_hours,
    );
    let status = node.lookup.server.status(epoch.number);
    let verdict = match status.is_ready() {
        true => Verdict::Ok,
        false => Verdict::Warn,
    };
    Check::new("lookup filter", verdict, status.line())
}

/// The client certificates on record, each marked revoked or not by the
/// database's list of revoked certificates.
pub fn client_checks_from(dir: &liaison_identity::identity::NodeDir, store: &Store) -> Vec<Check> {
    let revoked = store.revoked_clients().ok();
    super::client_certificate_checks(dir, revoked.as_deref(), liaison_core::now_ms())
}

/// While a TLS rotation's grace period runs: which partners were told (the
/// same decision that refuses a second rotation: `identity::check_rotation`).
fn rotation_checks(node: &Node, partners: &[(NodeId, PartnerEntry)]) -> Vec<Check> {
    let Some(rotation) = node.rotation().filter(|r| r.in_grace()) else {
        return Vec::new();
    };
    let until = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH
            + Duration::from_millis(rotation.file.old_valid_until_ms.max(0) as u64),
    );
    let now = liaison_core::now_ms();
    partners
        .iter()
        .filter(|(_, entry)| entry.added_ms <= rotation.file.rotated_ms)
        .map(|(id, entry)| {
            let check = format!("partner {:?}: TLS rotation", entry.name);
            match rotation.awaits(id, entry.added_ms, now) {
                false => Check::new(check, Verdict::Ok, "told of the new certificate"),
                true => Check::new(
                    check,
                    Verdict::Warn,
                    format!(
                        "not told yet; it must be reached before {until} or enroll this node again; until then `identity rotate-tls` is refused without --force"
                    ),
                ),
            }
        })
        .collect()
}

/// The database opened, its size, unreadable records, a stopped committer.
pub fn database_checks(store: &Store, failure: Option<String>) -> Vec<Check> {
    let mut checks = Vec::new();
    let size = store.size_on_disk().unwrap_or(0);
    checks.push(Check::new(
        "database",
        Verdict::Ok,
        format!(
            "{} records, {:.1} MiB on disk",
            store.record_count(),
            size as f64 / 1048576.0
        ),
    ));
    let (unreadable, sample) = store.unreadable(1);
    if unreadable > 0 {
        let first = sample
            .first()
            .map(|(id, why)| format!("; first: {id}: {why}"))
            .unwrap_or_default();
        checks.push(Check::new(
            "database: unreadable records",
            Verdict::Error,
            format!("{unreadable} stored records do not read back{first}"),
        ));
    }
    if let Some(reason) = failure {
        checks.push(Check::new(
            "database: writes",
            Verdict::Error,
            format!("stopped after a failed flush ({reason}); check the disk and restart"),
        ));
    }
    checks
}

/// Expiry of each enrolled partner's pinned certificate.
pub fn partner_cert_checks(partners: &[(NodeId, PartnerEntry)], now_ms: i64) -> Vec<Check> {
    partners
        .iter()
        .map(|(_, entry)| {
            let what = format!("partner {:?} certificate", entry.name);
            let cert = hex::decode(&entry.bundle)
                .ok()
                .and_then(|bytes| liaison_identity::identity::Bundle::from_signed(&bytes).ok())
                .and_then(|bundle| {
                    liaison_identity::identity::cert_summary(&bundle.tls_cert_der).ok()
                });
            match cert {
                Some(summary) => expiry_check(&what, summary.not_after_ms, now_ms),
                None => Check::new(
                    format!("{what}: expiry"),
                    Verdict::Error,
                    "the stored bundle does not read back",
                ),
            }
        })
        .collect()
}

/// Reachability and clock difference: the partner's time against the middle
/// of the round trip.
async fn ping_check(node: &Arc<Node>, id: NodeId, entry: &PartnerEntry) -> Check {
    let check = format!("partner {:?}: clock and reachability", entry.name);
    let answer = tokio::time::timeout(PING_TIMEOUT, async {
        let channel = node
            .partner_channel(&id)
            .await
            .map_err(|e| Diagnosis::new(PartnerState::Unreachable, e.to_string()))?;
        let sent_ms = liaison_core::now_ms();
        let started = Instant::now();
        let response = FederationClient::new(channel)
            .ping(proto::PingRequest {})
            .await
            .map_err(|s| node.diagnose(&id, diagnose_status(&s)))?
            .into_inner();
        let round_trip = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        Ok::<_, Diagnosis>((
            response.now_unix_ms - (sent_ms + round_trip / 2),
            round_trip,
            PeerVersion::from_ping(&response),
        ))
    })
    .await;
    let max_skew_ms =
        i64::try_from(node.config.max_clock_skew_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    match answer {
        Err(_) => Check::new(check, Verdict::Warn, format!("unreachable: no answer within {PING_TIMEOUT:?}")),
        Ok(Err(reason)) => Check::new(check, Verdict::Warn, reason.to_string()),
        Ok(Ok((_, _, version))) if compat::check(&version).is_err() => Check::new(check, Verdict::Error, compat::compatibility(&version)),
        Ok(Ok((skew, _, version))) if skew.abs() > max_skew_ms => Check::new(check, Verdict::Error, format!("clocks differ by {skew} ms, more than max_clock_skew_seconds: records will be refused; fix NTP; {}", stated(&version))),
        Ok(Ok((skew, rtt, version))) if skew.abs() > WARN_SKEW_MS => Check::new(check, Verdict::Warn, format!("clocks differ by {skew} ms (round trip {rtt} ms); check NTP; {}", stated(&version))),
        Ok(Ok((skew, rtt, version))) => Check::new(check, Verdict::Ok, format!("reachable, clock difference {skew} ms (round trip {rtt} ms); {}", stated(&version))),
    }
}

/// The partner's handshake statement, for doctor's partner line.
fn stated(version: &PeerVersion) -> String {
    let software = match version.software.as_str() {
        "" => "release 0.1.0 or unstated".to_string(),
        release => format!("liaison {release}"),
    };
    let withheld = compat::withheld(version);
    match withheld.is_empty() {
        true => format!("{software}, protocol {}", version.protocol),
        false => format!("{software}, protocol {} ({withheld})", version.protocol),
    }
}
