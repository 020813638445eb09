//! Writing a backup file from a database snapshot (taken by the running node, or
//! from the closed database) and the files of the node directory, signed with
//! the node key. It must never leave a complete-looking file behind a failure:
//! the file is written under a `.partial` name and renamed only once its
//! checksum and signature are written and synced.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::path::Path;

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{
    file_error, BackupError, Writer, AUDIT, AUDIT_SEAL, HEADS, KEYS, MANIFEST, PUBLIC_FILES,
    SNAPSHOT,
};
use crate::config::NodeDirSetup;
use liaison_identity::identity::NodeDir;
use liaison_store::store::SnapshotSummary;

/// The manifest format this build writes and reads: 2 is signed (format 1 was
/// protected by an unkeyed checksum only, and is refused).
pub const FORMAT: u32 = 2;

/// What must be read from the node directory before the database snapshot is
/// taken: the heads file names a change-log position our own chain has scanned
/// to, and a restored node resumes from there, so it must not be past the
/// snapshot.
#[derive(Debug, Default)]
pub struct PreSnapshot {
    heads: Option<Vec<u8>>,
}

impl PreSnapshot {
    pub fn capture(dir: &NodeDir) -> Result<PreSnapshot, BackupError> {
        Ok(PreSnapshot {
            heads: read_optional(&dir.heads_file())?,
        })
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, BackupError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(file_error(path, e)),
    }
}

/// What a backup holds, written first so a restore can tell before unpacking.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    pub created_ms: i64,
    pub name: String,
    pub node_id: String,
    pub records: u64,
    pub entries: u64,
    pub includes_keys: bool,
    pub version: String,
}

/// The outcome of [`write_backup`].
#[derive(Debug, Clone)]
pub struct BackupSummary {
    pub manifest: Manifest,
    pub bytes: u64,
    /// The digest the file's trailer signs (everything before the checksum).
    pub sha256: String,
    /// SHA-256 of the whole file, as `sha256sum` prints it.
    pub file_sha256: String,
}

/// Writes the backup file `out` (refusing an existing file): manifest, config and
/// certificates, the heads read before the snapshot (`pre`), the audit log and
/// its seal, the snapshot in `snapshot` (a file positioned anywhere), the keys
/// when `keys` holds a passphrase, then the checksum and the node's signature.
/// The file appears under its name only once complete, and stays only once
/// the audit log holds its `backup.create` entry (`os_user`: who ran it).
pub fn write_backup(
    dir: &NodeDir,
    out: &Path,
    pre: PreSnapshot,
    snapshot: &mut File,
    summary: SnapshotSummary,
    keys: Option<&SecretString>,
    os_user: &str,
) -> Result<BackupSummary, BackupError> {
    if out.exists() {
        return Err(file_error(out, "already exists; choose a new file name"));
    }
    let config = dir
        .load_config()
        .map_err(|e| BackupError::Invalid(e.to_string()))?;
    let identity = dir
        .load_identity(&config)
        .map_err(|e| BackupError::Invalid(format!("{e} (a backup is signed with the node key)")))?;
    let manifest = Manifest {
        format: FORMAT,
        created_ms: liaison_core::now_ms(),
        name: config.node.name.clone(),
        node_id: identity.node_id().to_hex(),
        records: summary.records,
        entries: summary.entries,
        includes_keys: keys.is_some(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let partial = out.with_extension("partial");
    let sections = Sections {
        pre,
        manifest: &manifest,
        keys,
        signer: &identity.signing_key,
    };
    let written = write_sections(dir, &partial, snapshot, sections);
    let (bytes, digest) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(|e| file_error(out, e))?;
    let logged = sha256_file(out).and_then(|file_sha256| {
        let written = BackupSummary {
            manifest,
            bytes,
            sha256: hex::encode(digest),
            file_sha256,
        };
        log_backup(dir, out, &written, &identity.signing_key, os_user)?;
        Ok(written)
    });
    if logged.is_err() {
        // An unlogged copy of every record must not be left lying around.
        let _ = std::fs::remove_file(out);
    }
    logged
}

/// The `backup.create` audit entry: which file, how big, its digest, whether it
/// holds the keys. Written under the log's file lock, so the same whether the
/// node runs or not; after the file is complete (its digest cannot be inside it).
fn log_backup(
    dir: &NodeDir,
    out: &Path,
    written: &BackupSummary,
    key: &ed25519_dalek::SigningKey,
    os_user: &str,
) -> Result<(), BackupError> {
    let file = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    let detail = serde_json::json!({
        "file": file.display().to_string(),
        "bytes": written.bytes,
        "sha256": written.file_sha256,
        "includes_keys": written.manifest.includes_keys,
        "records": written.manifest.records,
        "os_user": os_user,
    });
    liaison_store::audit::append_offline(&dir.audit_log(), key, "cli", "backup.create", detail)
        .map_err(|e| {
            BackupError::Invalid(format!(
                "the backup was not kept: the audit log could not record it ({e})"
            ))
        })
}

/// SHA-256 of a whole file, hex.
fn sha256_file(path: &Path) -> Result<String, BackupError> {
    use sha2::Digest;
    let mut file = File::open(path).map_err(|e| file_error(path, e))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| file_error(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

/// What goes into the file besides the node directory's files and the snapshot.
struct Sections<'a> {
    pre: PreSnapshot,
    manifest: &'a Manifest,
    keys: Option<&'a SecretString>,
    signer: &'a ed25519_dalek::SigningKey,
}

fn write_sections(
    dir: &NodeDir,
    path: &Path,
    snapshot: &mut File,
    sections: Sections<'_>,
) -> Result<(u64, [u8; 32]), BackupError> {
    let Sections {
        pre,
        manifest,
        keys,
        signer,
    } = sections;
    let io = |e: std::io::Error| file_error(path, e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // The backup holds every record the agency shares: owner only.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(io)?;
    let mut writer = Writer::new(BufWriter::new(file)).map_err(io)?;
    let manifest_json =
        serde_json::to_vec_pretty(manifest).map_err(|e| BackupError::Invalid(e.to_string()))?;
    writer.bytes(MANIFEST, &manifest_json).map_err(io)?;
    for name in PUBLIC_FILES {
        let source = dir.root.join(name);
        if source.exists() {
            let bytes = std::fs::read(&source).map_err(|e| file_error(&source, e))?;
            writer.bytes(name, &bytes).map_err(io)?;
        }
    }
    for (name, bytes) in client_certs(dir)? {
        writer.bytes(&name, &bytes).map_err(io)?;
    }
    if let Some(heads) = &pre.heads {
        writer.bytes(HEADS, heads).map_err(io)?;
    }
    // The seal before the log: the checkpoint it names is then in the lines read.
    let seal = read_optional(&liaison_store::audit::seal_path(&dir.audit_log()))?;
    let audit = complete_audit_lines(dir)?;
    if let Some(seal) = &seal {
        writer.bytes(AUDIT_SEAL, seal).map_err(io)?;
    }
    writer.bytes(AUDIT, &audit).map_err(io)?;
    let len = snapshot.seek(SeekFrom::End(0)).map_err(io)?;
    snapshot.seek(SeekFrom::Start(0)).map_err(io)?;
    writer.copy(SNAPSHOT, len, snapshot).map_err(io)?;
    if let Some(passphrase) = keys {
        let encrypted = super::keys::encrypt_keys(dir, passphrase)?;
        writer.bytes(KEYS, &encrypted).map_err(io)?;
    }
    let (buffered, digest) = writer.finish(Some(signer)).map_err(io)?;
    let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    Ok((bytes, digest))
}

/// The audit log up to its last complete line: the node may be appending.
fn complete_audit_lines(dir: &NodeDir) -> Result<Vec<u8>, BackupError> {
    let path = dir.audit_log();
    let mut bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(file_error(&path, e)),
    };
    let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(end);
    Ok(bytes)
}

/// Copies of the client certificates issued here (`clients/<sha256>.crt`).
fn client_certs(dir: &NodeDir) -> Result<Vec<(String, Vec<u8>)>, BackupError> {
    let folder = dir.root.join("clients");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = format!("clients/{}", entry.file_name().to_string_lossy());
        if super::is_client_cert(&name) {
            let bytes = std::fs::read(entry.path()).map_err(|e| file_error(&entry.path(), e))?;
            out.push((name, bytes));
        }
    }
    out.sort();
    Ok(out)
}
