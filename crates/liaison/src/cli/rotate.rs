//! Certificate renewal: `identity rotate-tls` (new TLS key and certificate,
//! partners move their pin without re-enrollment), `identity renew-ca` (new CA
//! certificate from the same key) and `client renew` (a client certificate
//! reissued under the same name and role). With the node running, `rotate-tls`
//! asks it (Admin.RotateTls) to rotate live, without a restart; `renew-ca` says
//! that a restart puts the change in force.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::backup::running_node;
use liaison_identity::identity::{cert_pin, cert_summary, read_pem_cert, NodeDir, Role};
use liaison_server::config::NodeDirSetup;

/// `liaison identity …` commands that change certificates.
#[derive(Subcommand, Debug)]
pub enum RenewalCommand {
    /// Issue a new TLS key and certificate. Partners are told by a statement
    /// signed with the node's identity key and move their pin without a new
    /// enrollment; they accept the old certificate for `[rotation]
    /// tls_grace_seconds` (default 7 days). A running node rotates live: new
    /// connections get the new certificate at once, no restart. Refused while
    /// the last rotation is in its grace period and a partner has not
    /// acknowledged it (the message names them).
    RotateTls {
        /// Rotate even though partners have not acknowledged the last rotation:
        /// they are locked out and must enroll this node again (named in the
        /// output).
        #[arg(long)]
        force: bool,
    },
    /// Renew the local CA's certificate from its same key: client certificates
    /// it issued stay valid. Needs a restart if the node runs.
    RenewCa,
}

#[derive(Args, Debug)]
pub struct RenewArgs {
    /// The name of the certificate to renew, as given to `client issue --name`.
    #[arg(long)]
    pub name: String,
    /// Folder to write the new client.crt, client.key and node.crt to.
    #[arg(long)]
    pub out: PathBuf,
    /// The role (analyst or admin), needed only when the earlier certificate is
    /// not on record in DIR/clients/ (issued by an older version).
    #[arg(long)]
    pub role: Option<Role>,
    /// Validity in days (tests use short-lived certificates).
    #[arg(long, default_value_t = 825, hide = true)]
    pub valid_days: i64,
}

pub async fn run(dir: &NodeDir, command: RenewalCommand) -> Result<()> {
    match command {
        RenewalCommand::RotateTls { force } => rotate_tls(dir, force).await,
        RenewalCommand::RenewCa => renew_ca(dir).await,
    }
}

async fn rotate_tls(dir: &NodeDir, force: bool) -> Result<()> {
    let config = dir.load_config()?;
    let grace = super::output::duration_words(config.node.rotation.tls_grace_seconds);
    if let Some(client) = running_node(dir).await {
        return rotate_live(client, &grace, force).await;
    }
    let locked_out = offline_check(dir, force)?;
    let new_pin = liaison_identity::identity::stage_tls_rotation(dir, &config.node.name)?;
    let rotation = liaison_identity::identity::promote_staged_tls(
        dir,
        config.node.rotation.tls_grace_seconds,
    )?
    .context("the staged certificate disappeared; run the command again")?;
    audit_offline(
        dir,
        "identity.rotate_tls",
        serde_json::json!({
            "old_pin": rotation.old_pin,
            "new_pin": rotation.new_pin,
            "forced_lock_out": locked_out,
        }),
    )?;
    out!("New TLS certificate in force (SHA-256 {new_pin}); the old one is kept as tls/previous.crt.");
    say_locked_out(&locked_out);
    out!("Start the node: it tells every partner at its next connection; they accept the old certificate for {grace}.");
    out!("A partner unreachable for that whole time must enroll this node again. Tools that pin node.crt need the new tls/node.crt.");
    Ok(())
}

/// The stopped node's rotation check (the running node makes it itself):
/// the partners it would lock out, from the database.
fn offline_check(dir: &NodeDir, force: bool) -> Result<Vec<String>> {
    let Some(rotation) = liaison_identity::identity::load_rotation(dir)? else {
        return Ok(Vec::new());
    };
    let store = liaison_store::store::Store::open(&dir.database(), 16 * 1024 * 1024).with_context(|| {
        format!(
            "the node does not answer, and its database cannot be opened to check which partners acknowledged the last rotation; if `liaison run --dir {}` is running, check that it is reachable",
            dir.root.display()
        )
    })?;
    let partners = store.partners()?;
    let locked_out = liaison_identity::identity::check_rotation(
        Some(&rotation),
        partners
            .iter()
            .map(|(id, entry)| liaison_identity::identity::Enrolled {
                id: *id,
                name: &entry.name,
                added_ms: entry.added_ms,
            }),
        force,
    )?;
    Ok(locked_out)
}

fn say_locked_out(locked_out: &[String]) {
    for name in locked_out {
        out!("  LOCKED OUT: {name:?} never acknowledged the last rotation; it can no longer reach this node nor be reached by it. It must enroll this node again: send it the bundle from `liaison identity export`.");
    }
}

/// The running node rotates (Admin.RotateTls) and tells its partners at once.
async fn rotate_live(client: crate::client::NodeClient, grace: &str, force: bool) -> Result<()> {
    let done = client
        .admin()
        .rotate_tls(liaison_core::proto::RotateTlsRequest { force })
        .await
        .map_err(super::status::status_error)?
        .into_inner();
    out!(
        "New TLS certificate in force on the running node (SHA-256 {}), no restart needed; the old one is kept as tls/previous.crt.",
        done.new_pin
    );
    say_locked_out(&done.locked_out);
    for name in &done.told {
        out!("  told {name}: it accepts the old certificate for {grace} more");
    }
    for reason in &done.not_told {
        let locked = done
            .locked_out
            .iter()
            .any(|name| reason.starts_with(&format!("{name}:")));
        if !locked {
            out!("  not told yet ({reason}): told at its next connection within {grace}");
        }
    }
    out!("A partner unreachable for that whole time must enroll this node again. Tools that pin node.crt need the new tls/node.crt.");
    Ok(())
}

async fn renew_ca(dir: &NodeDir) -> Result<()> {
    let cert = std::fs::read_to_string(dir.ca_cert())
        .with_context(|| format!("reading {}", dir.ca_cert().display()))?;
    let key = zeroize::Zeroizing::new(
        std::fs::read_to_string(dir.ca_key())
            .with_context(|| format!("reading {}", dir.ca_key().display()))?,
    );
    let renewed = liaison_identity::identity::renew_ca_cert(&cert, &key)?;
    let staged = dir.root.join("ca/ca.crt.new");
    let _ = std::fs::remove_file(&staged);
    liaison_identity::identity::write_public(&staged, renewed.as_bytes())?;
    let kept = dir
        .root
        .join(format!("ca/ca-{}.crt", liaison_core::now_ms()));
    std::fs::rename(dir.ca_cert(), &kept).context("keeping the old CA certificate")?;
    std::fs::rename(&staged, dir.ca_cert()).context("putting the new CA certificate in place")?;
    let summary = cert_summary(&read_pem_cert(&dir.ca_cert())?)?;
    let until = format_ms(summary.not_after_ms);
    out!(
        "Renewed the local CA certificate (same key) until {until}; the old one is kept as {}.",
        kept.display()
    );
    match running_node(dir).await {
        Some(_) => out!("The node is running: restart it to load the new CA certificate."),
        None => audit_offline(
            dir,
            "identity.renew_ca",
            serde_json::json!({ "not_after_ms": summary.not_after_ms }),
        )?,
    }
    Ok(())
}

/// `client renew`: the same name and role, a new key and certificate.
pub fn renew_client(dir: &NodeDir, args: RenewArgs) -> Result<()> {
    let earlier = find_issued(dir, &args.name)?;
    let role = match (&earlier, args.role) {
        (_, Some(role)) => role,
        (Some((_, summary)), None) => summary
            .role
            .context("the earlier certificate carries no Liaison role; give --role")?,
        (None, None) => bail!(
            "--name: no certificate named {:?} on record in {}; give --role to issue one anyway",
            args.name,
            dir.root.join("clients").display()
        ),
    };
    if args.out.join("client.crt").exists() || args.out.join("client.key").exists() {
        bail!(
            "--out: {} already holds a client certificate; choose an empty folder",
            args.out.display()
        );
    }
    let ca_cert = std::fs::read_to_string(dir.ca_cert())
        .with_context(|| format!("reading {}", dir.ca_cert().display()))?;
    let ca_key = zeroize::Zeroizing::new(
        std::fs::read_to_string(dir.ca_key())
            .with_context(|| format!("reading {}", dir.ca_key().display()))?,
    );
    let cert = liaison_identity::identity::issue_client_cert_for_days(
        &ca_cert,
        &ca_key,
        &args.name,
        role,
        args.valid_days,
    )?;
    liaison_identity::identity::write_private(
        &args.out.join("client.key"),
        cert.key_pem.as_bytes(),
    )?;
    liaison_identity::identity::write_public(
        &args.out.join("client.crt"),
        cert.cert_pem.as_bytes(),
    )?;
    std::fs::copy(dir.tls_cert(), args.out.join("node.crt"))
        .context("copying the node certificate")?;
    register_issued(dir, &cert.cert_der, &cert.cert_pem)?;
    let until = format_ms(cert_summary(&cert.cert_der)?.not_after_ms);
    out!(
        "Renewed the {role:?} certificate {:?} until {until} in {}.",
        args.name,
        args.out.display()
    );
    out!("  new certificate SHA-256: {}", cert_pin(&cert.cert_der));
    if let Some((path, _)) = earlier {
        let old = cert_pin(&read_pem_cert(&path)?);
        out!("  the earlier one ({old}) stays valid until it expires; once replaced, refuse it with `liaison client revoke --sha256 {old}`");
    }
    Ok(())
}

/// Keeps a copy of an issued certificate (public) so `doctor` can watch its
/// expiry and `client renew` find its role.
pub(super) fn register_issued(dir: &NodeDir, der: &[u8], pem: &str) -> Result<()> {
    let path = dir
        .root
        .join("clients")
        .join(format!("{}.crt", cert_pin(der)));
    if !path.exists() {
        liaison_identity::identity::write_public(&path, pem.as_bytes())?;
    }
    Ok(())
}

/// The latest-expiring certificate on record with this name.
fn find_issued(
    dir: &NodeDir,
    name: &str,
) -> Result<Option<(PathBuf, liaison_identity::identity::CertSummary)>> {
    let mut candidates = vec![dir.admin_cert()];
    if let Ok(entries) = std::fs::read_dir(dir.root.join("clients")) {
        candidates.extend(entries.flatten().map(|e| e.path()));
    }
    let mut best: Option<(PathBuf, liaison_identity::identity::CertSummary)> = None;
    for path in candidates {
        let Some(summary) = summarise(&path) else {
            continue;
        };
        let later = best
            .as_ref()
            .is_none_or(|(_, b)| summary.not_after_ms > b.not_after_ms);
        if summary.common_name == name && later {
            best = Some((path, summary));
        }
    }
    Ok(best)
}

fn summarise(path: &Path) -> Option<liaison_identity::identity::CertSummary> {
    cert_summary(&read_pem_cert(path).ok()?).ok()
}

fn format_ms(ms: i64) -> String {
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
    .to_string()
}

/// Appends to the audit log of a stopped node (a running node owns its log).
fn audit_offline(dir: &NodeDir, action: &str, detail: serde_json::Value) -> Result<()> {
    let audit = liaison_store::audit::AuditLog::open(&dir.audit_log())?;
    audit.record("admin (offline CLI)", action, detail)?;
    Ok(())
}
