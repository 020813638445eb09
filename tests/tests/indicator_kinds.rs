//! The kinds of issue 24 across real node processes: a network range published
//! on A is found on B by searching an address inside it (through the store's
//! value index), a file hash and wallets of the newer coins travel and show
//! what they are (the coin, the hash algorithm) in search results.

use crate::common;

use common::{eventually, holds, TestNode, WAIT};

/// A published test address (Monero's own wallet test suites) and one per coin.
const MONERO: &str = "42z3MVZMRgE72dPA89MtCD6tYeWke8cV2B3YPYg1pe5x9X7VVqee6MWhjPrjCMiUFwejWkh8KL6MpN8cwX7B5WuZAxw2YbQ";
const CASHADDR: &str = "bitcoincash:qp7ps3x5k2dslw25rmgk89zfpywxj4yjkvyz09t2qm";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn pair() -> (TestNode, TestNode) {
    let (a, b) = crate::common::two_agencies("green");
    (a, b)
}

/// The `valueDetail` of the record `id` in a search for `value` at `node`.
fn detail(node: &TestNode, value: &str, id: &str) -> String {
    let found = node.cli_json(&["search", value]);
    found["records"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["recordId"] == id))
        .map(|r| r["valueDetail"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("{id} not in {found}"))
}

#[test]
fn a_range_published_on_a_is_found_on_b_by_an_address_inside_it() {
    let (a, b) = pair();
    let range = a.publish("network", "198.51.100.0/24", "green", &[]);
    let v6 = a.publish("network", "2001:db8:7::/48", "green", &[]);
    let hash = a.publish("file-hash", &format!("SHA-256:{SHA256}"), "green", &[]);
    let monero = a.publish("wallet", MONERO, "green", &[]);
    let cashaddr = a.publish("wallet", &CASHADDR.to_ascii_uppercase(), "green", &[]);
    assert!(
        eventually(WAIT, || holds(&b, CASHADDR, &cashaddr)),
        "B never received the last record; B log:\n{}",
        b.log()
    );
    // An address finds the range that contains it, on the origin and at B.
    for node in [&a, &b] {
        assert!(
            holds(node, "198.51.100.7", &range),
            "198.51.100.7 in the /24"
        );
        assert!(holds(node, "198.51.100.0/24", &range), "the range itself");
        assert!(
            holds(node, "2001:db8:7::1:2", &v6),
            "an IPv6 address in the /48"
        );
    }
    // ...and only that one.
    assert!(!holds(&b, "198.51.101.7", &range), "outside the /24");
    assert!(!holds(&b, "2001:db8:8::1", &v6), "outside the /48");
    // The value says what it is.
    assert_eq!(detail(&b, SHA256, &hash), "sha256");
    assert_eq!(detail(&b, MONERO, &monero), "monero");
    assert_eq!(detail(&b, CASHADDR, &cashaddr), "bitcoin-cash");
    let text = b.cli_ok(&["get", &monero]);
    assert!(
        text.contains(&format!("wallet {MONERO} (monero)")),
        "{text}"
    );
}

#[test]
fn a_range_with_host_bits_and_a_mistyped_wallet_are_refused_with_the_fix() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    let out = a.cli(&[
        "publish",
        "--kind",
        "network",
        "--value",
        "198.51.100.7/24",
        "--tlp",
        "green",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("host bits") && err.contains("198.51.100.0/24"),
        "{err}"
    );
    let typo = MONERO.replacen("YbQ", "YbR", 1);
    let out = a.cli(&[
        "publish", "--kind", "wallet", "--value", &typo, "--tlp", "green",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("Monero checksum"), "{err}");
}
