//! Cryptocurrency wallet addresses: Bitcoin (base58check P2PKH/P2SH and
//! bech32/bech32m segwit on mainnet), Ethereum (EIP-55) and Tron (base58check).
//!
//! Checksums are always verified: a single mistyped character must be an error,
//! never a new indicator that silently matches nothing.

use bech32::primitives::decode::{SegwitHrpstring, SegwitHrpstringError};
use sha3::{Digest, Keccak256};

use super::{invalid, IndicatorError, Kind, Normalized};

const BTC_P2PKH_VERSION: u8 = 0x00;
const BTC_P2SH_VERSION: u8 = 0x05;
const TRON_VERSION: u8 = 0x41;
/// Version byte plus a 20-byte hash.
const BASE58_PAYLOAD_LEN: usize = 21;
const ETH_HEX_DIGITS: usize = 40;

pub(super) fn normalize(input: &str) -> Result<Normalized, IndicatorError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(invalid(Kind::Wallet, "empty address"));
    }
    let lower = text.to_ascii_lowercase();
    let value = if lower.starts_with("bc1") {
        normalize_segwit(text)?
    } else if lower.starts_with("tb1") || lower.starts_with("bcrt1") {
        return Err(invalid(
            Kind::Wallet,
            "Bitcoin testnet/regtest address; only mainnet (bc1…) addresses are accepted",
        ));
    } else if let Some(hex) = text.strip_prefix("0x") {
        normalize_ethereum(hex)?
    } else {
        normalize_base58check(text)?
    };
    Ok(Normalized::new(Kind::Wallet, value))
}

/// BIP-173/BIP-350 segwit address on mainnet, written in lower case.
fn normalize_segwit(text: &str) -> Result<String, IndicatorError> {
    let has_upper = text.chars().any(|c| c.is_ascii_uppercase());
    let has_lower = text.chars().any(|c| c.is_ascii_lowercase());
    if has_upper && has_lower {
        return Err(invalid(
            Kind::Wallet,
            "bech32 address mixes upper and lower case, which BIP-173 forbids",
        ));
    }
    let lower = text.to_ascii_lowercase();
    SegwitHrpstring::new(&lower).map_err(|err| invalid(Kind::Wallet, explain_segwit(&err)))?;
    Ok(lower)
}

fn explain_segwit(err: &SegwitHrpstringError) -> String {
    match err {
        SegwitHrpstringError::Checksum(_) => "bech32 checksum failed: a character is wrong, or the checksum variant does not fit the witness version (bech32 for v0, bech32m for v1-16)".to_string(),
        SegwitHrpstringError::WitnessLength(_) => {
            "witness program length is not allowed for its witness version".to_string()
        }
        SegwitHrpstringError::InvalidWitnessVersion(_) => {
            "witness version is above 16".to_string()
        }
        SegwitHrpstringError::NoData => "no data after the bc1 prefix".to_string(),
        other => format!("not a valid segwit address ({other})"),
    }
}

/// `0x` + 40 hex digits. All-lower or all-upper digits carry no checksum and
/// are converted to EIP-55; mixed case is a checksum and must be right.
fn normalize_ethereum(hex: &str) -> Result<String, IndicatorError> {
    if hex.len() != ETH_HEX_DIGITS || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            Kind::Wallet,
            format!("an Ethereum address is 0x followed by exactly {ETH_HEX_DIGITS} hex digits"),
        ));
    }
    let checksummed = eip55(hex);
    let is_mixed_case =
        hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    if is_mixed_case && checksummed[2..] != *hex {
        return Err(invalid(
            Kind::Wallet,
            "Ethereum address has mixed case but does not match its EIP-55 checksum",
        ));
    }
    Ok(checksummed)
}

/// EIP-55: upper-case each hex letter whose nibble in Keccak-256 of the
/// lower-case hex address is 8 or more.
pub(super) fn eip55(hex: &str) -> String {
    let lower = hex.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(2 + lower.len());
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let byte = hash.get(i / 2).copied().unwrap_or(0);
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        out.push(if nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// Bitcoin P2PKH/P2SH or Tron address, kept exactly as given (base58 is case
/// sensitive, so there is nothing to normalise once the checksum holds).
fn normalize_base58check(text: &str) -> Result<String, IndicatorError> {
    let payload = bs58::decode(text)
        .with_check(None)
        .into_vec()
        .map_err(|err| invalid(Kind::Wallet, explain_base58(&err)))?;
    if payload.len() != BASE58_PAYLOAD_LEN {
        return Err(invalid(
            Kind::Wallet,
            format!(
                "base58check payload is {} bytes; Bitcoin and Tron addresses have {BASE58_PAYLOAD_LEN}",
                payload.len()
            ),
        ));
    }
    match payload.first().copied() {
        Some(BTC_P2PKH_VERSION | BTC_P2SH_VERSION | TRON_VERSION) => Ok(text.to_string()),
        Some(version) => Err(invalid(
            Kind::Wallet,
            format!("base58check version byte {version:#04x} is not Bitcoin mainnet (0x00, 0x05) or Tron (0x41); testnet and other coins are not accepted"),
        )),
        None => Err(invalid(Kind::Wallet, "empty base58check payload")),
    }
}

fn explain_base58(err: &bs58::decode::Error) -> String {
    match err {
        bs58::decode::Error::InvalidChecksum { .. } => {
            "base58check checksum failed: a character is wrong or its case was changed".to_string()
        }
        bs58::decode::Error::InvalidCharacter { character, .. } => format!(
            "{character:?} is not a base58 character, and the input is not a recognised address (Bitcoin 1…/3…/bc1…, Ethereum 0x…, Tron T…)"
        ),
        bs58::decode::Error::NonAsciiCharacter { .. } => {
            "contains non-ASCII characters; not a recognised wallet address".to_string()
        }
        _ => "not a recognised wallet address (Bitcoin 1…/3…/bc1…, Ethereum 0x…, Tron T…)"
            .to_string(),
    }
}
