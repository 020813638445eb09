//! Backup files: one file holding a node's database snapshot, audit log (and its
//! seal), signed log heads, config and certificates (and, only when asked, its
//! private keys encrypted with a passphrase), ending with a SHA-256 over
//! everything before it and the node's Ed25519 signature over that digest.
//!
//! ```text
//! "LIAISON-BACKUP-1\n"
//! section*      [u8 name length][name][u64 BE length][bytes]
//! "sha256"      SHA-256 of every byte before it
//! "ed25519"     signature by the node key over SIGNATURE_PREFIX ‖ digest
//! ```
//!
//! An unkeyed checksum only catches damage: whoever can edit the file can
//! recompute it. The signature is what ties the file to one node; [`restore`]
//! checks it against a key the operator vouches for (`--expect-node`, or the
//! keys inside the backup that the passphrase unlocks), before it decodes
//! anything, and unpacks into a staging directory renamed into place only when
//! everything verified.
//!
//! This module must never write a private key unencrypted into a backup, never
//! take a passphrase from a command-line argument, never unpack a section name
//! that is not on its list (no path from a file reaches the filesystem), and
//! never trust a section before the signature over it verified.

mod create;
mod keys;
mod restore;

pub use create::{write_backup, BackupSummary, Manifest, PreSnapshot, FORMAT};
pub use keys::passphrase;
pub use restore::{restore, ExpectedNode, RestoreReport};

use std::io::{Read, Write};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use liaison_store::store::StoreError;

pub const MAGIC: &[u8] = b"LIAISON-BACKUP-1\n";
const CHECKSUM: &str = "sha256";
const SIGNATURE: &str = "ed25519";
/// Domain separation: a backup signature can never be taken for a record's,
/// a checkpoint's or a head's.
const SIGNATURE_PREFIX: &[u8] = b"liaison/v1/backup\0";
const MANIFEST: &str = "manifest.json";
const SNAPSHOT: &str = "db.snapshot";
const AUDIT: &str = "audit.log";
const KEYS: &str = "keys.age";
/// The audit log's seal (its latest checkpoint), so the restored log verifies.
const AUDIT_SEAL: &str = "audit.log.seal";
/// Signed log heads: our own chain's position and the heads seen. Without it a
/// restored node whose old records were purged would rebuild a different chain
/// and partners would record a false conflict.
const HEADS: &str = "heads.json";

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
    #[error("backup not authenticated: {0}; nothing was restored")]
    Unauthenticated(String),
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

    /// Appends the checksum section and, with `signer`, the signature over
    /// it; returns the inner writer and the checksum.
    pub fn finish(mut self, signer: Option<&SigningKey>) -> std::io::Result<(W, [u8; 32])> {
        let digest: [u8; 32] = self.hasher.clone().finalize().into();
        self.trailer(CHECKSUM, &digest)?;
        if let Some(key) = signer {
            let signature = key.sign(&signed_message(&digest));
            self.trailer(SIGNATURE, &signature.to_bytes())?;
        }
        Ok((self.inner, digest))
    }

    /// A section outside the checksum.
    fn trailer(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let name_len = u8::try_from(name.len()).map_err(std::io::Error::other)?;
        self.inner.write_all(&[name_len])?;
        self.inner.write_all(name.as_bytes())?;
        self.inner.write_all(&(bytes.len() as u64).to_be_bytes())?;
        self.inner.write_all(bytes)
    }
}

fn signed_message(digest: &[u8; 32]) -> Vec<u8> {
    [SIGNATURE_PREFIX, digest.as_slice()].concat()
}

/// The end of a file whose checksum verified: the digest and, if the file
/// carries one, the signature over it (not yet checked).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trailer {
    pub digest: [u8; 32],
    pub signature: Option<[u8; 64]>,
}

impl Trailer {
    /// Checks the signature against `key` (the node the operator vouches for).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), BackupError> {
        let node = hex::encode(key.to_bytes());
        let signature = self.signature.ok_or_else(|| {
            BackupError::Unauthenticated(
                "the file carries no signature (written before backups were signed, or its end was cut off); make a new backup with this release, or restore it with the release that wrote it (0.1.0) and start this build on the restored directory (docs/OPERATIONS.md, \"Upgrade and rollback\")".into(),
            )
        })?;
        key.verify_strict(&signed_message(&self.digest), &Signature::from_bytes(&signature))
            .map_err(|_| {
                BackupError::Unauthenticated(format!(
                    "the signature does not verify under node {node}: the file was altered after it was written, or it is not a backup of that node"
                ))
            })
    }
}

/// Reads sections, hashing every byte, and checks the checksum at the end.
pub(crate) struct Reader<R: Read> {
    inner: R,
    hasher: Sha256,
    /// Bytes left in the file: a section claiming more is a truncated file.
    left: u64,
    /// Set once the checksum verified.
    trailer: Option<Trailer>,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R, file_len: u64) -> Result<Self, BackupError> {
        let mut reader = Reader {
            inner,
            hasher: Sha256::new(),
            left: file_len,
            trailer: None,
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

    /// The digest and signature, once [`Reader::next`] returned `None`.
    pub fn trailer(&self) -> Option<Trailer> {
        self.trailer
    }

    /// The next section's name and length; `None` once the checksum verified
    /// (the signature after it is read, not checked: see [`Trailer::verify`]).
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
        let signature = self.read_signature()?;
        if self.inner.read(&mut [0u8; 1]).unwrap_or(0) != 0 {
            return Err(BackupError::Corrupt(
                "bytes after the signature (two files joined?)".into(),
            ));
        }
        self.trailer = Some(Trailer { digest, signature });
        Ok(None)
    }

    /// The signature section after the checksum, if the file goes on.
    fn read_signature(&mut self) -> Result<Option<[u8; 64]>, BackupError> {
        let mut name_len = [0u8; 1];
        if self.inner.read(&mut name_len).unwrap_or(0) == 0 {
            return Ok(None);
        }
        let expected = [
            &[SIGNATURE.len() as u8],
            SIGNATURE.as_bytes(),
            &64u64.to_be_bytes(),
        ]
        .concat();
        let mut header = vec![0u8; expected.len() - 1];
        let mut signature = [0u8; 64];
        if self.inner.read_exact(&mut header).is_err() {
            return Err(self.truncated("the signature"));
        }
        if name_len[0] != expected[0] || header != expected[1..] {
            return Err(BackupError::Corrupt(
                "the section after the checksum is not the signature".into(),
            ));
        }
        self.inner
            .read_exact(&mut signature)
            .map_err(|_| self.truncated("the signature"))?;
        Ok(Some(signature))
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
