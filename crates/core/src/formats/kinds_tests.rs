//! Fixture tests for the kinds of issue 24 in MISP and STIX: network ranges
//! (`ip-src`/`ip-dst` and `ipv4-addr:value` with a `/prefix`), file hashes
//! (`md5`/`sha1`/`sha256`/`filename|sha256`, `file:hashes.'SHA-256'`) and the
//! wallet coins MISP has types for; each read back as the writer writes it.

use super::tests::split;
use super::*;
use crate::indicator::{normalize, Context};

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The canonical (kind, value) of an item, or the normaliser's reason.
fn canonical(item: &ImportItem) -> Result<(Kind, String), String> {
    normalize(item.kind, &item.value, &Context::default())
        .map(|n| (n.kind, n.value))
        .map_err(|e| e.to_string())
}

#[test]
fn misp_hashes_and_ranges_are_read() {
    let event = format!(
        r#"{{"Event": {{"info": "Fictional fake trading app", "Attribute": [
        {{"type": "md5", "value": "{}"}},
        {{"type": "sha1", "value": "{SHA1}"}},
        {{"type": "sha256", "value": "{SHA256}"}},
        {{"type": "filename|sha256", "value": "trade-app.apk|{SHA256}"}},
        {{"type": "ip-src", "value": "198.51.100.0/24"}},
        {{"type": "ip-dst", "value": "2001:db8::/32"}},
        {{"type": "ip-dst", "value": "192.0.2.7"}},
        {{"type": "md5", "value": "{SHA1}"}},
        {{"type": "xmr", "value": "42z3MVZMRgE72dPA89MtCD6tYeWke8cV2B3YPYg1pe5x9X7VVqee6MWhjPrjCMiUFwejWkh8KL6MpN8cwX7B5WuZAxw2YbQ"}},
        {{"type": "dash", "value": "XnXBaoFQb6VwHUypKtSf66f1AX1L9pbPPS"}}
        ]}}}}"#,
        MD5.to_ascii_uppercase()
    );
    let got = split(misp::read(event.as_bytes(), ReadOptions::default()));
    assert!(got.errors.is_empty() && got.skipped.is_empty(), "{got:?}");
    let values: Vec<_> = got.items.iter().map(canonical).collect();
    assert_eq!(values[0], Ok((Kind::FileHash, MD5.to_string())));
    assert_eq!(values[1], Ok((Kind::FileHash, SHA1.to_string())));
    assert_eq!(values[2], Ok((Kind::FileHash, SHA256.to_string())));
    assert_eq!(values[3], Ok((Kind::FileHash, SHA256.to_string())));
    assert_eq!(
        values[4],
        Ok((Kind::Network, "198.51.100.0/24".to_string()))
    );
    assert_eq!(values[5], Ok((Kind::Network, "2001:db8::/32".to_string())));
    assert_eq!(values[6], Ok((Kind::Ip, "192.0.2.7".to_string())));
    // An md5 attribute holding a SHA-1 is refused, not taken as a SHA-1.
    let wrong = values[7].clone().unwrap_err();
    assert!(wrong.contains("MD5 needs 32"), "{wrong}");
    assert!(values[8].is_ok() && values[9].is_ok(), "{values:?}");
}

#[test]
fn misp_types_written_are_read_back() {
    for (kind, value, misp_type) in [
        (Kind::FileHash, MD5, "md5"),
        (Kind::FileHash, SHA1, "sha1"),
        (Kind::FileHash, SHA256, "sha256"),
        (Kind::Network, "198.51.100.0/24", "ip-dst"),
        (Kind::Wallet, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "btc"),
        (Kind::Wallet, "XnXBaoFQb6VwHUypKtSf66f1AX1L9pbPPS", "dash"),
        (Kind::Wallet, "DRq8DVXBXNHTPyBctM1Wdx39wUxU47Fwyt", "text"),
    ] {
        assert_eq!(misp::type_for(kind, value).0, misp_type, "{value}");
        if misp_type == "text" {
            continue;
        }
        let (read_kind, read_value) = misp::refine(
            misp_type,
            misp::kind_for(misp_type).unwrap_or(Kind::Alias),
            value,
        );
        let n = normalize(read_kind, &read_value, &Context::default()).map(|n| (n.kind, n.value));
        assert_eq!(n, Ok((kind, value.to_string())), "{misp_type}");
    }
}

#[test]
fn stix_patterns_for_ranges_and_hashes_round_trip() {
    for (kind, value, pattern) in [
        (
            Kind::Network,
            "198.51.100.0/24",
            "[ipv4-addr:value = '198.51.100.0/24']",
        ),
        (
            Kind::Network,
            "2001:db8::/32",
            "[ipv6-addr:value = '2001:db8::/32']",
        ),
        (
            Kind::FileHash,
            MD5,
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']",
        ),
        (
            Kind::FileHash,
            SHA1,
            "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
        ),
        (
            Kind::FileHash,
            SHA256,
            &format!("[file:hashes.'SHA-256' = '{SHA256}']"),
        ),
    ] {
        let (object, property) = stix::object_property(kind, value).expect("a STIX object");
        assert_eq!(format!("[{object}:{property} = '{value}']"), pattern);
        let bundle = format!(
            r#"{{"type": "bundle", "id": "bundle--0b8a1b4e-2e60-4a3c-9f43-5c1f0d9e7a10", "objects": [
            {{"type": "indicator", "spec_version": "2.1", "id": "indicator--6c1b0c2e-3f5a-4b8e-9d2c-1a7e4f0b9c31",
              "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
              "pattern": "{}", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}}]}}"#,
            pattern
        );
        let got = split(stix::read(bundle.as_bytes()));
        assert_eq!(got.items.len(), 1, "{pattern}: {got:?}");
        assert_eq!(
            canonical(&got.items[0]),
            Ok((kind, value.to_string())),
            "{pattern}"
        );
    }
    // A hash property without quotes, and a hash of the wrong length for it.
    let (kind, value) = stix::refine(Kind::FileHash, "hashes.MD5", MD5.to_string());
    assert_eq!(
        normalize(kind, &value, &Context::default()).map(|n| n.value),
        Ok(MD5.to_string())
    );
    let (kind, value) = stix::refine(Kind::FileHash, "hashes.'SHA-256'", SHA1.to_string());
    assert!(normalize(kind, &value, &Context::default()).is_err());
    assert_eq!(stix::kind_of("file", "hashes.'SHA-512'"), None);
}
