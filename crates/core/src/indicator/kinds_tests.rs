//! Tests for the wallet coins, network ranges and file hashes of issue 24:
//! published test addresses of each coin (from the coins' own test suites and
//! BIP/EIP documents), each with a one-character change that must fail.

use super::tests::{err, ok};
use super::wallet_coins::monero;
use super::*;

/// (address, coin) pairs: each accepted as is and classified.
const VALID: [(&str, Coin); 18] = [
    ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", Coin::Tron),
    ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", Coin::Ethereum),
    ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", Coin::Bitcoin),
    ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", Coin::Bitcoin),
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Coin::Bitcoin),
    ("LZ1PzNWetRGaSvETJXUNJH7shWiDu27YSU", Coin::Litecoin),
    ("MN9Lj8PUwww1VXCa1H5kDzwHgS3cCe37BX", Coin::Litecoin),
    ("ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt", Coin::Litecoin),
    ("bitcoincash:qp7ps3x5k2dslw25rmgk89zfpywxj4yjkvyz09t2qm", Coin::BitcoinCash),
    ("bitcoincash:qqcxlm6zehp0x2uufutgle9hc6vn4y33xg5gnmdv38", Coin::BitcoinCash),
    ("42z3MVZMRgE72dPA89MtCD6tYeWke8cV2B3YPYg1pe5x9X7VVqee6MWhjPrjCMiUFwejWkh8KL6MpN8cwX7B5WuZAxw2YbQ", Coin::Monero),
    ("4BUqMSeJfNQGudzEJNvzQ2LXh4tbUdW4YCM7mq55edxBT7t1297vwCMZSnJwGvEKEKbH8hGmhZZAGhdHbp2te6AA38ZMi4knaCKLprMPni", Coin::Monero),
    ("DRq8DVXBXNHTPyBctM1Wdx39wUxU47Fwyt", Coin::Dogecoin),
    ("DNZp4h1dMXjif7L8GQa5KwYnnkv9DnLC8Y", Coin::Dogecoin),
    ("XnXBaoFQb6VwHUypKtSf66f1AX1L9pbPPS", Coin::Dash),
    ("XvvyZTcnkBeCNezVuvFVa7UmTjxqfMEWYH", Coin::Dash),
    ("Ho87cuS3aSRgUMCeMrV7uNCCWx6Fj2ytnufYQ1W7KCLr", Coin::Solana),
    ("CSKgzVRhq6PKFUtiEFtWdTYhQTd12ohN3fc6yjxYnwHL", Coin::Solana),
];

#[test]
fn every_coin_is_accepted_as_is_and_named() {
    for (address, coin) in VALID {
        assert_eq!(ok(Kind::Wallet, address), address, "{address}");
        assert_eq!(coin_of(address), Some(coin), "{address}");
        assert!(check_canonical(Kind::Wallet, address).is_ok(), "{address}");
    }
}

/// Changes one character to another of the same alphabet and case class.
fn one_char_changed(address: &str) -> String {
    let mut chars: Vec<char> = address.chars().collect();
    let at = chars.len() - 3;
    chars[at] = match chars[at] {
        'a' => 'c',
        'z' => 'x',
        'Z' => 'Y',
        '9' => '8',
        c if c.is_ascii_digit() && c != '1' => '9',
        '1' => '2',
        c if c.is_ascii_uppercase() => 'Z',
        _ => 'z',
    };
    chars.into_iter().collect()
}

#[test]
fn one_changed_character_fails_every_checksummed_coin() {
    for (address, coin) in VALID {
        if coin == Coin::Solana {
            continue;
        }
        let changed = one_char_changed(address);
        assert_ne!(changed, address);
        assert!(
            normalize(Kind::Wallet, &changed, &Context::default()).is_err(),
            "{coin:?}: {changed} was accepted"
        );
    }
}

#[test]
fn solana_has_no_checksum_but_must_be_a_32_byte_key() {
    // Any 32-byte key is accepted: a typo cannot be caught (documented).
    let changed = one_char_changed("Ho87cuS3aSRgUMCeMrV7uNCCWx6Fj2ytnufYQ1W7KCLr");
    assert_eq!(coin_of(&changed), Some(Coin::Solana));
    // 31 bytes is neither a key nor a base58check address.
    let short = bs58::encode([7u8; 31]).into_string();
    assert!(err(Kind::Wallet, &short).contains("base58"));
}

#[test]
fn cashaddr_takes_upper_case_and_a_missing_prefix() {
    let canonical = "bitcoincash:qp7ps3x5k2dslw25rmgk89zfpywxj4yjkvyz09t2qm";
    assert_eq!(ok(Kind::Wallet, &canonical.to_ascii_uppercase()), canonical);
    assert_eq!(
        ok(Kind::Wallet, "qp7ps3x5k2dslw25rmgk89zfpywxj4yjkvyz09t2qm"),
        canonical
    );
    assert!(err(
        Kind::Wallet,
        "bitcoincash:Qp7ps3x5k2dslw25rmgk89zfpywxj4yjkvyz09t2qm"
    )
    .contains("mixes upper and lower case"));
    assert!(err(
        Kind::Wallet,
        "bchtest:qpf29h80q4kzprl84jmwhf9du3jsu2tvw509nqz5cy"
    )
    .contains("testnet"));
    assert!(err(
        Kind::Wallet,
        "bitcoincash:qp7ps3x5k2dslw25rmgk89zfpywxj4yjkvyz09t2qn"
    )
    .contains("CashAddr checksum failed"));
}

#[test]
fn monero_subaddress_and_wrong_networks() {
    // A subaddress (prefix 42) built from a published standard address's keys.
    let standard = "42z3MVZMRgE72dPA89MtCD6tYeWke8cV2B3YPYg1pe5x9X7VVqee6MWhjPrjCMiUFwejWkh8KL6MpN8cwX7B5WuZAxw2YbQ";
    let keys = hex::decode("23e98445b5dfe3240a15ca5dfd00f62334d2eef0e4a94d3c0c4c32e08323cb32eecbb34bdf8671f383ab7d6feeacb6e1973c3f4c890c637e5612f5377bb57c58").unwrap_or_default();
    let with_prefix = |prefix: u8| {
        let mut body = vec![prefix];
        body.extend_from_slice(&keys);
        let hash = <sha3::Keccak256 as sha3::Digest>::digest(&body);
        body.extend_from_slice(&hash[..4]);
        monero::encode(&body)
    };
    assert_eq!(
        with_prefix(18),
        standard,
        "the encoder reproduces the published vector"
    );
    let sub = with_prefix(42);
    assert!(sub.starts_with('8'), "{sub}");
    assert_eq!(coin_of(&sub), Some(Coin::Monero));
    assert!(err(Kind::Wallet, &with_prefix(53)).contains("testnet"));
    assert!(err(Kind::Wallet, &with_prefix(19)).contains("expected 77"));
    assert!(err(Kind::Wallet, &one_char_changed(standard)).contains("Keccak-256"));
}

#[test]
fn unsupported_coins_and_networks_say_so() {
    for (address, words) in [
        ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "not supported"),
        ("tltc1q0fe74v45kj7uwckn97vt9srn2356p085j486rq", "testnet"),
        (
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
            "testnet",
        ),
        ("t1bQVBWqSRNUgfxRDGJLdSJBRZ25RnZafwq", "not supported"),
    ] {
        let message = err(Kind::Wallet, address);
        assert!(message.contains(words), "{address}: {message}");
    }
}

#[test]
fn networks_are_canonical_and_host_bits_are_refused() {
    assert_eq!(ok(Kind::Network, " 198.51.100.0/24 "), "198.51.100.0/24");
    assert_eq!(ok(Kind::Network, "2001:DB8:0:0::/32"), "2001:db8::/32");
    assert_eq!(ok(Kind::Network, "192.0.2.1/32"), "192.0.2.1/32");
    assert_eq!(
        ok(Kind::Network, "::ffff:192.0.2.0/120"),
        "::ffff:192.0.2.0/120"
    );
    let host_bits = err(Kind::Network, "198.51.100.7/24");
    assert!(
        host_bits.contains("host bits") && host_bits.contains("198.51.100.0/24"),
        "{host_bits}"
    );
    for bad in [
        "198.51.100.0",
        "198.51.100.0/33",
        "198.51.100.0/024",
        "198.51.100.0/",
        "0.0.0.0/0",
        "10.0.0.0/7",
        "2001:db8::/15",
        "192.168.001.0/24",
        "2001:db8::/129",
        "198.51.100.0/x",
    ] {
        assert!(
            normalize(Kind::Network, bad, &Context::default()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn the_ranges_containing_an_address_include_its_own() {
    let v4 = networks_containing("198.51.100.7");
    assert_eq!(v4.len(), 25);
    assert_eq!(v4[0], "198.51.100.7/32");
    assert!(v4.contains(&"198.51.100.0/24".to_string()));
    assert_eq!(v4.last().map(String::as_str), Some("198.0.0.0/8"));
    let v6 = networks_containing("2001:db8::1");
    assert_eq!(v6.len(), 113);
    assert!(v6.contains(&"2001:db8::/32".to_string()));
    // Every name is canonical: the index is keyed by canonical values.
    for name in v4.iter().chain(&v6) {
        assert!(check_canonical(Kind::Network, name).is_ok(), "{name}");
    }
    assert!(networks_containing("not an address").is_empty());
}

#[test]
fn file_hashes_by_length() {
    let md5 = "D41D8CD98F00B204E9800998ECF8427E";
    assert_eq!(ok(Kind::FileHash, md5), md5.to_ascii_lowercase());
    assert_eq!(
        hash_algorithm(&md5.to_ascii_lowercase()),
        Some(HashAlgorithm::Md5)
    );
    let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    assert_eq!(ok(Kind::FileHash, &format!("SHA-1:{sha1}")), sha1);
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(ok(Kind::FileHash, &format!("sha256 {sha256}")), sha256);
    assert_eq!(hash_algorithm(sha256), Some(HashAlgorithm::Sha256));
    assert!(err(Kind::FileHash, &format!("md5:{sha1}")).contains("MD5 needs 32"));
    assert!(err(Kind::FileHash, &sha256[1..]).contains("63 hex digits"));
    assert!(err(Kind::FileHash, &format!("{}g", &sha256[1..])).contains("hex digits only"));
    assert!(
        err(Kind::FileHash, &format!("sha512:{sha256}")).contains("not a supported hash algorithm")
    );
}

#[test]
fn new_kinds_have_stable_names_and_codes() {
    assert_eq!(Kind::Network.code(), 14);
    assert_eq!(Kind::FileHash.code(), 15);
    assert_eq!("network".parse::<Kind>(), Ok(Kind::Network));
    assert_eq!("cidr".parse::<Kind>(), Ok(Kind::Network));
    assert_eq!("file-hash".parse::<Kind>(), Ok(Kind::FileHash));
    assert_eq!(Kind::from_code(15), Some(Kind::FileHash));
    // A search without a kind finds the new kinds.
    let any = normalize_any("198.51.100.0/24", &Context::default());
    assert!(any.iter().any(|n| n.kind == Kind::Network), "{any:?}");
    let any = normalize_any(
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        &Context::default(),
    );
    assert!(any.iter().any(|n| n.kind == Kind::FileHash), "{any:?}");
}

#[test]
fn an_address_is_answered_by_the_ranges_that_contain_it_only() {
    let ip = (Kind::Ip, "198.51.100.7");
    assert!(answers(ip, (Kind::Ip, "198.51.100.7")));
    assert!(answers(ip, (Kind::Network, "198.51.100.0/24")));
    assert!(answers(ip, (Kind::Network, "198.51.100.7/32")));
    assert!(!answers(ip, (Kind::Network, "198.51.101.0/24")));
    assert!(!answers(ip, (Kind::Ip, "198.51.100.8")));
    // A range does not answer for the addresses in it, nor another kind.
    assert!(!answers(
        (Kind::Network, "198.51.100.0/24"),
        (Kind::Ip, "198.51.100.7")
    ));
    assert!(!answers(
        (Kind::Domain, "example.org"),
        (Kind::Network, "198.51.100.0/24")
    ));
    assert!(answers(
        (Kind::Network, "198.51.100.0/24"),
        (Kind::Network, "198.51.100.0/24")
    ));
}
