//! Restoring a backup into a new node directory: unpack into a staging directory
//! beside it, verify the checksum, rebuild the database, check the audit chain,
//! and only then rename the staging directory into place. Any failure removes
//! the staging directory: no half-restored node is ever left behind.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;

use super::{
    file_error, BackupError, Manifest, Reader, AUDIT, KEYS, KEY_FILES, MANIFEST, PUBLIC_FILES,
    SNAPSHOT,
};
use crate::store::Store;

/// What a restore produced.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub records: u64,
    /// Key files written from the backup's encrypted keys section.
    pub keys_restored: Vec<String>,
    /// Key files the node needs that the backup did not hold: copy them in.
    pub keys_missing: Vec<&'static str>,
}

/// Restores the backup `from` into the new directory `to` (absent or empty).
/// `passphrase` is needed only when the backup holds keys.
pub fn restore(
    from: &Path,
    to: &Path,
    passphrase: Option<&SecretString>,
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
    match unpack(from, &staging, passphrase) {
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

/// Sections found in the file.
#[derive(Default)]
struct Unpacked {
    manifest: Option<Manifest>,
    snapshot: bool,
    keys: Option<Vec<u8>>,
}

fn unpack(
    from: &Path,
    staging: &Path,
    passphrase: Option<&SecretString>,
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
    // The checksum verified: the content is what the backup wrote.
    let manifest = found
        .manifest
        .ok_or_else(|| BackupError::Corrupt("no manifest section".into()))?;
    if !found.snapshot {
        return Err(BackupError::Corrupt("no database section".into()));
    }
    let config = std::fs::read_to_string(staging.join("config.toml"))
        .map_err(|_| BackupError::Corrupt("no config.toml section".into()))?;
    crate::config::Config::from_toml(&config)
        .map_err(|e| BackupError::Invalid(format!("config.toml in the backup: {e}")))?;
    let keys_restored = match (&found.keys, passphrase) {
        (Some(encrypted), Some(passphrase)) => {
            super::keys::restore_keys(encrypted, passphrase, staging)?
        }
        (Some(_), None) => {
            return Err(BackupError::Passphrase(format!(
                "the backup holds encrypted keys: give --passphrase-file FILE or set {}",
                super::keys::PASSPHRASE_ENV
            )))
        }
        (None, _) => Vec::new(),
    };
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
    if audit.metadata().map(|m| m.len() > 0).unwrap_or(false) {
        crate::audit::verify(&audit).map_err(|e| BackupError::Corrupt(e.to_string()))?;
    }
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
    })
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
        MANIFEST => {
            let bytes = reader.read_small(name, len)?;
            let manifest: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| BackupError::Corrupt(format!("manifest: {e}")))?;
            if manifest.format != 1 {
                return Err(BackupError::Invalid(format!(
                    "manifest.format: {} is not a format this build reads (1)",
                    manifest.format
                )));
            }
            found.manifest = Some(manifest);
        }
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
        name if PUBLIC_FILES.contains(&name) || super::is_client_cert(name) => {
            let bytes = reader.read_small(name, len)?;
            crate::identity::write_public(&staging.join(name), &bytes)
                .map_err(|e| BackupError::Invalid(e.to_string()))?;
        }
        other => {
            return Err(BackupError::Corrupt(format!("unknown section {other:?}")));
        }
    }
    Ok(())
}
