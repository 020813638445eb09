//! Property tests for the normalisers of issue 24: generated network ranges,
//! file hashes and wallets of each base58 coin are accepted, normalise to a
//! fixed point that partners accept, and keep their coin; a changed checksum
//! character is refused.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use sha3::Digest;

use super::wallet_coins::monero;
use super::*;

fn fixed_point(kind: Kind, input: &str) -> Result<String, TestCaseError> {
    let first = normalize(kind, input, &Context::default())
        .map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
    let again = normalize(kind, &first.value, &Context::default())
        .map_err(|e| TestCaseError::fail(format!("{:?}: {e}", first.value)))?;
    prop_assert_eq!(&again.value, &first.value);
    prop_assert!(check_canonical(kind, &first.value).is_ok());
    Ok(first.value)
}

fn base58check(version: u8, hash: &[u8; 20]) -> String {
    let mut payload = vec![version];
    payload.extend_from_slice(hash);
    bs58::encode(payload).with_check().into_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_ipv4_ranges_are_canonical_and_contain_their_addresses(bits: u32, len in 8u8..=32, host: u32) {
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        let network = Ipv4Addr::from(bits & mask);
        let value = fixed_point(Kind::Network, &format!("{network}/{len}"))?;
        prop_assert_eq!(&value, &format!("{network}/{len}"));
        let inside = Ipv4Addr::from((bits & mask) | (host & !mask));
        prop_assert!(networks_containing(&inside.to_string()).contains(&value));
    }

    #[test]
    fn generated_ipv6_ranges_are_canonical_and_contain_their_addresses(bits: u128, len in 16u8..=128, host: u128) {
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        let network = Ipv6Addr::from(bits & mask);
        // Any text form of the network (here the full one) gives RFC 5952.
        let full = network.segments().map(|s| format!("{s:X}")).join(":");
        let value = fixed_point(Kind::Network, &format!("{full}/{len}"))?;
        prop_assert_eq!(&value, &format!("{network}/{len}"));
        let inside = Ipv6Addr::from((bits & mask) | (host & !mask));
        prop_assert!(networks_containing(&inside.to_string()).contains(&value));
    }

    #[test]
    fn generated_hashes_are_lower_case_hex(bytes in prop::collection::vec(any::<u8>(), 32), len in prop::sample::select(vec![16usize, 20, 32]), upper: bool) {
        let hex = hex::encode(&bytes[..len]);
        let input = if upper { hex.to_ascii_uppercase() } else { hex.clone() };
        prop_assert_eq!(fixed_point(Kind::FileHash, &input)?, hex.clone());
        prop_assert_eq!(value_detail(Kind::FileHash, &hex).is_some(), true);
    }

    #[test]
    fn generated_base58check_wallets_keep_their_coin(hash: [u8; 20], pick in 0usize..9, at in 1usize..25) {
        let (version, coin) = [
            (0x00, Coin::Bitcoin), (0x05, Coin::Bitcoin), (0x41, Coin::Tron),
            (0x30, Coin::Litecoin), (0x32, Coin::Litecoin), (0x1e, Coin::Dogecoin),
            (0x16, Coin::Dogecoin), (0x4c, Coin::Dash), (0x10, Coin::Dash),
        ][pick];
        let address = base58check(version, &hash);
        prop_assert_eq!(fixed_point(Kind::Wallet, &address)?, address.clone());
        prop_assert_eq!(coin_of(&address), Some(coin));
        // One character replaced by another base58 character is refused.
        let mut chars: Vec<char> = address.chars().collect();
        let at = at % chars.len();
        chars[at] = if chars[at] == 'z' { 'y' } else { 'z' };
        let changed: String = chars.into_iter().collect();
        prop_assert!(normalize(Kind::Wallet, &changed, &Context::default()).is_err());
    }

    #[test]
    fn generated_monero_and_solana_wallets_are_accepted(keys in prop::collection::vec(any::<u8>(), 64), prefix in prop::sample::select(vec![18u8, 42])) {
        let mut body = vec![prefix];
        body.extend_from_slice(&keys);
        let hash = sha3::Keccak256::digest(&body);
        body.extend_from_slice(&hash[..4]);
        let address = monero::encode(&body);
        prop_assert_eq!(fixed_point(Kind::Wallet, &address)?, address.clone());
        prop_assert_eq!(coin_of(&address), Some(Coin::Monero));
        let solana = bs58::encode(&keys[..32]).into_string();
        // A key whose base58 form happens to decode as something else is rare;
        // every 32-byte key must still be accepted as some wallet.
        prop_assert!(fixed_point(Kind::Wallet, &solana).is_ok());
    }
}
