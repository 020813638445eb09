//! The two address encodings no crate in the tree already checks: Monero's
//! block base58 with its Keccak-256 checksum, and Bitcoin Cash's CashAddr with
//! its 40-bit polymod checksum. Pure checking only; `wallet.rs` owns which coin
//! an address belongs to and its canonical form. Never panics on any input.

/// Monero: base58 in 8-byte blocks (11 characters each; a shorter last block),
/// a varint network prefix, the keys, and the first 4 bytes of Keccak-256.
pub(super) mod monero {
    use sha3::{Digest, Keccak256};

    use crate::indicator::{invalid, IndicatorError, Kind};

    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    /// Characters a block of n bytes (index) encodes to.
    const ENCODED_BLOCK: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];
    const FULL_BLOCK_CHARS: usize = 11;
    const FULL_BLOCK_BYTES: usize = 8;
    const STANDARD_CHARS: usize = 95;
    const INTEGRATED_CHARS: usize = 106;
    const CHECKSUM: usize = 4;
    /// prefix + spend key + view key + checksum.
    const STANDARD_BYTES: usize = 1 + 32 + 32 + CHECKSUM;
    /// ... plus an 8-byte payment id.
    const INTEGRATED_BYTES: usize = STANDARD_BYTES + 8;
    const MAINNET_STANDARD: u8 = 18;
    const MAINNET_INTEGRATED: u8 = 19;
    const MAINNET_SUBADDRESS: u8 = 42;
    /// Testnet (53, 54, 63) and stagenet (24, 25, 36) prefixes.
    const NOT_MAINNET: [u8; 6] = [53, 54, 63, 24, 25, 36];

    /// 95 or 106 base58 characters: the shape of a Monero address.
    pub(in crate::indicator) fn looks_like(text: &str) -> bool {
        matches!(text.len(), STANDARD_CHARS | INTEGRATED_CHARS)
            && text.bytes().all(|b| ALPHABET.contains(&b))
    }

    /// Checks a Monero mainnet address (standard, subaddress or integrated).
    pub(in crate::indicator) fn check(text: &str) -> Result<(), IndicatorError> {
        let bytes = decode(text).ok_or_else(|| {
            invalid(
                Kind::Wallet,
                "not a valid Monero address: a base58 block is out of range",
            )
        })?;
        let split = bytes.len().saturating_sub(CHECKSUM);
        let (body, checksum) = bytes.split_at(split);
        let hash = Keccak256::digest(body);
        if hash.get(..CHECKSUM) != Some(checksum) {
            return Err(invalid(
                Kind::Wallet,
                "Monero checksum (Keccak-256) failed: a character is wrong or its case was changed",
            ));
        }
        let prefix = body.first().copied().unwrap_or_default();
        let expected = match prefix {
            MAINNET_STANDARD | MAINNET_SUBADDRESS => STANDARD_BYTES,
            MAINNET_INTEGRATED => INTEGRATED_BYTES,
            p if NOT_MAINNET.contains(&p) => {
                return Err(invalid(
                    Kind::Wallet,
                    "Monero testnet/stagenet address; only mainnet addresses are accepted",
                ))
            }
            p => {
                return Err(invalid(
                    Kind::Wallet,
                    format!("Monero network prefix {p} is not a mainnet address (18, 19 or 42)"),
                ))
            }
        };
        if bytes.len() != expected {
            return Err(invalid(
                Kind::Wallet,
                format!(
                    "Monero address with prefix {prefix} has {} bytes; expected {expected}",
                    bytes.len()
                ),
            ));
        }
        Ok(())
    }

    /// Block base58 decoding; `None` when a block overflows its size.
    fn decode(text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(INTEGRATED_BYTES);
        for chunk in text.as_bytes().chunks(FULL_BLOCK_CHARS) {
            let size = ENCODED_BLOCK.iter().position(|&n| n == chunk.len())?;
            let mut num: u128 = 0;
            for &c in chunk {
                let digit = ALPHABET.iter().position(|&a| a == c)?;
                num = num.checked_mul(58)?.checked_add(digit as u128)?;
            }
            if size < FULL_BLOCK_BYTES && num >> (8 * size) != 0 || num > u128::from(u64::MAX) {
                return None;
            }
            let be = num.to_be_bytes();
            out.extend_from_slice(be.get(be.len() - size..)?);
        }
        Some(out)
    }

    #[cfg(test)]
    pub(in crate::indicator) fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(FULL_BLOCK_BYTES) {
            let mut num = chunk.iter().fold(0u128, |n, &b| (n << 8) | u128::from(b));
            let mut block = vec![ALPHABET[0]; ENCODED_BLOCK[chunk.len()]];
            for slot in block.iter_mut().rev() {
                *slot = ALPHABET[(num % 58) as usize];
                num /= 58;
            }
            out.push_str(std::str::from_utf8(&block).unwrap_or_default());
        }
        out
    }
}

/// Bitcoin Cash CashAddr: `bitcoincash:` + base32 (the bech32 characters) of a
/// version byte and a hash, with a 40-bit BCH-code checksum over the prefix.
pub(super) mod cashaddr {
    use crate::indicator::{invalid, IndicatorError, Kind};

    const PREFIX: &str = "bitcoincash";
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    /// Version byte + 20-byte hash, in 5-bit groups, plus 8 checksum groups.
    const PAYLOAD_CHARS: usize = 42;
    const CHECKSUM_CHARS: usize = 8;
    /// P2PKH and P2SH with a 160-bit hash.
    const VERSIONS: [u8; 2] = [0x00, 0x08];

    /// A CashAddr payload written without its `bitcoincash:` prefix.
    pub(in crate::indicator) fn looks_like_bare(text: &str) -> bool {
        text.len() == PAYLOAD_CHARS
            && matches!(text.as_bytes().first(), Some(b'q' | b'p' | b'Q' | b'P'))
            && text
                .bytes()
                .all(|b| CHARSET.contains(&b.to_ascii_lowercase()))
    }

    /// Checks a mainnet CashAddr and returns it in lower case with its prefix.
    pub(in crate::indicator) fn normalize(text: &str) -> Result<String, IndicatorError> {
        let has_upper = text.bytes().any(|b| b.is_ascii_uppercase());
        let has_lower = text.bytes().any(|b| b.is_ascii_lowercase());
        if has_upper && has_lower {
            return Err(invalid(
                Kind::Wallet,
                "Bitcoin Cash CashAddr mixes upper and lower case, which the format forbids",
            ));
        }
        let lower = text.to_ascii_lowercase();
        let payload = lower
            .strip_prefix("bitcoincash:")
            .unwrap_or(&lower)
            .to_string();
        let mut groups = Vec::with_capacity(payload.len());
        for c in payload.bytes() {
            let value = CHARSET.iter().position(|&x| x == c).ok_or_else(|| {
                invalid(
                    Kind::Wallet,
                    format!(
                        "{:?} is not a CashAddr character in a Bitcoin Cash address",
                        char::from(c)
                    ),
                )
            })?;
            groups.push(value as u8);
        }
        if groups.len() != PAYLOAD_CHARS {
            return Err(invalid(
                Kind::Wallet,
                format!(
                    "a Bitcoin Cash CashAddr has {PAYLOAD_CHARS} characters after bitcoincash: (found {}); other hash sizes are not supported",
                    groups.len()
                ),
            ));
        }
        if polymod(&groups) != 0 {
            return Err(invalid(
                Kind::Wallet,
                "Bitcoin Cash CashAddr checksum failed: a character is wrong",
            ));
        }
        let data = groups.get(..groups.len() - CHECKSUM_CHARS).unwrap_or(&[]);
        let version =
            data.first().map(|g| g << 3).unwrap_or(0) | data.get(1).map(|g| g >> 2).unwrap_or(0);
        if !VERSIONS.contains(&version) {
            return Err(invalid(
                Kind::Wallet,
                format!("Bitcoin Cash CashAddr version byte {version:#04x} is not supported (P2PKH 0x00 or P2SH 0x08 with a 160-bit hash)"),
            ));
        }
        // The last group holds 2 padding bits after the 168 data bits.
        if data.last().is_some_and(|g| g & 0b11 != 0) {
            return Err(invalid(
                Kind::Wallet,
                "Bitcoin Cash CashAddr has non-zero padding bits",
            ));
        }
        Ok(format!("{PREFIX}:{payload}"))
    }

    /// The CashAddr checksum over the prefix (low 5 bits of each character), a
    /// zero separator and the payload; 0 for a valid address.
    fn polymod(payload: &[u8]) -> u64 {
        let prefix = PREFIX.bytes().map(|b| b & 0x1f);
        let all = prefix.chain([0]).chain(payload.iter().copied());
        let mut c: u64 = 1;
        for d in all {
            let c0 = c >> 35;
            c = ((c & 0x07_ffff_ffff) << 5) ^ u64::from(d);
            for (bit, generator) in [
                0x98_f2bc_8e61,
                0x79_b76d_99e2,
                0xf3_3e5f_b3c4,
                0xae_2eab_e2a8,
                0x1e_4f43_e470,
            ]
            .into_iter()
            .enumerate()
            {
                if c0 & (1 << bit) != 0 {
                    c ^= generator;
                }
            }
        }
        c ^ 1
    }
}
