//! TLS certificate rotation without re-enrollment. `identity rotate-tls` stages a
//! new key and certificate (`tls/next.*`); the node promotes them when it starts
//! (or at once if it is stopped): the old pair moves to `tls/previous.*` and
//! `tls/rotation.json` records both pins and the end of the grace period.
//!
//! Partners learn the new certificate from a statement signed by the node's
//! Ed25519 identity key (domain-separated, carrying a new signed bundle), which
//! the node delivers over its old, still-pinned certificate. Partners accept the
//! old certificate until the grace period ends, then refuse it.
//!
//! This module must never accept a statement not signed by the partner's own
//! identity key, nor one that replaces a certificate other than the pinned one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::{Signature, Signer, VerifyingKey};
use prost::Message;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::bundle::{Bundle, BundleError};
use super::error::IdentityError;
use super::files::NodeDir;
use super::node_identity::{cert_pin, NodeIdentity};
use super::{certs, files};
use liaison_core::proto;
use liaison_core::record::NodeId;

const SIGNING_PREFIX: &[u8] = b"liaison/v1/tls-rotation\0";
const MAX_STATEMENT_BYTES: usize = 32 * 1024;
/// Longest grace period a partner honours, whatever the statement asks.
pub const MAX_GRACE_MS: i64 = 90 * 86_400_000;

/// `[rotation]` in config.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RotationConfig {
    /// How long partners keep accepting the old TLS certificate after a
    /// rotation, seconds (default 7 days).
    pub tls_grace_seconds: u64,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            tls_grace_seconds: 7 * 86_400,
        }
    }
}

/// `tls/rotation.json`: the last rotation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RotationFile {
    pub old_pin: String,
    pub new_pin: String,
    pub rotated_ms: i64,
    pub old_valid_until_ms: i64,
    /// Partners (hex node ids) that acknowledged the statement: a second
    /// rotation inside the grace period is refused while any other partner
    /// enrolled before this one has not (`rotation_guard`).
    #[serde(default)]
    pub acknowledged: Vec<String>,
}

/// A rotation in force: the old certificate and key (used to tell partners, who
/// still pin it) and which partners acknowledged it (kept in `rotation.json`,
/// so a restart neither forgets nor repeats an acknowledgement).
pub struct Rotation {
    pub file: RotationFile,
    pub old_cert_der: Vec<u8>,
    pub old_key_der: Zeroizing<Vec<u8>>,
    record: PathBuf,
    announced: Mutex<HashSet<NodeId>>,
}

impl Rotation {
    /// Whether partners still accept the old certificate.
    pub fn in_grace(&self) -> bool {
        liaison_core::now_ms() < self.file.old_valid_until_ms
    }

    pub fn announced_to(&self, partner: &NodeId) -> bool {
        self.announced
            .lock()
            .map(|told| told.contains(partner))
            .unwrap_or(false)
    }

    /// Records that `partner` acknowledged the statement, durably (temporary
    /// file, fsync, rename) before returning. Blocking: call it off the async
    /// workers.
    pub fn mark_announced(&self, partner: NodeId) -> Result<(), IdentityError> {
        let mut told = self.announced.lock().unwrap_or_else(|e| e.into_inner());
        if !told.insert(partner) {
            return Ok(());
        }
        let mut file = self.file.clone();
        file.acknowledged = told.iter().map(NodeId::to_hex).collect();
        file.acknowledged.sort();
        write_record(&self.record, &file)
    }
}

/// Replaces `rotation.json` atomically.
fn write_record(record: &Path, rotation: &RotationFile) -> Result<(), IdentityError> {
    let json = serde_json::to_vec_pretty(rotation).map_err(|e| file_error(record, e))?;
    let temporary = record.with_extension("json.tmp");
    let _ = std::fs::remove_file(&temporary);
    files::write_public(&temporary, &json)?;
    std::fs::rename(&temporary, record).map_err(|e| file_error(record, e))
}

fn tls_path(dir: &NodeDir, name: &str) -> PathBuf {
    dir.root.join("tls").join(name)
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> IdentityError {
    IdentityError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Generates the next TLS key and certificate into `tls/next.*`; returns the new
/// pin. Refuses when a rotation is already staged.
pub fn stage_tls_rotation(dir: &NodeDir, agency: &str) -> Result<String, IdentityError> {
    let (cert, key) = (tls_path(dir, "next.crt"), tls_path(dir, "next.key"));
    if cert.exists() || key.exists() {
        return Err(file_error(
            &cert,
            "a rotation is already staged; start (or restart) the node to apply it",
        ));
    }
    let generated = certs::node_tls_cert(agency)?;
    files::write_private(&key, generated.key_pem.as_bytes())?;
    files::write_public(&cert, generated.cert_pem.as_bytes())?;
    Ok(cert_pin(&files::read_pem_cert(&cert)?))
}

/// Puts a staged certificate in force: the current pair becomes `previous`, the
/// staged one current, and `rotation.json` records the grace period. Does
/// nothing when nothing is staged. Each step can be re-run after a crash.
pub fn promote_staged_tls(
    dir: &NodeDir,
    grace_seconds: u64,
) -> Result<Option<RotationFile>, IdentityError> {
    let next_cert = tls_path(dir, "next.crt");
    if !next_cert.exists() {
        return Ok(None);
    }
    let current = match dir.tls_cert().exists() {
        true => dir.tls_cert(),
        false => tls_path(dir, "previous.crt"),
    };
    let now = liaison_core::now_ms();
    let grace_ms = i64::try_from(grace_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let rotation = RotationFile {
        old_pin: cert_pin(&files::read_pem_cert(&current)?),
        new_pin: cert_pin(&files::read_pem_cert(&next_cert)?),
        rotated_ms: now,
        old_valid_until_ms: now.saturating_add(grace_ms.min(MAX_GRACE_MS)),
        acknowledged: Vec::new(),
    };
    if dir.tls_cert().exists() {
        for name in ["previous.crt", "previous.key"] {
            let _ = std::fs::remove_file(tls_path(dir, name));
        }
    }
    write_record(&tls_path(dir, "rotation.json"), &rotation)?;
    let moves = [
        (dir.tls_key(), tls_path(dir, "previous.key")),
        (dir.tls_cert(), tls_path(dir, "previous.crt")),
        (tls_path(dir, "next.key"), dir.tls_key()),
        (next_cert, dir.tls_cert()),
    ];
    for (from, to) in moves {
        if from.exists() && !to.exists() {
            std::fs::rename(&from, &to).map_err(|e| file_error(&to, e))?;
        }
    }
    Ok(Some(rotation))
}

/// The last rotation, if its old certificate is still on disk.
pub fn load_rotation(dir: &NodeDir) -> Result<Option<Rotation>, IdentityError> {
    let record = tls_path(dir, "rotation.json");
    let (cert, key) = (tls_path(dir, "previous.crt"), tls_path(dir, "previous.key"));
    if !record.exists() || !cert.exists() || !key.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&record).map_err(|e| file_error(&record, e))?;
    let file: RotationFile = serde_json::from_slice(&text).map_err(|e| file_error(&record, e))?;
    let acknowledged = file
        .acknowledged
        .iter()
        .filter_map(|id| id.parse::<NodeId>().ok())
        .collect();
    Ok(Some(Rotation {
        file,
        old_cert_der: files::read_pem_cert(&cert)?,
        old_key_der: Zeroizing::new(files::read_pem_key(&key)?),
        record,
        announced: Mutex::new(acknowledged),
    }))
}

/// The signed statement telling partners about `rotation`, with `new_bundle`
/// (this node's signed bundle carrying the new certificate).
pub fn sign_rotation(
    identity: &NodeIdentity,
    rotation: &RotationFile,
    new_bundle: &Bundle,
) -> proto::SignedTlsRotation {
    let inner = proto::TlsRotation {
        node_id: identity.node_id().0.to_vec(),
        old_cert_sha256: hex::decode(&rotation.old_pin).unwrap_or_default(),
        new_bundle: new_bundle.signed.clone(),
        old_valid_until_unix_ms: rotation.old_valid_until_ms,
        issued_unix_ms: liaison_core::now_ms(),
    }
    .encode_to_vec();
    let signature = identity
        .signing_key
        .sign(&[SIGNING_PREFIX, &inner].concat());
    proto::SignedTlsRotation {
        rotation: inner,
        signature: signature.to_bytes().to_vec(),
    }
}

/// A rotation statement that verified against the partner's identity key.
#[derive(Debug, Clone)]
pub struct VerifiedRotation {
    pub old_pin: String,
    pub bundle: Bundle,
    pub old_valid_until_ms: i64,
}

/// Verifies a statement from `partner`: signature by its identity key over the
/// exact bytes, then the new bundle (also its own, for the same node).
pub fn verify_rotation(
    signed: &proto::SignedTlsRotation,
    partner: &NodeId,
) -> Result<VerifiedRotation, BundleError> {
    let malformed =
        |field: &str, reason: &str| BundleError::Malformed(format!("{field}: {reason}"));
    if signed.rotation.len() > MAX_STATEMENT_BYTES {
        return Err(malformed("rotation", "over the size limit"));
    }
    let signature: [u8; 64] = signed
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| malformed("signature", "not 64 bytes"))?;
    let key = VerifyingKey::from_bytes(&partner.0).map_err(|_| BundleError::BadSignature)?;
    key.verify_strict(
        &[SIGNING_PREFIX, &signed.rotation].concat(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| BundleError::BadSignature)?;
    let inner = proto::TlsRotation::decode(signed.rotation.as_slice())
        .map_err(|e| malformed("rotation", &e.to_string()))?;
    if inner.node_id != partner.0 {
        return Err(malformed("node_id", "not the calling partner"));
    }
    let bundle = Bundle::from_signed(&inner.new_bundle)?;
    if bundle.node_id != *partner {
        return Err(malformed("new_bundle", "made by another node"));
    }
    if inner.old_cert_sha256.len() != 32 {
        return Err(malformed("old_cert_sha256", "not 32 bytes"));
    }
    Ok(VerifiedRotation {
        old_pin: hex::encode(&inner.old_cert_sha256),
        bundle,
        old_valid_until_ms: inner.old_valid_until_unix_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_rotation_is_promoted_once_and_signed_statements_verify() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = NodeDir::new(tmp.path().join("node"));
        dir.init_identity("Agency R (example)").unwrap();
        let identity = dir.load_identity_named("Agency R (example)").unwrap();
        let old_pin = cert_pin(&identity.tls_cert_der);
        let new_pin = stage_tls_rotation(&dir, "Agency R (example)").unwrap();
        assert!(
            stage_tls_rotation(&dir, "x").is_err(),
            "one staged rotation at a time"
        );
        let rotation = promote_staged_tls(&dir, 60).unwrap().unwrap();
        assert_eq!(
            (rotation.old_pin.as_str(), rotation.new_pin.as_str()),
            (old_pin.as_str(), new_pin.as_str())
        );
        assert!(promote_staged_tls(&dir, 60).unwrap().is_none());
        let rotated = dir.load_identity_named("Agency R (example)").unwrap();
        assert_eq!(cert_pin(&rotated.tls_cert_der), new_pin);
        let loaded = load_rotation(&dir).unwrap().unwrap();
        assert_eq!(cert_pin(&loaded.old_cert_der), old_pin);
        assert!(loaded.in_grace());

        let bundle = Bundle::create(&rotated, vec!["192.0.2.1:7400".into()], 1);
        let signed = sign_rotation(&rotated, &rotation, &bundle);
        let verified = verify_rotation(&signed, &rotated.node_id()).unwrap();
        assert_eq!(verified.old_pin, old_pin);
        assert_eq!(verified.bundle.tls_pin(), new_pin);
        // Another node's key, or an altered statement, is refused.
        assert!(verify_rotation(&signed, &NodeId([9; 32])).is_err());
        let mut altered = signed.clone();
        altered.rotation[3] ^= 1;
        assert!(verify_rotation(&altered, &rotated.node_id()).is_err());
    }
}
