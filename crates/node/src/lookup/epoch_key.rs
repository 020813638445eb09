//! The lookup key file: each epoch's random seed, kept in `DIR/keys/lookup.key`
//! (mode 0600, like the signing key), one `EPOCH SEED_HEX` line per epoch: the
//! current epoch's, and near the end of an epoch the next one's too, so the
//! next epoch's filters can be built before it starts. When an epoch ends the
//! file is rewritten without its seed, so an old epoch's key is gone for good: a
//! later theft of the node directory cannot evaluate F on values under an old
//! filter. The key pair itself is derived in `liaison_core::lookup::epoch`. This
//! module must never keep a seed of an epoch that has ended.

use std::fs;
use std::io::Write;
use std::path::Path;

use liaison_core::lookup::epoch::{derive_key, Epoch, EpochKey};
use liaison_core::lookup::LookupError;
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// Loads the key for `epoch` (the current one), dropping every stored seed of an
/// earlier epoch (the file is rewritten and renamed over the old one).
pub fn load_or_rotate(path: &Path, epoch: Epoch) -> Result<EpochKey, LookupError> {
    load(path, epoch, epoch.number)
}

/// Loads (or creates) the key for `next`, the epoch after the current one,
/// keeping the current epoch's seed beside it.
pub fn load_ahead(path: &Path, next: Epoch) -> Result<EpochKey, LookupError> {
    load(path, next, next.number.saturating_sub(1))
}

/// The key of `epoch`; the file keeps only seeds of epochs `keep_from` and later.
fn load(path: &Path, epoch: Epoch, keep_from: u64) -> Result<EpochKey, LookupError> {
    let stored = read_seeds(path)?;
    let before = stored.len();
    let mut kept: Vec<StoredSeed> = stored
        .into_iter()
        .filter(|(number, _)| *number >= keep_from)
        .collect();
    let mut changed = kept.len() != before;
    if !kept.iter().any(|(number, _)| *number == epoch.number) {
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(seed.as_mut());
        kept.push((epoch.number, seed));
        kept.sort_by_key(|(number, _)| *number);
        changed = true;
    }
    if changed {
        write_seeds(path, &kept)?;
    }
    let (_, seed) = kept
        .iter()
        .find(|(number, _)| *number == epoch.number)
        .ok_or_else(|| key_error(path, "seed vanished while writing"))?;
    derive_key(epoch, seed)
}

fn key_error(path: &Path, reason: &str) -> LookupError {
    LookupError::Key {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// An epoch number and its seed.
type StoredSeed = (u64, Zeroizing<[u8; 32]>);

/// The stored (epoch, seed) lines, none when there is no file yet.
fn read_seeds(path: &Path) -> Result<Vec<StoredSeed>, LookupError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
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
    let mut seeds = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (number, seed_hex) = line
            .split_once(' ')
            .ok_or_else(|| key_error(path, "expected `EPOCH SEED_HEX` on each line"))?;
        let number = number
            .parse::<u64>()
            .map_err(|_| key_error(path, "epoch: not a number"))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(seed_hex, seed.as_mut())
            .map_err(|_| key_error(path, "seed: expected 64 hex digits"))?;
        seeds.push((number, seed));
    }
    Ok(seeds)
}

/// Writes the seeds to a 0600 temporary file, syncs it, and renames it over
/// the old one (a dropped epoch's seed is gone once the rename is durable).
fn write_seeds(path: &Path, seeds: &[StoredSeed]) -> Result<(), LookupError> {
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
    let mut text = Zeroizing::new(String::new());
    for (number, seed) in seeds {
        text.push_str(&format!("{number} {}\n", hex::encode(seed.as_ref())));
    }
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
        assert_eq!(text.lines().count(), 1, "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_next_key_is_kept_beside_the_current_and_used_when_its_epoch_comes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/lookup.key");
        let hour = 3_600_000;
        let (e0, e1, e2) = (Epoch::at(0, 1), Epoch::at(hour, 1), Epoch::at(2 * hour, 1));
        let now = load_or_rotate(&path, e0).unwrap();
        let ahead = load_ahead(&path, e1).unwrap();
        assert_ne!(now.public_key, ahead.public_key);
        // Both held, and stable, until the epoch turns.
        assert_eq!(
            load_or_rotate(&path, e0).unwrap().public_key,
            now.public_key
        );
        assert_eq!(load_ahead(&path, e1).unwrap().public_key, ahead.public_key);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
        // At the turn the prepared key is the one used, and epoch 0's seed goes.
        assert_eq!(
            load_or_rotate(&path, e1).unwrap().public_key,
            ahead.public_key
        );
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("1 "), "{text}");
        // Preparing epoch 2 keeps epoch 1's, never epoch 0's.
        load_ahead(&path, e2).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("1 ") && text.contains("\n2 "), "{text}");
    }
}
