//! Issue 24 item 6: the MISP types that carry supported values (composite
//! types, address and e-mail variants, scheme-less URLs) and MISP objects,
//! over a fixture shaped like an event a MISP instance exports (fictional
//! values).

use super::tests::split;
use super::*;

const OBJECTS_MISP: &[u8] = include_bytes!("testdata/objects.misp.json");

fn values(got: &tests::Split) -> Vec<(Kind, &str)> {
    got.items
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect()
}

#[test]
fn composite_types_variants_and_objects_are_read() {
    let got = split(misp::read(OBJECTS_MISP, ReadOptions::default()));
    assert_eq!(
        values(&got),
        vec![
            (Kind::Domain, "invest-now.example.org"),
            (Kind::Ip, "192.0.2.44"),
            (Kind::Ip, "192.0.2.45"),
            (Kind::Domain, "panel.invest-now.example.org"),
            (Kind::Url, "http://invest-now.example.org/signup"),
            (Kind::Url, "https://invest-now.example.org/wallet"),
            (Kind::Phone, "+44 7700 900201"),
            (Kind::Email, "support@invest-now.example.org"),
            // Objects: phone, bank-account, cryptocurrency-transaction, domain-ip, url.
            (Kind::Phone, "+44 7700 900202"),
            (Kind::Iban, "GB82WEST12345698765432"),
            (Kind::Wallet, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
            (Kind::Domain, "trade-desk.example.org"),
            (Kind::Ip, "192.0.2.47"),
            (Kind::Url, "https://trade-desk.example.org/deposit"),
            (Kind::Domain, "trade-desk.example.org"),
        ]
    );
    // Both halves of a domain|ip share the attribute's location and comment.
    assert_eq!(got.items[0].location, got.items[1].location);
    assert_eq!(got.items[1].description, "landing page");
    // The port is kept in the description.
    assert_eq!(
        got.items[2].description,
        "Fictional investment-fraud call centre (exercise) (port 8443)"
    );
    assert_eq!(got.items[3].description, "admin panel (port 2083)");
    // The scheme-less URL is reported as normalised; nothing else is.
    assert_eq!(got.items[4].notes, vec!["url: no scheme; http:// assumed"]);
    assert!(got.items.iter().filter(|i| !i.notes.is_empty()).count() == 1);
    // The event's tlp:green tag marks the objects' attributes too.
    assert!(got.items.iter().all(|i| i.tlp == Some(Tlp::Green)));
    // A port that is not a number is the attribute's error, located.
    assert_eq!(got.errors.len(), 1, "{:?}", got.errors);
    assert_eq!(
        got.errors[0].to_string(),
        "event \"5f1e6a44-2c8e-4c39-9b8e-0d4c3f7a0102\" attribute 7 \
         (\"b0000000-0000-4000-8000-000000000008\"): value: port \"http\" is not a number 1-65535"
    );
    // An object's attributes Liaison has no kind for are skipped one by
    // one, naming the object and relation; the object's others are read.
    let skipped: Vec<String> = got.skipped.iter().map(|s| s.what.clone()).collect();
    assert_eq!(
        skipped,
        vec![
            "MISP type \"text\" (object \"phone\", relation \"country\")",
            "MISP type \"text\" (object \"bank-account\", relation \"holder-name\")",
            "MISP type \"text\" (object \"cryptocurrency-transaction\", relation \"transaction-number\")",
            "MISP type \"port\" (object \"domain-ip\", relation \"port\")",
        ]
    );
}

#[test]
fn composite_values_without_both_halves_are_errors() {
    let event = br#"{"Event": {"info": "x", "Attribute": [
        {"type": "domain|ip", "value": "only.example.org"},
        {"type": "ip-src|port", "value": "192.0.2.1|"},
        {"type": "ip-dst|port", "value": "192.0.2.1|0"},
        {"type": "ip-dst|port", "value": "192.0.2.1|65536"},
        {"type": "link", "value": "example.org/a"}
    ]}}"#;
    let got = split(misp::read(&event[..], ReadOptions::default()));
    let reasons: Vec<&str> = got.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "\"only.example.org\" is not domain|address",
            "\"192.0.2.1|\" is not host|port",
            "port \"0\" is not a number 1-65535",
            "port \"65536\" is not a number 1-65535",
        ]
    );
    assert_eq!(values(&got), vec![(Kind::Url, "http://example.org/a")]);
}

#[test]
fn every_type_in_the_table_is_read_as_its_kind() {
    for (misp_type, kind) in misp::TYPES {
        let value = match misp_type.ends_with("|port") {
            true => "192.0.2.1|443",
            false => "value",
        };
        let event =
            serde_json::json!({"Event": {"Attribute": [{"type": misp_type, "value": value}]}});
        let bytes = serde_json::to_vec(&event).unwrap();
        let got = split(misp::read(&bytes[..], ReadOptions::default()));
        assert_eq!(got.items.len(), 1, "{misp_type}");
        assert_eq!(got.items[0].kind, kind, "{misp_type}");
    }
}
