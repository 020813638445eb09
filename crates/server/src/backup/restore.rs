//! Restoring a backup into a new node directory: copy the sections, still
//! opaque, into a staging directory beside it; verify the checksum and the
//! node's signature against the key the operator vouches for; only then decode
//! them (manifest, keys, database, audit chain), check that every certificate
//! matches its key, and rename the staging directory into place. Any failure
//! removes the staging directory: no half-restored node is ever left behind.
//!
//! Who vouches for the signer ([`authenticate`]): `--expect-node` (node id or
//! fingerprint) when given; else the keys inside the backup, which only the
//! holder of the passphrase can have encrypted. A backup without keys and
//! without `--expect-node` is refused: its signer would be whoever wrote it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use ed25519_dalek::VerifyingKey;

use super::keys::DecryptedKeys;
use super::{
    file_error, BackupError, Manifest, Reader, Trailer, AUDIT, AUDIT_SEAL, FORMAT, HEADS, KEYS,
    KEY_FILES, MANIFEST, PUBLIC_FILES, SNAPSHOT,
};
use liaison_core::record::NodeId;
use liaison_identity::identity::NodeDir;
use liaison_store::store::Store;

/// The node a backup must come from, as the operator knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedNode {
    /// The node id (64 hex characters, `liaison identity show`).
    NodeId(NodeId),
    /// The 25-digit fingerprint read aloud at enrollment (node id and TLS
    /// certificate), as `ddddd ddddd ddddd ddddd ddddd`.
    Fingerprint(String),
}

impl std::str::FromStr for ExpectedNode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(id) = text.parse::<NodeId>() {
            return Ok(ExpectedNode::NodeId(id));
        }
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 25 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let groups: Vec<&str> = (0..5).map(|i| &digits[i * 5..i * 5 + 5]).collect();
            return Ok(ExpectedNode::Fingerprint(groups.join(" ")));
        }
        Err("not a node id (64 hex characters) or a fingerprint (25 digits)".into())
    }
}

/// What a restore produced.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub records: u64,
    /// Key files written from the backup's encrypted keys section.
    pub keys_restored: Vec<String>,
    /// Key files the node needs that the backup did not hold: copy them in.
    pub keys_missing: Vec<&'static str>,
    /// Why the restored audit log's end cannot be vouched for (the node's log
    /// had no seal when the backup was taken), if so.
    pub audit_unverified: Option<String>,
}

/// Restores the backup `from` into the new directory `to` (absent or empty).
/// `passphrase` is needed only when the backup holds keys; `expect` names the
/// node it must come from (required when it holds none).
pub fn restore(
    from: &Path,
    to: &Path,
    passphrase: Option<&SecretString>,
    expect: Option<&ExpectedNode>,
) -> Result<RestoreReport, BackupError> {
    let occupied = to
        .read_dir()
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if occupied || (to.exists() && !to.is_dir()) {
        return Err(BackupError::Invalid(format!(
            "--dir: {} exists and is not empty; restore into a new directory",
            to.display()
        )));
    }
    let staging = staging_dir(to)?;
    match unpack(from, &staging, passphrase, expect) {
        Ok(report) => {
            if to.exists() {
                std::fs::remove_dir(to).map_err(|e| file_error(to, e))?;
            }
            std::fs::rename(&staging, to).map_err(|e| {
                let _ = std::fs::remove_dir_all(&staging);
                file_error(to, e)
            })?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// A fresh owner-only directory beside `to`, so the final rename stays on one
/// filesystem.
fn staging_dir(to: &Path) -> Result<PathBuf, BackupError> {
    let parent = match to.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| file_error(&parent, e))?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "node".into());
    let staging = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| file_error(&staging, e))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&staging)
        .map_err(|e| file_error(&staging, e))?;
    Ok(staging)
}

/// Sections found in the file, not yet decoded.
#[derive(Default)]
struct Unpacked {
    manifest: Option<Vec<u8>>,
    snapshot: bool,
    keys: Option<Vec<u8>>,
}

fn unpack(
    from: &Path,
    staging: &Path,
    passphrase: Option<&SecretString>,
    expect: Option<&ExpectedNode>,
) -> Result<RestoreReport, BackupError> {
    let file = File::open(from).map_err(|e| file_error(from, e))?;
    let len = file.metadata().map_err(|e| file_error(from, e))?.len();
    let mut reader = Reader::new(BufReader::new(file), len)?;
    let work = staging.join(".restore");
    std::fs::create_dir(&work).map_err(|e| file_error(&work, e))?;
    let snapshot_path = work.join(SNAPSHOT);
    let mut found = Unpacked::default();
    while let Some((name, len)) = reader.next()? {
        unpack_section(&mut reader, &name, len, staging, &snapshot_path, &mut found)?;
    }
    let trailer = reader
        .trailer()
        .ok_or_else(|| BackupError::Corrupt("the file has no checksum".into()))?;
    let manifest_bytes = found
        .manifest
        .take()
        .ok_or_else(|| BackupError::Corrupt("no manifest section".into()))?;
    let (signer, keys) = authenticate(
        &trailer,
        &found,
        &manifest_bytes,
        passphrase,
        expect,
        staging,
    )?;
    // Signed by the node the operator vouches for: now the content may be decoded.
    let manifest = decode_manifest(&manifest_bytes)?;
    if manifest.node_id != hex::encode(signer.to_bytes()) {
        return Err(BackupError::Corrupt(format!(
            "the manifest names node {}, but node {} signed the file",
            manifest.node_id,
            hex::encode(signer.to_bytes())
        )));
    }
    if !found.snapshot {
        return Err(BackupError::Corrupt("no database section".into()));
    }
    let config = std::fs::read_to_string(staging.join("config.toml"))
        .map_err(|_| BackupError::Corrupt("no config.toml section".into()))?;
    crate::config::Config::from_toml(&config)
        .map_err(|e| BackupError::Invalid(format!("config.toml in the backup: {e}")))?;
    let keys_restored = match &keys {
        Some(keys) => keys.write(staging)?,
        None => Vec::new(),
    };
    // As `init` leaves them: the operator copies missing keys straight in.
    NodeDir::new(staging)
        .create_key_folders()
        .map_err(|e| BackupError::Invalid(e.to_string()))?;
    liaison_identity::identity::check_key_pairs(&NodeDir::new(staging)).map_err(|e| {
        // Name the files as the backup does, not by the staging directory.
        let staged = format!("{}/", staging.display());
        BackupError::Corrupt(e.to_string().replace(&staged, ""))
    })?;
    let mut snapshot =
        BufReader::new(File::open(&snapshot_path).map_err(|e| file_error(&snapshot_path, e))?);
    let restored = Store::restore_snapshot(&staging.join("db"), &mut snapshot)?;
    if restored.entries != manifest.entries {
        return Err(BackupError::Corrupt(format!(
            "the database section holds {} entries, the manifest says {}",
            restored.entries, manifest.entries
        )));
    }
    let audit = staging.join(AUDIT);
    let audit_unverified = match audit.metadata().map(|m| m.len() > 0).unwrap_or(false) {
        true => liaison_store::audit::verify_with(&audit, Some(&signer))
            .map_err(|e| BackupError::Corrupt(e.to_string()))?
            .unsealed_reason(&audit),
        false => None,
    };
    std::fs::remove_dir_all(&work).map_err(|e| file_error(&work, e))?;
    let keys_missing = KEY_FILES[..4]
        .iter()
        .copied()
        .filter(|name| !staging.join(name).exists())
        .collect();
    Ok(RestoreReport {
        manifest,
        records: restored.records,
        keys_restored,
        keys_missing,
        audit_unverified,
    })
}

fn decode_manifest(bytes: &[u8]) -> Result<Manifest, BackupError> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| BackupError::Corrupt(format!("manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Invalid(format!(
            "manifest.format: {} is not a format this build reads ({FORMAT})",
            manifest.format
        )));
    }
    Ok(manifest)
}

/// Checks the signature against the key the operator vouches for and returns
/// it, with the backup's keys when it holds some (decrypted only after the
/// signature verified, when `expect` names the signer).
fn authenticate(
    trailer: &Trailer,
    found: &Unpacked,
    manifest: &[u8],
    passphrase: Option<&SecretString>,
    expect: Option<&ExpectedNode>,
    staging: &Path,
) -> Result<(VerifyingKey, Option<DecryptedKeys>), BackupError> {
    let decrypt = || match (&found.keys, passphrase) {
        (Some(encrypted), Some(passphrase)) => {
            super::keys::decrypt_keys(encrypted, passphrase).map(Some)
        }
        (Some(_), None) => Err(BackupError::Passphrase(format!(
            "the backup holds encrypted keys: give --passphrase-file FILE or set {}",
            super::keys::PASSPHRASE_ENV
        ))),
        (None, _) => Ok(None),
    };
    let (signer, keys) = match expect {
        Some(ExpectedNode::NodeId(id)) => {
            let key = VerifyingKey::from_bytes(&id.0).map_err(|_| {
                BackupError::Unauthenticated("--expect-node: not an Ed25519 public key".into())
            })?;
            trailer.verify(&key)?;
            (key, decrypt()?)
        }
        Some(ExpectedNode::Fingerprint(expected)) => {
            let key = claimed_signer(manifest)?;
            let cert = liaison_identity::identity::read_pem_cert(&staging.join("tls/node.crt")).map_err(
                |_| {
                    BackupError::Unauthenticated(
                        "--expect-node: a fingerprint needs tls/node.crt, which the backup lacks; give the node id".into(),
                    )
                },
            )?;
            let actual = liaison_identity::identity::fingerprint(&NodeId(key.to_bytes()), &cert);
            if actual != *expected {
                return Err(BackupError::Unauthenticated(format!(
                    "--expect-node: the backup claims a node whose fingerprint is {actual}, not {expected}"
                )));
            }
            trailer.verify(&key)?;
            (key, decrypt()?)
        }
        None => {
            let keys = decrypt()?.ok_or_else(|| {
                BackupError::Unauthenticated(
                    "the backup holds no keys, so nothing in it can vouch for the node that wrote it; give --expect-node with that node's id (`liaison identity show`, or the line `liaison backup` printed)".into(),
                )
            })?;
            let key = keys.node_key()?;
            trailer.verify(&key)?;
            (key, Some(keys))
        }
    };
    if let Some(keys) = &keys {
        let inside = keys.node_key()?;
        if inside != signer {
            return Err(BackupError::Unauthenticated(format!(
                "the keys inside belong to node {}, not to the expected node {}",
                hex::encode(inside.to_bytes()),
                hex::encode(signer.to_bytes())
            )));
        }
    }
    Ok((signer, keys))
}

/// The node id the (not yet verified) manifest claims: only used to look up
/// the key a fingerprint vouches for, and checked by the signature after.
fn claimed_signer(manifest: &[u8]) -> Result<VerifyingKey, BackupError> {
    #[derive(serde::Deserialize)]
    struct Claim {
        node_id: String,
    }
    serde_json::from_slice::<Claim>(manifest)
        .ok()
        .and_then(|claim| claim.node_id.parse::<NodeId>().ok())
        .and_then(|id| VerifyingKey::from_bytes(&id.0).ok())
        .ok_or_else(|| BackupError::Corrupt("manifest: no valid node_id".into()))
}

fn unpack_section(
    reader: &mut Reader<BufReader<File>>,
    name: &str,
    len: u64,
    staging: &Path,
    snapshot_path: &Path,
    found: &mut Unpacked,
) -> Result<(), BackupError> {
    match name {
        MANIFEST => found.manifest = Some(reader.read_small(name, len)?),
        SNAPSHOT => {
            let file = File::create(snapshot_path).map_err(|e| file_error(snapshot_path, e))?;
            let mut out = BufWriter::new(file);
            reader.copy_to(name, len, &mut out)?;
            out.flush().map_err(|e| file_error(snapshot_path, e))?;
            found.snapshot = true;
        }
        KEYS => found.keys = Some(reader.read_small(name, len)?),
        AUDIT => {
            let path = staging.join(AUDIT);
            let mut out = BufWriter::new(File::create(&path).map_err(|e| file_error(&path, e))?);
            reader.copy_to(name, len, &mut out)?;
            out.flush().map_err(|e| file_error(&path, e))?;
        }
        name if PUBLIC_FILES.contains(&name)
            || super::is_client_cert(name)
            || name == HEADS
            || name == AUDIT_SEAL =>
        {
            let bytes = reader.read_small(name, len)?;
            liaison_identity::identity::write_public(&staging.join(name), &bytes)
                .map_err(|e| BackupError::Invalid(e.to_string()))?;
        }
        other => {
            return Err(BackupError::Corrupt(format!("unknown section {other:?}")));
        }
    }
    Ok(())
}
