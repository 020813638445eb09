//! The private keys in a backup: packed into an inner section list, encrypted
//! with age to a passphrase (scrypt), and unpacked again on restore.
//!
//! The passphrase comes from a file or the environment, never from an argument
//! (arguments are visible to every user of the machine in the process list).

use std::io::{Read, Write};
use std::path::Path;

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use super::{file_error, BackupError, Reader, Writer, KEY_FILES};
use liaison_identity::identity::NodeDir;

/// The environment variable holding the passphrase when no file is given.
pub const PASSPHRASE_ENV: &str = "LIAISON_BACKUP_PASSPHRASE";
const MIN_PASSPHRASE_CHARS: usize = 12;

/// The passphrase from `file` (its first line), else from the environment.
pub fn passphrase(file: Option<&Path>) -> Result<Option<SecretString>, BackupError> {
    let text = match file {
        Some(path) => {
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_error(path, e))?)
        }
        None => match std::env::var(PASSPHRASE_ENV) {
            Ok(value) => Zeroizing::new(value),
            Err(_) => return Ok(None),
        },
    };
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BackupError::Passphrase(format!(
            "shorter than {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(Some(SecretString::from(line.to_string())))
}

/// The node's key files that exist, packed and encrypted to `passphrase`.
pub(super) fn encrypt_keys(
    dir: &NodeDir,
    passphrase: &SecretString,
) -> Result<Vec<u8>, BackupError> {
    let mut packed = Writer::new(Vec::new()).map_err(|e| BackupError::Invalid(e.to_string()))?;
    for name in KEY_FILES {
        let path = dir.root.join(name);
        if !path.exists() {
            continue;
        }
        let bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| file_error(&path, e))?);
        packed
            .bytes(name, &bytes)
            .map_err(|e| BackupError::Invalid(e.to_string()))?;
    }
    let plain = Zeroizing::new(
        packed
            .finish(None)
            .map_err(|e| BackupError::Invalid(e.to_string()))?
            .0,
    );
    let encryptor = age::Encryptor::with_user_passphrase(passphrase.clone());
    let mut encrypted = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut encrypted)
        .map_err(|e| BackupError::Invalid(format!("encrypting the keys: {e}")))?;
    writer
        .write_all(&plain)
        .and_then(|_| writer.finish().map(|_| ()))
        .map_err(|e| BackupError::Invalid(format!("encrypting the keys: {e}")))?;
    Ok(encrypted)
}

/// Key files decrypted from a backup, not yet written anywhere.
pub(super) struct DecryptedKeys(Vec<(String, Zeroizing<Vec<u8>>)>);

impl DecryptedKeys {
    /// The public half of `keys/signing.key`: the node id these keys belong to.
    pub fn node_key(&self) -> Result<ed25519_dalek::VerifyingKey, BackupError> {
        let (_, seed_hex) = self
            .0
            .iter()
            .find(|(name, _)| name == KEY_FILES[0])
            .ok_or_else(|| BackupError::Corrupt("keys section: no keys/signing.key".into()))?;
        let seed = Zeroizing::new(
            std::str::from_utf8(seed_hex)
                .ok()
                .and_then(|text| hex::decode(text.trim()).ok())
                .ok_or_else(|| BackupError::Corrupt("keys/signing.key: not a hex seed".into()))?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| BackupError::Corrupt("keys/signing.key: not 32 bytes".into()))?;
        Ok(ed25519_dalek::SigningKey::from_bytes(seed).verifying_key())
    }

    /// Writes each key into `root` with mode 0600; returns their names.
    pub fn write(&self, root: &Path) -> Result<Vec<String>, BackupError> {
        let mut written = Vec::new();
        for (name, bytes) in &self.0 {
            liaison_identity::identity::write_private(&root.join(name), bytes)
                .map_err(|e| BackupError::Invalid(e.to_string()))?;
            written.push(name.clone());
        }
        Ok(written)
    }
}

/// Decrypts the keys section (age authenticates it: only the passphrase
/// holder can have written it) into memory.
pub(super) fn decrypt_keys(
    encrypted: &[u8],
    passphrase: &SecretString,
) -> Result<DecryptedKeys, BackupError> {
    let decryptor = age::Decryptor::new(encrypted)
        .map_err(|e| BackupError::Corrupt(format!("keys section: {e}")))?;
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| BackupError::Passphrase(format!("cannot decrypt the keys ({e})")))?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(|e| BackupError::Corrupt(format!("keys section: {e}")))?;
    let mut inner = Reader::new(&plain[..], plain.len() as u64)?;
    let mut keys = Vec::new();
    while let Some((name, len)) = inner.next()? {
        if !KEY_FILES.contains(&name.as_str()) {
            return Err(BackupError::Corrupt(format!(
                "keys section: unexpected entry {name:?}"
            )));
        }
        let bytes = Zeroizing::new(inner.read_small(&name, len)?);
        keys.push((name, bytes));
    }
    Ok(DecryptedKeys(keys))
}
