//! The lookup key file: each epoch's random seed, kept in `DIR/keys/lookup.key`
//! (mode 0600, like the signing key) with its epoch number. When an epoch ends the
//! file is replaced by a fresh seed, so an old epoch's key is gone for good: a
//! later theft of the node directory cannot evaluate F on values under an old
//! filter. The key pair itself is derived in `liaison_core::lookup::epoch`. This
//! module must never keep an old seed.

use std::fs;
use std::io::Write;
use std::path::Path;

use liaison_core::lookup::epoch::{derive_key, Epoch, EpochKey};
use liaison_core::lookup::LookupError;
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// Loads the key for `epoch`, replacing the stored seed when it belongs to an
/// earlier epoch (the old seed is overwritten, then the file renamed over).
pub fn load_or_rotate(path: &Path, epoch: Epoch) -> Result<EpochKey, LookupError> {
    let seed = match read_seed(path)? {
        Some((number, seed)) if number == epoch.number => seed,
        _ => {
            let mut seed = Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(seed.as_mut());
            write_seed(path, epoch.number, &seed)?;
            seed
        }
    };
    derive_key(epoch, &seed)
}

fn key_error(path: &Path, reason: &str) -> LookupError {
    LookupError::Key {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// An epoch number and its seed.
type StoredSeed = (u64, Zeroizing<[u8; 32]>);

/// The stored (epoch, seed), or `None` when there is no file yet.
fn read_seed(path: &Path) -> Result<Option<StoredSeed>, LookupError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_error(path, &e.to_string())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(|e| key_error(path, &e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(key_error(
                path,
                "private key is readable by group or others; run `chmod 600` on it",
            ));
        }
    }
    let (number, seed_hex) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| key_error(path, "expected `EPOCH SEED_HEX`"))?;
    let number = number
        .parse::<u64>()
        .map_err(|_| key_error(path, "epoch: not a number"))?;
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(seed_hex, seed.as_mut())
        .map_err(|_| key_error(path, "seed: expected 64 hex digits"))?;
    Ok(Some((number, seed)))
}

/// Writes the new seed to a 0600 temporary file, syncs it, and renames it over
/// the old one (the old epoch's seed is gone once the rename is durable).
fn write_seed(path: &Path, number: u64, seed: &[u8; 32]) -> Result<(), LookupError> {
    let parent = path
        .parent()
        .ok_or_else(|| key_error(path, "no parent directory"))?;
    fs::create_dir_all(parent).map_err(|e| key_error(parent, &e.to_string()))?;
    let tmp = path.with_extension("key.new");
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let text = Zeroizing::new(format!("{number} {}\n", hex::encode(seed)));
    let mut file = options
        .open(&tmp)
        .map_err(|e| key_error(&tmp, &e.to_string()))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| key_error(&tmp, &e.to_string()))?;
    fs::rename(&tmp, path).map_err(|e| key_error(path, &e.to_string()))?;
    if let Ok(dir) = fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_within_an_epoch_and_replaced_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/lookup.key");
        let e1 = Epoch::at(0, 1);
        let a = load_or_rotate(&path, e1).unwrap();
        let b = load_or_rotate(&path, e1).unwrap();
        assert_eq!(a.public_key, b.public_key);
        let e2 = Epoch::at(3_600_000, 1);
        let c = load_or_rotate(&path, e2).unwrap();
        assert_ne!(a.public_key, c.public_key);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("1 "), "old epoch's seed replaced: {text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
