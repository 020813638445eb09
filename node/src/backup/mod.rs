//! Backup files: one file holding a node's database snapshot, audit log, config
//! and certificates (and, only when asked, its private keys encrypted with a
//! passphrase), ending with a SHA-256 over everything before it.
//!
//! ```text
//! "LIAISON-BACKUP-1\n"
//! section*      [u8 name length][name][u64 BE length][bytes]
//! "sha256"      the last section: SHA-256 of every byte before it
//! ```
//!
//! Restoring ([`restore`]) checks the checksum while it unpacks into a staging
//! directory and renames it into place only when everything verified.
//!
//! This module must never write a private key unencrypted into a backup, never
//! take a passphrase from a command-line argument, and never unpack a section
//! name that is not on its list (no path from a file reaches the filesystem).

mod create;
mod keys;
mod restore;

pub use create::{write_backup, BackupSummary, Manifest};
pub use keys::passphrase;
pub use restore::{restore, RestoreReport};

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use crate::store::StoreError;

pub const MAGIC: &[u8] = b"LIAISON-BACKUP-1\n";
const CHECKSUM: &str = "sha256";
const MANIFEST: &str = "manifest.json";
const SNAPSHOT: &str = "db.snapshot";
const AUDIT: &str = "audit.log";
const KEYS: &str = "keys.age";

/// Files copied as they are (config and certificates), relative to the node directory.
const PUBLIC_FILES: &[&str] = &[
    "config.toml",
    "tls/node.crt",
    "ca/ca.crt",
    "admin/client.crt",
    "tls/previous.crt",
    "tls/next.crt",
    "tls/rotation.json",
];
/// Private keys: only in an encrypted `keys.age` section, restored with mode 0600.
pub const KEY_FILES: &[&str] = &[
    "keys/signing.key",
    "tls/node.key",
    "ca/ca.key",
    "admin/client.key",
    "tls/previous.key",
    "tls/next.key",
];

/// Backup and restore failures.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("backup file is damaged: {0}; nothing was restored")]
    Corrupt(String),
    #[error("passphrase: {0}")]
    Passphrase(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

fn file_error(path: &std::path::Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes sections, hashing every byte.
pub(crate) struct Writer<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W) -> std::io::Result<Self> {
        let mut writer = Writer {
            inner,
            hasher: Sha256::new(),
        };
        writer.raw(MAGIC)?;
        Ok(writer)
    }

    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }

    fn header(&mut self, name: &str, len: u64) -> std::io::Result<()> {
        let name_len = u8::try_from(name.len()).map_err(std::io::Error::other)?;
        self.raw(&[name_len])?;
        self.raw(name.as_bytes())?;
        self.raw(&len.to_be_bytes())
    }

    pub fn bytes(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.header(name, bytes.len() as u64)?;
        self.raw(bytes)
    }

    /// A section of exactly `len` bytes read from `source`.
    pub fn copy(&mut self, name: &str, len: u64, source: &mut dyn Read) -> std::io::Result<()> {
        self.header(name, len)?;
        let mut remaining = len;
        let mut buffer = vec![0u8; 256 * 1024];
        while remaining > 0 {
            let want = remaining.min(buffer.len() as u64) as usize;
            source.read_exact(&mut buffer[..want])?;
            self.raw(&buffer[..want])?;
            remaining -= want as u64;
        }
        Ok(())
    }

    /// Appends the checksum section; returns the inner writer and the checksum.
    pub fn finish(mut self) -> std::io::Result<(W, [u8; 32])> {
        let digest: [u8; 32] = self.hasher.clone().finalize().into();
        let name_len = CHECKSUM.len() as u8;
        self.inner.write_all(&[name_len])?;
        self.inner.write_all(CHECKSUM.as_bytes())?;
        self.inner.write_all(&32u64.to_be_bytes())?;
        self.inner.write_all(&digest)?;
        Ok((self.inner, digest))
    }
}

/// Reads sections, hashing every byte, and checks the checksum at the end.
pub(crate) struct Reader<R: Read> {
    inner: R,
    hasher: Sha256,
    /// Bytes left in the file: a section claiming more is a truncated file.
    left: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R, file_len: u64) -> Result<Self, BackupError> {
        let mut reader = Reader {
            inner,
            hasher: Sha256::new(),
            left: file_len,
        };
        let mut magic = vec![0u8; MAGIC.len()];
        reader
            .read_hashed(&mut magic)
            .map_err(|_| BackupError::Corrupt("not a Liaison backup (too short)".into()))?;
        if magic != MAGIC {
            return Err(BackupError::Corrupt(
                "not a Liaison backup (its first line is not LIAISON-BACKUP-1)".into(),
            ));
        }
        Ok(reader)
    }

    fn read_hashed(&mut self, buffer: &mut [u8]) -> std::io::Result<()> {
        self.inner.read_exact(buffer)?;
        self.left = self.left.saturating_sub(buffer.len() as u64);
        self.hasher.update(&*buffer);
        Ok(())
    }

    fn truncated(&self, what: &str) -> BackupError {
        BackupError::Corrupt(format!("the file is truncated (it ends inside {what})"))
    }

    /// The next section's name and length; `None` once the checksum verified.
    pub fn next(&mut self) -> Result<Option<(String, u64)>, BackupError> {
        let digest: [u8; 32] = self.hasher.clone().finalize().into();
        let mut name_len = [0u8; 1];
        self.read_hashed(&mut name_len)
            .map_err(|_| self.truncated("a section header; its checksum is missing"))?;
        let mut name = vec![0u8; usize::from(name_len[0])];
        self.read_hashed(&mut name)
            .map_err(|_| self.truncated("a section header"))?;
        let name = String::from_utf8(name)
            .map_err(|_| BackupError::Corrupt("a section name is not UTF-8".into()))?;
        let mut len = [0u8; 8];
        self.read_hashed(&mut len)
            .map_err(|_| self.truncated("a section header"))?;
        let len = u64::from_be_bytes(len);
        if len > self.left {
            return Err(self.truncated(&format!("section {name:?}")));
        }
        if name != CHECKSUM {
            return Ok(Some((name, len)));
        }
        let mut stored = [0u8; 32];
        if len != 32 || self.inner.read_exact(&mut stored).is_err() {
            return Err(self.truncated("the checksum"));
        }
        if stored != digest {
            return Err(BackupError::Corrupt(
                "checksum mismatch: the file was altered or damaged since it was written".into(),
            ));
        }
        if self.inner.read(&mut [0u8; 1]).unwrap_or(0) != 0 {
            return Err(BackupError::Corrupt(
                "bytes after the checksum (two files joined?)".into(),
            ));
        }
        Ok(None)
    }

    /// Copies the current section (`len` bytes) into `out`.
    pub fn copy_to(
        &mut self,
        name: &str,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<(), BackupError> {
        let mut remaining = len;
        let mut buffer = vec![0u8; 256 * 1024];
        while remaining > 0 {
            let want = remaining.min(buffer.len() as u64) as usize;
            self.read_hashed(&mut buffer[..want])
                .map_err(|_| self.truncated(&format!("section {name:?}")))?;
            out.write_all(&buffer[..want])
                .map_err(|e| BackupError::Invalid(format!("{name}: {e}")))?;
            remaining -= want as u64;
        }
        Ok(())
    }

    /// Reads the current section into memory (small sections only).
    pub fn read_small(&mut self, name: &str, len: u64) -> Result<Vec<u8>, BackupError> {
        if len > 64 * 1024 * 1024 {
            return Err(BackupError::Corrupt(format!(
                "section {name:?} claims {len} bytes"
            )));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        self.copy_to(name, len, &mut bytes)?;
        Ok(bytes)
    }
}

/// Whether `name` is a certificate copy in `clients/` (`<64 hex>.crt`).
fn is_client_cert(name: &str) -> bool {
    name.strip_prefix("clients/")
        .and_then(|rest| rest.strip_suffix(".crt"))
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
