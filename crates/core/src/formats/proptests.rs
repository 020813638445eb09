//! Property tests: readers never panic on any bytes, and every indicator
//! written as CSV or STIX reads back as the same content.

use proptest::prelude::*;

use super::roundtrip_tests::{sign, sign_item, to_csv, to_stix, CREATED_MS};
use super::tests::split;
use super::*;
use crate::record::{Indicator, Reliability};

/// Canonical values of each kind the formats carry.
const VALUES: [(Kind, &str); 10] = [
    (Kind::Phone, "+447700900123"),
    (Kind::Email, "recruiter@example.org"),
    (Kind::Domain, "jobs.example.org"),
    (Kind::Url, "https://jobs.example.org/a'b?c=1"),
    (Kind::Ip, "192.0.2.44"),
    (Kind::Ip, "2001:db8::7"),
    (Kind::Wallet, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    (Kind::Wallet, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    (Kind::Iban, "GB82WEST12345698765432"),
    (Kind::BankAccount, "GB:12345678"),
];

fn subset<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = Vec<T>> {
    proptest::sample::subsequence(all, 0..=all.len().min(3))
}

fn indicator() -> impl Strategy<Value = Indicator> {
    (
        0..VALUES.len(),
        subset(&Label::ALL),
        proptest::sample::select(&[Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict][..]),
        subset(&[
            HandlingCode::H0,
            HandlingCode::H1,
            HandlingCode::H2,
            HandlingCode::H3,
        ]),
        (0usize..4, 1u8..=4),
        0i64..10_000_000_000_000,
        "[a-zA-Z0-9 ,;|\"'\\\\\n\t\u{e9}\u{8b66}]{0,60}",
        "[a-zA-Z0-9 ,;|\"'\\-/]{0,30}",
    )
        .prop_map(
            |(v, labels, tlp, handling, (r, accuracy), until, description, case)| {
                let reliability = [
                    Reliability::A,
                    Reliability::B,
                    Reliability::C,
                    Reliability::X,
                ][r];
                let handling_note = match handling.contains(&HandlingCode::H3) {
                    true => format!("note {case}"),
                    false => String::new(),
                };
                Indicator {
                    kind: VALUES[v].0,
                    value: VALUES[v].1.to_string(),
                    labels,
                    tlp,
                    handling,
                    handling_note,
                    evaluation: Evaluation {
                        reliability,
                        accuracy,
                    },
                    valid_until_ms: CREATED_MS + 1 + until,
                    description,
                    case_reference: case,
                    recipients: Vec::new(),
                    supersedes: None,
                    outside_known_ranges: VALUES[v].0 == Kind::Phone,
                    source: String::new(),
                    first_seen_ms: None,
                }
            },
        )
}

fn round_trip(indicators: Vec<Indicator>, write: fn(&[VerifiedRecord]) -> Vec<u8>, format: Format) {
    let records: Vec<VerifiedRecord> = indicators
        .into_iter()
        .enumerate()
        .map(|(n, i)| sign(n, i))
        .collect();
    let bytes = write(&records);
    let entries: Box<dyn Iterator<Item = Entry>> = match format {
        Format::Csv => Box::new(csv::read(&bytes[..])),
        Format::Stix => Box::new(stix::read(&bytes[..])),
        Format::Misp => Box::new(misp::read(&bytes[..], ReadOptions::default())),
    };
    let got = split(entries);
    assert!(got.errors.is_empty() && got.skipped.is_empty(), "{got:?}");
    let again: Vec<VerifiedRecord> = got
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| sign_item(n, i))
        .collect();
    assert_eq!(again, records);
    assert_eq!(write(&again), bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn csv_round_trips_any_markings(indicators in proptest::collection::vec(indicator(), 1..6)) {
        round_trip(indicators, to_csv, Format::Csv);
    }

    #[test]
    fn stix_round_trips_any_markings(indicators in proptest::collection::vec(indicator(), 1..6)) {
        round_trip(indicators, to_stix, Format::Stix);
    }

    #[test]
    fn readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = sniff(&bytes);
        prop_assert!(csv::read(&bytes[..]).take(10_000).count() < 10_000);
        prop_assert!(stix::read(&bytes[..]).take(10_000).count() < 10_000);
        prop_assert!(misp::read(&bytes[..], ReadOptions::default()).take(10_000).count() < 10_000);
    }

    #[test]
    fn json_readers_never_panic_on_json_like_text(text in "[\\[\\]{}\":,a-z0-9 \\\\]{0,300}") {
        let mut bundle = String::from(r#"{"type":"bundle","objects":["#);
        bundle.push_str(&text);
        prop_assert!(stix::read(bundle.as_bytes()).take(10_000).count() < 10_000);
        let events = format!("[{text}");
        prop_assert!(misp::read(events.as_bytes(), ReadOptions::default()).take(10_000).count() < 10_000);
    }
}
