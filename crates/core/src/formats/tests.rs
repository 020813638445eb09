//! Fixture tests for the readers: good files, malformed rows, unknown types,
//! wrong formats, truncated files.

use super::*;
use crate::record::Reliability;

pub(super) const GOOD_CSV: &[u8] = include_bytes!("testdata/good.csv");
const MALFORMED_CSV: &[u8] = include_bytes!("testdata/malformed.csv");
const UNKNOWN_COLUMN_CSV: &[u8] = include_bytes!("testdata/unknown_column.csv");
const TRUNCATED_CSV: &[u8] = include_bytes!("testdata/truncated.csv");
pub(super) const GOOD_STIX: &[u8] = include_bytes!("testdata/good.stix.json");
const TRUNCATED_STIX: &[u8] = include_bytes!("testdata/truncated.stix.json");
const GOOD_MISP: &[u8] = include_bytes!("testdata/good.misp.json");
const LIST_MISP: &[u8] = include_bytes!("testdata/list.misp.json");
const TRUNCATED_MISP: &[u8] = include_bytes!("testdata/truncated.misp.json");

#[derive(Default, Debug)]
pub(super) struct Split {
    pub items: Vec<ImportItem>,
    pub errors: Vec<RowError>,
    pub skipped: Vec<Skipped>,
    /// How many of `errors` were [`Entry::Fatal`] (always the last one).
    pub fatal: usize,
}

pub(super) fn split(entries: impl Iterator<Item = Entry>) -> Split {
    let mut out = Split::default();
    for entry in entries {
        match entry {
            Entry::Item(item) => out.items.push(item),
            Entry::Error(error) => out.errors.push(error),
            Entry::Skipped(skipped) => out.skipped.push(skipped),
            Entry::Fatal(error) => {
                out.fatal += 1;
                out.errors.push(error);
            }
        }
    }
    out
}

fn line(item: &ImportItem) -> u64 {
    match item.location {
        Location::Line(line) => line,
        ref other => panic!("not a line: {other}"),
    }
}

#[test]
fn csv_good_file_reads_every_column() {
    let got = split(csv::read(GOOD_CSV));
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.items.len(), 8);
    let phone = &got.items[0];
    assert_eq!(
        (phone.kind, phone.value.as_str()),
        (Kind::Phone, "07700 900123")
    );
    assert_eq!(phone.labels, [Label::ScamCentre, Label::HumanTrafficking]);
    assert_eq!(phone.tlp, Some(Tlp::Amber));
    assert_eq!(
        phone.evaluation.map(|e| e.to_string()).as_deref(),
        Some("B2")
    );
    assert_eq!(phone.handling, [HandlingCode::H0, HandlingCode::H2]);
    assert_eq!(phone.validity, Some(Validity::UntilMs(1_801_353_600_000)));
    assert_eq!(phone.description, "Recruiter, \"Mr K\" (fictional)");
    assert_eq!(phone.case_reference, "CASE-2026-001");
    assert_eq!(phone.default_country.as_deref(), Some("GB"));
    assert_eq!(got.items[1].validity, Some(Validity::Days(90)));
    assert_eq!(
        got.items[3].description, "multi\nline",
        "CRLF is read as LF"
    );
    assert_eq!(
        line(&got.items[4]),
        7,
        "the file's line: a quoted line break is inside lines 5 and 6"
    );
    assert_eq!(got.items[7].value, "GB:12345678");
}

#[test]
fn csv_bad_rows_are_reported_with_their_line_and_the_rest_is_read() {
    let got = split(csv::read(MALFORMED_CSV));
    let values: Vec<&str> = got.items.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["+44 7700 900111", "192.0.2.14"]);
    let errors: Vec<String> = got.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 6, "{errors:#?}");
    assert!(
        errors[0].starts_with("row 3: kind: \"telex\""),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with("row 4: tlp: \"purple\""),
        "{}",
        errors[1]
    );
    assert_eq!(errors[2], "row 5: value: is empty");
    assert!(errors[3].starts_with("row 6: evaluation:"), "{}", errors[3]);
    assert!(
        errors[4].starts_with("row 7: valid_until: \"next week\""),
        "{}",
        errors[4]
    );
    assert_eq!(errors[5], "row 8: row: has 3 fields; the header has 5");
}

#[test]
fn csv_unknown_column_is_named_and_nothing_is_read() {
    let got = split(csv::read(UNKNOWN_COLUMN_CSV));
    assert!(got.items.is_empty());
    assert_eq!(got.errors.len(), 1);
    let error = got.errors[0].to_string();
    assert!(
        error.starts_with("row 1: header: unknown column \"colour\" (column 3)"),
        "{error}"
    );
    let missing = split(csv::read(&b"value,tlp\n+44 7700 900123,amber\n"[..]));
    assert!(
        missing.errors[0].reason.contains("required column kind"),
        "{:?}",
        missing.errors
    );
}

#[test]
fn csv_truncated_file_keeps_the_complete_rows() {
    let got = split(csv::read(TRUNCATED_CSV));
    assert_eq!(got.items.len(), 1);
    assert_eq!(got.errors.len(), 1);
    assert_eq!(got.errors[0].location, Location::Line(3));
    assert!(split(csv::read(&b""[..])).errors[0]
        .reason
        .contains("empty"));
}

#[test]
fn stix_bundle_reads_indicators_and_observables() {
    let mut reader = stix::read(GOOD_STIX);
    let got = split(&mut reader);
    let found: Vec<(Kind, &str)> = got
        .items
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Kind::Phone, "+447700900123"),
            (Kind::Url, "https://jobs.example.org/it's"),
            (Kind::Email, "recruiter@example.org"),
            (Kind::Domain, "jobs.example.org"),
            (Kind::Ip, "192.0.2.10"),
            (Kind::Ip, "2001:db8::1"),
            (Kind::Wallet, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
            (Kind::Iban, "GB82WEST12345698765432"),
            // A file hash (issue 24), with its pattern's algorithm.
            (
                Kind::FileHash,
                "SHA-256:aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
            ),
            (Kind::Domain, "last.example.org"),
        ]
    );
    let phone = &got.items[0];
    assert_eq!(phone.tlp, Some(Tlp::Amber));
    assert_eq!(phone.labels, [Label::ScamCentre]);
    assert_eq!(reader.ignored_labels(), 1);
    assert_eq!(phone.handling, [HandlingCode::H0, HandlingCode::H2]);
    assert_eq!(phone.case_reference, "CASE-2026-001");
    assert_eq!(phone.validity, Some(Validity::UntilMs(1_809_129_600_000)));
    assert_eq!(
        got.items[1].tlp,
        Some(Tlp::Green),
        "TLP 1.0 ids are read too"
    );
    let skipped: Vec<String> = got.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(skipped.len(), 2, "{skipped:#?}");
    assert!(
        skipped[0].starts_with("object 9 (\"malware--"),
        "{}",
        skipped[0]
    );
    assert!(skipped[1].contains("revoked"), "{}", skipped[1]);
    let errors: Vec<String> = got.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].starts_with(
        "object 11 (\"indicator--0b1c5e1a-1d44-4a0a-9f58-0a5c1d1e2a11\"): evaluation:"
    ));
    assert!(
        errors[1].starts_with(
            "object 12 (\"indicator--0b1c5e1a-1d44-4a0a-9f58-0a5c1d1e2a12\"): labels: invalid type"
        ),
        "{}",
        errors[1]
    );
}

#[test]
fn stix_truncated_and_wrong_files_are_reported() {
    let got = split(stix::read(TRUNCATED_STIX));
    assert_eq!(got.items.len(), 1, "the objects before the cut are read");
    assert_eq!(got.errors.len(), 1);
    assert!(
        got.errors[0].reason.contains("ends early"),
        "{:?}",
        got.errors
    );
    let csv = split(stix::read(GOOD_CSV));
    assert!(csv.items.is_empty());
    assert_eq!(csv.errors[0].location, Location::File);
    assert!(csv.errors[0].reason.starts_with("not a STIX bundle"));
    let misp = split(stix::read(GOOD_MISP));
    assert!(
        misp.items.is_empty() && misp.errors[0].reason.contains("no \"objects\""),
        "{:?}",
        misp.errors
    );
    let other = split(stix::read(&br#"{"type": "report", "objects": []}"#[..]));
    assert!(
        other.errors[0].reason.contains("type is \"report\""),
        "{:?}",
        other.errors
    );
}

#[test]
fn misp_event_maps_types_tags_and_distribution() {
    let options = ReadOptions::default();
    let mut reader = misp::read(GOOD_MISP, options);
    let got = split(&mut reader);
    let found: Vec<(Kind, &str, Option<Tlp>)> = got
        .items
        .iter()
        .map(|i| (i.kind, i.value.as_str(), i.tlp))
        .collect();
    assert_eq!(
        found,
        [
            (Kind::Phone, "+44 7700 900123", Some(Tlp::AmberStrict)),
            (Kind::Email, "recruiter@example.org", Some(Tlp::Clear)),
            (Kind::Ip, "192.0.2.10", Some(Tlp::Amber)),
            (
                Kind::FileHash,
                "sha256:aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
                Some(Tlp::Amber)
            ),
            (Kind::BankAccount, "GB:87654321", Some(Tlp::Amber)),
            (
                Kind::Wallet,
                "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
                Some(Tlp::Clear)
            ),
            (Kind::Iban, "GB82WEST12345698765432", Some(Tlp::Amber)),
        ]
    );
    let phone = &got.items[0];
    assert_eq!(phone.description, "WhatsApp recruiter");
    assert_eq!(phone.labels, [Label::ScamCentre]);
    assert_eq!(
        phone.evaluation.map(|e| e.reliability),
        Some(Reliability::B)
    );
    assert_eq!(phone.handling, [HandlingCode::H2]);
    assert_eq!(phone.case_reference, "CASE-2026-002");
    assert_eq!(
        got.items[1].description,
        "Fictional scam-centre recruitment (exercise)"
    );
    assert!(reader.ignored_tags() >= 1);
    let skipped: Vec<String> = got.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    assert!(skipped[0].contains("deleted"));
    let errors: Vec<String> = got.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("attribute 4")
            && errors[0].contains("value: bank-account-nr has no country"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("attribute 7") && errors[1].contains("value: invalid type"),
        "{}",
        errors[1]
    );

    let with_country = ReadOptions {
        default_country: Some("GB".into()),
    };
    let got = split(misp::read(GOOD_MISP, with_country));
    assert!(got.items.iter().any(|i| i.value == "GB:12345678"));
}

#[test]
fn misp_lists_feeds_truncation_and_wrong_files() {
    let got = split(misp::read(LIST_MISP, ReadOptions::default()));
    let found: Vec<(&str, Option<Tlp>)> = got
        .items
        .iter()
        .map(|i| (i.value.as_str(), i.tlp))
        .collect();
    assert_eq!(
        found,
        [
            ("one.example.org", Some(Tlp::AmberStrict)),
            ("three.example.org", Some(Tlp::Green))
        ]
    );
    assert_eq!(got.errors.len(), 1, "{:?}", got.errors);
    assert!(got.errors[0]
        .to_string()
        .starts_with("event \"1\" attribute 0: event: invalid type"));

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/formats/testdata/feed");
    let files = misp::feed_files(&dir).unwrap();
    assert_eq!(files.len(), 1);
    let file = std::fs::File::open(&files[0]).unwrap();
    assert_eq!(
        split(misp::read(file, ReadOptions::default())).items.len(),
        7
    );

    let got = split(misp::read(TRUNCATED_MISP, ReadOptions::default()));
    assert!(got.items.is_empty());
    assert!(
        got.errors[0].reason.contains("ends early"),
        "{:?}",
        got.errors
    );
    let csv = split(misp::read(GOOD_CSV, ReadOptions::default()));
    assert!(
        csv.errors[0].reason.starts_with("not MISP"),
        "{:?}",
        csv.errors
    );
}

#[test]
fn sniff_tells_the_formats_apart() {
    assert_eq!(sniff(GOOD_CSV), Some(Format::Csv));
    assert_eq!(sniff(MALFORMED_CSV), Some(Format::Csv));
    assert_eq!(sniff(GOOD_STIX), Some(Format::Stix));
    assert_eq!(sniff(GOOD_MISP), Some(Format::Misp));
    assert_eq!(sniff(LIST_MISP), Some(Format::Misp));
    assert_eq!(sniff(b"hello world"), None);
    assert_eq!(sniff(b"{\"a\": 1}"), None);
}

#[test]
fn misp_search_answers_and_bare_events_are_read() {
    let answer = br#"{"response": [{"Event": {"info": "a", "Attribute": [{"type": "domain", "value": "a.example.org"}]}},
                                  {"Event": {"info": "b", "Attribute": [{"type": "url", "value": "https://b.example.org/"}]}}]}"#;
    let got = split(misp::read(&answer[..], ReadOptions::default()));
    assert_eq!(got.items.len(), 2, "{got:?}");
    assert_eq!(got.items[1].location.to_string(), "event \"1\" attribute 0");
    let bare = br#"[{"info": "bare", "Attribute": [{"type": "ip-src", "value": "192.0.2.1"}]}]"#;
    assert_eq!(
        split(misp::read(&bare[..], ReadOptions::default())).items[0].value,
        "192.0.2.1"
    );
}

#[test]
fn misp_feed_manifest_cannot_name_files_outside_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("manifest.json"),
        br#"{"../../etc/passwd": {}}"#,
    )
    .unwrap();
    let error = misp::feed_files(dir.path()).unwrap_err();
    assert_eq!(error.field, "manifest.json");
    assert!(error.reason.contains("not an event uuid"), "{error}");
    std::fs::write(dir.path().join("manifest.json"), b"[1, 2").unwrap();
    assert!(misp::feed_files(dir.path())
        .unwrap_err()
        .reason
        .starts_with("not a MISP feed manifest"));
    let missing = misp::feed_files(&dir.path().join("nowhere")).unwrap_err();
    assert!(missing.reason.starts_with("unreadable"), "{missing}");
}

#[test]
fn csv_with_a_byte_order_mark_and_pipes_reads() {
    let text = "\u{feff}value,kind,labels,handling\n192.0.2.9,ip,fraud|drugs,H0|H1\n";
    assert_eq!(sniff(text.as_bytes()), Some(Format::Csv));
    let got = split(csv::read(text.as_bytes()));
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.items[0].labels, [Label::Fraud, Label::Drugs]);
    assert_eq!(got.items[0].handling, [HandlingCode::H0, HandlingCode::H1]);
}

#[test]
fn csv_rows_with_bad_utf8_are_reported_and_reading_goes_on() {
    let bytes = b"kind,value\nip,192.0.2.1\nip,\xff\xfe\nip,192.0.2.3\n";
    let got = split(csv::read(&bytes[..]));
    assert_eq!(got.items.len(), 2);
    assert_eq!(got.errors[0].to_string(), "row 3: row: is not valid UTF-8");
}
