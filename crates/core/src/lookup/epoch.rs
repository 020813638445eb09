//! Key epochs: which epoch a moment falls in, and the epoch's VOPRF key pair
//! derived from that epoch's seed.
//!
//! Each epoch has its own random seed; the key pair is the RFC 9497
//! DeriveKeyPair of that seed with the epoch number in its info string. Keeping
//! the seed (and replacing it when the epoch ends, so an old epoch's key is gone
//! for good) is the node's job (`liaison-node`'s `lookup::epoch_key`). This
//! module must never derive one epoch's key from another's, and never do I/O.

use voprf::{Group, Ristretto255, VoprfServer};

use super::LookupError;

const MS_PER_HOUR: i64 = 3_600_000;
const INFO: &[u8] = b"liaison/v1/lookup-key";

/// One key epoch: its number and the span of time it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    pub number: u64,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
}

impl Epoch {
    /// The epoch `now_ms` falls in, for epochs of `hours` hours from the Unix epoch.
    pub fn at(now_ms: i64, hours: u32) -> Epoch {
        let length = i64::from(hours.max(1)) * MS_PER_HOUR;
        let number = now_ms.max(0) / length;
        Epoch {
            number: number as u64,
            not_before_ms: number * length,
            not_after_ms: (number + 1) * length,
        }
    }
}

/// The epoch's key pair.
pub struct EpochKey {
    pub epoch: Epoch,
    pub server: VoprfServer<Ristretto255>,
    /// The public key, serialised (32 bytes).
    pub public_key: [u8; 32],
}

/// The key pair of `epoch` derived from its 32-byte seed.
pub fn derive_key(epoch: Epoch, seed: &[u8; 32]) -> Result<EpochKey, LookupError> {
    let mut info = INFO.to_vec();
    info.extend_from_slice(&epoch.number.to_be_bytes());
    let server = VoprfServer::<Ristretto255>::new_from_seed(seed, &info).map_err(|e| {
        LookupError::Invalid(format!("lookup key: cannot derive the key pair: {e:?}"))
    })?;
    let public_key = <Ristretto255 as Group>::serialize_elem(server.get_public_key()).into();
    Ok(EpochKey {
        epoch,
        server,
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_cover_time_without_gaps() {
        let e = Epoch::at(25 * MS_PER_HOUR, 24);
        assert_eq!(e.number, 1);
        assert_eq!(e.not_before_ms, 24 * MS_PER_HOUR);
        assert_eq!(e.not_after_ms, 48 * MS_PER_HOUR);
        assert_eq!(Epoch::at(e.not_after_ms, 24).number, 2);
    }

    #[test]
    fn one_seed_gives_one_key_per_epoch() {
        let seed = [7u8; 32];
        let a = derive_key(Epoch::at(0, 1), &seed).unwrap();
        let b = derive_key(Epoch::at(0, 1), &seed).unwrap();
        let c = derive_key(Epoch::at(MS_PER_HOUR, 1), &seed).unwrap();
        assert_eq!(a.public_key, b.public_key);
        assert_ne!(
            a.public_key, c.public_key,
            "the epoch number is in the derivation"
        );
    }
}
