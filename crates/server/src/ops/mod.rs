//! `liaison doctor`'s checks, each one verdict (ok / warn / error) on one line:
//! file permissions, certificate expiry, the audit chain (read from the node
//! directory), and, from the running node, the database and each partner's
//! certificate, clock and reachability.
//!
//! This module only looks: it must never change a file, a key or the database.

mod node_checks;

pub use node_checks::client_checks_from;
pub use node_checks::{database_checks, node_checks, partner_cert_checks};

use std::path::Path;

use serde::Serialize;

use liaison_identity::identity::NodeDir;

/// Certificates closer than this to their end get a warning.
pub const WARN_DAYS: i64 = 30;
const MS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warn,
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Verdict {
        match text {
            "ok" => Verdict::Ok,
            "warn" => Verdict::Warn,
            _ => Verdict::Error,
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub verdict: Verdict,
    pub detail: String,
}

impl Check {
    pub fn new(check: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            verdict,
            detail: detail.into(),
        }
    }
}

/// The verdict for a certificate ending at `not_after_ms`.
pub fn expiry_check(what: &str, not_after_ms: i64, now_ms: i64) -> Check {
    let days = (not_after_ms - now_ms).div_euclid(MS_PER_DAY);
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(not_after_ms.max(0) as u64),
    );
    let check = format!("{what}: expiry");
    match not_after_ms - now_ms {
        left if left <= 0 => Check::new(check, Verdict::Error, format!("expired at {when}")),
        _ if days < WARN_DAYS => Check::new(
            check,
            Verdict::Warn,
            format!("expires in {days} days ({when}); renew it"),
        ),
        _ => Check::new(
            check,
            Verdict::Ok,
            format!("valid until {when} ({days} days)"),
        ),
    }
}

/// Key files must be 0600, the directory not writable (nor readable) by others.
pub fn permission_checks(dir: &NodeDir) -> Vec<Check> {
    let mut checks = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&dir.root) {
            let mode = meta.permissions().mode() & 0o777;
            let check = format!("permissions: {}", dir.root.display());
            checks.push(match mode {
                m if m & 0o002 != 0 => Check::new(
                    check,
                    Verdict::Error,
                    format!("mode {m:03o}: writable by everyone; run chmod 700"),
                ),
                m if m & 0o077 != 0 => Check::new(
                    check,
                    Verdict::Warn,
                    format!("mode {m:03o}: others may look inside; chmod 700 is expected"),
                ),
                m => Check::new(check, Verdict::Ok, format!("mode {m:03o}")),
            });
        }
        for name in crate::backup::KEY_FILES {
            let path = dir.root.join(name);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            let check = format!("permissions: {name}");
            checks.push(match mode & 0o077 {
                0 => Check::new(check, Verdict::Ok, format!("mode {mode:03o}")),
                _ => Check::new(
                    check,
                    Verdict::Error,
                    format!(
                        "mode {mode:03o}: a private key readable by others; run chmod 600 {}",
                        path.display()
                    ),
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    checks
}

/// Expiry of the node's own certificates.
pub fn certificate_checks(dir: &NodeDir, now_ms: i64) -> Vec<Check> {
    let mut checks = Vec::new();
    for (what, path) in [
        ("TLS certificate", dir.tls_cert()),
        ("local CA", dir.ca_cert()),
        ("admin certificate", dir.admin_cert()),
    ] {
        checks.push(file_expiry(what, &path, now_ms));
    }
    checks
}

/// The client certificates on record here (copies in `clients/`, written by
/// `client issue`, `client renew` and `certs/openssl-client-cert.sh`), and every
/// revoked one: a revoked certificate shows as revoked, never by its expiry
/// (nothing to renew). `revoked` is the database's list (`None`: unreadable).
pub fn client_certificate_checks(
    dir: &NodeDir,
    revoked: Option<&[[u8; 32]]>,
    now_ms: i64,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir.root.join("clients"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    let mut listed = Vec::new();
    for path in paths {
        let der = liaison_identity::identity::read_pem_cert(&path).ok();
        let name = der
            .as_deref()
            .and_then(|der| liaison_identity::identity::cert_summary(der).ok())
            .map(|s| s.common_name)
            .unwrap_or_default();
        let what = format!("client certificate {name:?}");
        let pin = der.as_deref().map(liaison_identity::tls::PinSet::pin_of);
        match (pin, revoked) {
            (Some(pin), Some(revoked)) if revoked.contains(&pin) => {
                listed.push(pin);
                checks.push(revoked_check(&what, &pin));
            }
            (_, None) => {
                let mut check = file_expiry(&what, &path, now_ms);
                check
                    .detail
                    .push_str("; revocation not checked (the database could not be read)");
                checks.push(check);
            }
            _ => checks.push(file_expiry(&what, &path, now_ms)),
        }
    }
    // Revoked by `client revoke --sha256` with no copy here (made elsewhere).
    for pin in revoked.unwrap_or_default() {
        if !listed.contains(pin) {
            checks.push(revoked_check(
                "client certificate (no copy in clients/)",
                pin,
            ));
        }
    }
    checks
}

fn revoked_check(what: &str, pin: &[u8; 32]) -> Check {
    Check::new(
        format!("{what}: revocation"),
        Verdict::Ok,
        format!(
            "REVOKED (SHA-256 {}): refused at every handshake and call; nothing to renew",
            hex::encode(pin)
        ),
    )
}

fn file_expiry(what: &str, path: &Path, now_ms: i64) -> Check {
    let summary = liaison_identity::identity::read_pem_cert(path)
        .map_err(|e| e.to_string())
        .and_then(|der| liaison_identity::identity::cert_summary(&der).map_err(|e| e.to_string()));
    match summary {
        Ok(summary) => expiry_check(what, summary.not_after_ms, now_ms),
        Err(reason) => Check::new(format!("{what}: expiry"), Verdict::Error, reason),
    }
}

/// The audit log's hash chain.
pub fn audit_check(dir: &NodeDir) -> Check {
    if !dir.audit_log().exists() {
        return Check::new("audit log", Verdict::Ok, "no entries yet");
    }
    let path = dir.audit_log();
    match liaison_store::audit::verify_with(&path, None) {
        Ok(found) => match (found.unsealed_reason(&path), found.unverified_at.last()) {
            (Some(reason), _) => Check::new(
                "audit log",
                Verdict::Error,
                format!("UNVERIFIED: {reason}"),
            ),
            (None, Some(seq)) => Check::new(
                "audit log",
                Verdict::Warn,
                format!(
                    "chain intact, {} entries; entry {seq} records a start with the seal missing or unreadable (entries before it may have been cut off)",
                    found.last_seq
                ),
            ),
            (None, None) => Check::new(
                "audit log",
                Verdict::Ok,
                format!("chain intact and sealed, {} entries", found.last_seq),
            ),
        },
        Err(e) => Check::new("audit log", Verdict::Error, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_verdicts_warn_thirty_days_ahead_and_fail_once_expired() {
        let now = 1_800_000_000_000;
        assert_eq!(
            expiry_check("x", now + 400 * MS_PER_DAY, now).verdict,
            Verdict::Ok
        );
        assert_eq!(
            expiry_check("x", now + 29 * MS_PER_DAY, now).verdict,
            Verdict::Warn
        );
        assert_eq!(expiry_check("x", now - 1, now).verdict, Verdict::Error);
    }
}
