//! Cryptocurrency wallet addresses of the coins scam money moves through, each
//! with its own checksum and canonical form, and the coin an address belongs to
//! (shown in a record's view, and what decides which partners can read it):
//!
//! | coin | accepted | canonical form |
//! | --- | --- | --- |
//! | Tron (USDT TRC-20) | base58check, version 0x41 (`T…`) | as given |
//! | Ethereum (USDT ERC-20, EVM chains) | `0x` + 40 hex, EIP-55 | EIP-55 |
//! | Bitcoin | base58check 0x00/0x05 (`1…`/`3…`); bech32/bech32m `bc1…` | as given; bech32 lower case |
//! | Litecoin | base58check 0x30/0x32 (`L…`/`M…`); bech32/bech32m `ltc1…` | as given; bech32 lower case |
//! | Bitcoin Cash | CashAddr `bitcoincash:q…`/`p…` (prefix optional) | lower case with the prefix |
//! | Monero | 95-char standard/subaddress, 106-char integrated | as given |
//! | Dogecoin | base58check 0x1e/0x16 (`D…`, `9…`/`A…`) | as given |
//! | Dash | base58check 0x4c/0x10 (`X…`, `7…`) | as given |
//! | Solana | base58 of a 32-byte ed25519 key (no checksum) | as given |
//!
//! Checksums are always verified: a single mistyped character must be an error,
//! never a new indicator that silently matches nothing. Solana addresses carry
//! no checksum, so a typo there cannot be caught (docs/INTEROP.md says so).
//! Legacy `1…`/`3…` addresses are shared by Bitcoin, Bitcoin Cash's legacy form
//! and Litecoin's old P2SH form; they cannot be told apart and are `bitcoin`.
//! Testnet and regtest addresses of every coin are refused.

use bech32::primitives::decode::{SegwitHrpstring, SegwitHrpstringError};
use bech32::Hrp;
use sha3::{Digest, Keccak256};

use super::wallet_coins::{cashaddr, monero};
use super::{invalid, IndicatorError, Kind, Normalized};

/// Version byte plus a 20-byte hash.
const BASE58_PAYLOAD_LEN: usize = 21;
const ETH_HEX_DIGITS: usize = 40;
/// A Solana address is a bare ed25519 public key.
const SOLANA_KEY_LEN: usize = 32;

/// The coin a wallet address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Coin {
    Tron,
    Ethereum,
    Bitcoin,
    Litecoin,
    BitcoinCash,
    Monero,
    Dogecoin,
    Solana,
    Dash,
}

impl Coin {
    /// The stable lower-case name shown in views and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Coin::Tron => "tron",
            Coin::Ethereum => "ethereum",
            Coin::Bitcoin => "bitcoin",
            Coin::Litecoin => "litecoin",
            Coin::BitcoinCash => "bitcoin-cash",
            Coin::Monero => "monero",
            Coin::Dogecoin => "dogecoin",
            Coin::Solana => "solana",
            Coin::Dash => "dash",
        }
    }

    /// Whether release 0.1.0 accepted this coin's addresses: a partner that
    /// does not state the `wallets.coins` feature re-validates every wallet
    /// with that release's rule and would refuse the others.
    pub fn in_first_release(self) -> bool {
        matches!(self, Coin::Tron | Coin::Ethereum | Coin::Bitcoin)
    }
}

/// The coin of a canonical wallet value (`None`: not a valid wallet value).
pub fn coin_of(value: &str) -> Option<Coin> {
    classify(value).ok().map(|(_, coin)| coin)
}

pub(super) fn normalize(input: &str) -> Result<Normalized, IndicatorError> {
    classify(input).map(|(value, _)| Normalized::new(Kind::Wallet, value))
}

/// The one parse of a wallet address: its canonical form and its coin.
fn classify(input: &str) -> Result<(String, Coin), IndicatorError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(invalid(Kind::Wallet, "empty address"));
    }
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("bc1") {
        return normalize_segwit(text, "bc").map(|v| (v, Coin::Bitcoin));
    }
    if lower.starts_with("ltc1") {
        return normalize_segwit(text, "ltc").map(|v| (v, Coin::Litecoin));
    }
    if ["tb1", "bcrt1", "tltc1", "rltc1", "bchtest:", "bchreg:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(invalid(
            Kind::Wallet,
            "testnet/regtest address; only mainnet addresses are accepted",
        ));
    }
    if lower.starts_with("bitcoincash:") || cashaddr::looks_like_bare(text) {
        return cashaddr::normalize(text).map(|v| (v, Coin::BitcoinCash));
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return normalize_ethereum(hex).map(|v| (v, Coin::Ethereum));
    }
    if monero::looks_like(text) {
        return monero::check(text).map(|()| (text.to_string(), Coin::Monero));
    }
    normalize_base58(text)
}

/// BIP-173/BIP-350 segwit address on mainnet (`hrp` `bc` or `ltc`), written
/// in lower case.
fn normalize_segwit(text: &str, hrp: &str) -> Result<String, IndicatorError> {
    let has_upper = text.chars().any(|c| c.is_ascii_uppercase());
    let has_lower = text.chars().any(|c| c.is_ascii_lowercase());
    if has_upper && has_lower {
        return Err(invalid(
            Kind::Wallet,
            "bech32 address mixes upper and lower case, which BIP-173 forbids",
        ));
    }
    let lower = text.to_ascii_lowercase();
    let parsed =
        SegwitHrpstring::new(&lower).map_err(|err| invalid(Kind::Wallet, explain_segwit(&err)))?;
    let expected = Hrp::parse(hrp).map_err(|_| invalid(Kind::Wallet, "bad bech32 prefix"))?;
    if parsed.hrp() != expected {
        return Err(invalid(
            Kind::Wallet,
            format!("bech32 prefix is not {hrp}1"),
        ));
    }
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
        SegwitHrpstringError::NoData => "no data after the bech32 prefix".to_string(),
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

/// The coin of a base58check version byte (mainnet only).
fn coin_of_version(version: u8) -> Option<Coin> {
    match version {
        0x00 | 0x05 => Some(Coin::Bitcoin),
        0x41 => Some(Coin::Tron),
        0x30 | 0x32 => Some(Coin::Litecoin),
        0x1e | 0x16 => Some(Coin::Dogecoin),
        0x4c | 0x10 => Some(Coin::Dash),
        _ => None,
    }
}

const BASE58_COINS: &str =
    "Bitcoin 0x00/0x05, Litecoin 0x30/0x32, Dogecoin 0x1e/0x16, Dash 0x4c/0x10, Tron 0x41";

/// A base58check address (kept exactly as given: base58 is case sensitive, so
/// there is nothing to normalise once the checksum holds), or a Solana key.
fn normalize_base58(text: &str) -> Result<(String, Coin), IndicatorError> {
    let raw = bs58::decode(text)
        .into_vec()
        .map_err(|err| invalid(Kind::Wallet, explain_base58(&err)))?;
    if raw.len() == SOLANA_KEY_LEN {
        // Solana has no checksum: any 32-byte base58 string is a key.
        return Ok((text.to_string(), Coin::Solana));
    }
    let payload = bs58::decode(text)
        .with_check(None)
        .into_vec()
        .map_err(|err| invalid(Kind::Wallet, explain_base58(&err)))?;
    if payload.len() != BASE58_PAYLOAD_LEN {
        return Err(invalid(
            Kind::Wallet,
            format!(
                "base58check payload is {} bytes; addresses of the supported coins have {BASE58_PAYLOAD_LEN} ({}); other coins are not supported",
                payload.len(),
                SUPPORTED
            ),
        ));
    }
    let version = payload.first().copied().unwrap_or_default();
    match coin_of_version(version) {
        Some(coin) => Ok((text.to_string(), coin)),
        None => Err(invalid(
            Kind::Wallet,
            format!("base58check version byte {version:#04x} is not a mainnet address of a supported coin ({BASE58_COINS}); testnet addresses and other coins are not supported"),
        )),
    }
}

/// The coins and forms accepted, for error messages.
pub(super) const SUPPORTED: &str = "Tron T…, Ethereum 0x…, Bitcoin 1…/3…/bc1…, Litecoin L…/M…/ltc1…, Bitcoin Cash bitcoincash:q…, Monero 4…/8…, Dogecoin D…, Dash X…, Solana";

fn explain_base58(err: &bs58::decode::Error) -> String {
    match err {
        bs58::decode::Error::InvalidChecksum { .. } => {
            "base58check checksum failed: a character is wrong or its case was changed".to_string()
        }
        bs58::decode::Error::InvalidCharacter { character, .. } => format!(
            "{character:?} is not a base58 character, and the input is not a recognised address of a supported coin ({SUPPORTED})"
        ),
        bs58::decode::Error::NonAsciiCharacter { .. } => {
            "contains non-ASCII characters; not a recognised wallet address".to_string()
        }
        _ => format!("not a recognised wallet address of a supported coin ({SUPPORTED})"),
    }
}
