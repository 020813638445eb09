//! Tests of what an import reports: CRLF row numbers, file-level errors, the
//! "not carried" report and the provenance the readers keep.

use super::tests::split;
use super::*;

#[test]
fn csv_rows_are_numbered_by_line_with_crlf_as_with_lf() {
    let lf = "kind,value\nphone,+44 7700 900123\nphone,\nphone,+44 7700 900124\ndomain,\n";
    let crlf = lf.replace('\n', "\r\n");
    for text in [lf.to_string(), crlf] {
        let got = split(csv::read(text.as_bytes()));
        let rows: Vec<String> = got.errors.iter().map(|e| e.location.to_string()).collect();
        assert_eq!(rows, ["row 3", "row 5"], "{text:?}");
        assert_eq!(got.items.len(), 2);
    }
}

#[test]
fn crlf_reader_keeps_every_byte_but_the_cr_of_crlf() {
    use std::io::Read;
    let cases: [(&[u8], &[u8]); 5] = [
        (b"a\r\nb\r\n", b"a\nb\n"),
        (b"a\rb\r", b"a\rb\r"),
        (b"\r\r\n\n", b"\r\n\n"),
        (b"\"x\r\ny\"\r\n", b"\"x\ny\"\n"),
        (b"", b""),
    ];
    for (input, want) in cases {
        let mut out = Vec::new();
        csv::CrLfToLf(std::io::BufReader::with_capacity(1, input))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, want, "{:?}", String::from_utf8_lossy(input));
    }
}

proptest::proptest! {
    /// Whatever mix of LF and CRLF ends the lines, a bad row is reported with
    /// the line it is on.
    #[test]
    fn csv_error_rows_are_line_numbers_whatever_the_line_ends(
        rows in proptest::collection::vec((proptest::bool::ANY, proptest::bool::ANY), 1..40),
    ) {
        let mut text = String::from("kind,value\r\n");
        let mut bad_lines = Vec::new();
        for (index, (bad, crlf)) in rows.iter().enumerate() {
            let value = if *bad { "" } else { "+44 7700 900123" };
            text.push_str(&format!("phone,{value}{}", if *crlf { "\r\n" } else { "\n" }));
            if *bad {
                bad_lines.push(format!("row {}", index + 2));
            }
        }
        let got = split(csv::read(text.as_bytes()));
        let rows: Vec<String> = got.errors.iter().map(|e| e.location.to_string()).collect();
        proptest::prop_assert_eq!(rows, bad_lines);
    }
}

const OASIS_STIX: &[u8] = include_bytes!("testdata/corpus/oasis_indicators.stix.json");
const VENDOR_MISP: &[u8] = include_bytes!("testdata/corpus/vendor_event.misp.json");
const EXCEL_CSV: &[u8] = include_bytes!("testdata/corpus/excel.crlf.csv");

fn losses(item: &ImportItem) -> Vec<(LossKind, &str)> {
    item.not_carried
        .iter()
        .map(|l| (l.kind, l.example.as_str()))
        .collect()
}

#[test]
fn stix_keeps_producer_and_first_seen_and_lists_what_it_drops() {
    let got = split(stix::read(OASIS_STIX));
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.items.len(), 3);
    assert_eq!(got.skipped.len(), 2, "malware and relationship");
    let domain = &got.items[0];
    assert_eq!(domain.value, "trade-profits.example.org");
    assert_eq!(domain.source, "Example Threat Research (fictional)");
    assert_eq!(domain.first_seen_ms, time::parse_ms("2026-04-01").ok());
    assert_eq!(domain.labels, [crate::record::Label::Fraud]);
    assert_eq!(
        losses(domain),
        [
            (
                LossKind::StatementMarking,
                "Copyright 2026, Example Threat Research (fictional)"
            ),
            (LossKind::Label, "phishing"),
        ]
    );
    let tor = &got.items[1];
    assert_eq!(losses(tor), [(LossKind::IndicatorType, "anonymization")]);
    let url = &got.items[2];
    assert_eq!(url.source, "", "its identity is not in the bundle");
    assert_eq!(
        losses(url),
        [(
            LossKind::Producer,
            "identity--0000aaaa-bbbb-4ccc-8ddd-eeeeffff0001"
        )]
    );
}

#[test]
fn misp_keeps_orgc_and_first_seen_maps_categories_and_lists_tags() {
    let got = split(misp::read(VENDOR_MISP, ReadOptions::default()));
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.items.len(), 4, "domain, wallet, file hash, url");
    assert!(got.skipped.is_empty());
    let domain = &got.items[0];
    assert_eq!(domain.source, "Example Vendor CERT (fictional)");
    assert_eq!(
        domain.first_seen_ms,
        time::parse_ms("2026-03-28T09:15:00Z").ok()
    );
    assert_eq!(domain.tlp, Some(crate::record::Tlp::Green));
    let event_tags = [
        (
            LossKind::GalaxyTag,
            "misp-galaxy:threat-actor=\"Fictional Syndicate\"",
        ),
        (
            LossKind::TaxonomyTag,
            "circl:incident-classification=\"scam\"",
        ),
        (LossKind::MispTag, "pig butchering"),
    ];
    let mut want = vec![(LossKind::MispCategory, "Network activity")];
    want.extend(event_tags);
    assert_eq!(losses(domain), want);
    let wallet = &got.items[1];
    assert_eq!(
        wallet.labels,
        [crate::record::Label::Fraud],
        "Financial fraud"
    );
    assert_eq!(
        wallet.first_seen_ms,
        Some(1_775_815_260_000),
        "its timestamp"
    );
    assert_eq!(losses(wallet), event_tags);
    let url = &got.items[3];
    assert_eq!(url.first_seen_ms, None);
    assert_eq!(losses(url)[0], (LossKind::FirstSeen, "yesterday"));
    assert!(losses(url).contains(&(LossKind::TaxonomyTag, "osint:source-type=\"blog-post\"")));

    let mut tally = NotCarried::default();
    for item in &got.items {
        tally.add_all(&item.not_carried);
    }
    assert_eq!(tally.count(LossKind::GalaxyTag), 4, "once per attribute");
    assert_eq!(tally.count(LossKind::MispCategory), 3);
    let first: Vec<_> = tally.iter().map(|(k, _, e)| (k, e.to_string())).collect();
    assert_eq!(first[0], (LossKind::FirstSeen, "yesterday".to_string()));
}

#[test]
fn a_first_seen_ahead_is_not_carried_and_the_row_still_is() {
    let mut item = ImportItem::new(
        Location::File,
        crate::indicator::Kind::Domain,
        "x.example.org",
    );
    item.first_seen_ms = Some(2_000);
    item.first_seen_not_after(1_000);
    assert_eq!(item.first_seen_ms, None);
    assert_eq!(item.not_carried[0].kind, LossKind::FirstSeen);
    item.first_seen_ms = Some(500);
    item.first_seen_not_after(1_000);
    assert_eq!(item.first_seen_ms, Some(500));
}

#[test]
fn a_producer_name_that_is_no_source_is_counted_not_carried() {
    let mut item = ImportItem::new(
        Location::File,
        crate::indicator::Kind::Domain,
        "x.example.org",
    );
    item.set_source(&"x".repeat(crate::record::MAX_SOURCE_CHARS + 1));
    item.set_source("line\nbreak");
    assert_eq!(item.source, "");
    assert_eq!(item.not_carried.len(), 2);
    item.set_source("  Example CERT ");
    assert_eq!(item.source, "Example CERT");
}

#[test]
fn the_excel_csv_reports_the_lines_a_spreadsheet_shows() {
    let got = split(csv::read(EXCEL_CSV));
    let rows: Vec<String> = got.errors.iter().map(|e| e.location.to_string()).collect();
    assert_eq!(rows, ["row 3", "row 5"]);
    assert_eq!(got.items.len(), 3);
}

#[test]
fn file_level_problems_are_fatal_and_end_the_read() {
    let cases: [(&str, Box<dyn Iterator<Item = Entry>>); 7] = [
        ("csv empty", Box::new(csv::read(&b""[..]))),
        (
            "csv unknown column",
            Box::new(csv::read(
                &b"kind,value,tag\r\nphone,+44 7700 900123,x\r\n"[..],
            )),
        ),
        (
            "stix not a bundle",
            Box::new(stix::read(&br#"{"type":"report","objects":[]}"#[..])),
        ),
        ("stix a MISP event", Box::new(stix::read(VENDOR_MISP))),
        (
            "misp not an event",
            Box::new(misp::read(
                &br#"{"type":"bundle","objects":[]}"#[..],
                ReadOptions::default(),
            )),
        ),
        (
            "misp a CSV",
            Box::new(misp::read(EXCEL_CSV, ReadOptions::default())),
        ),
        (
            "misp empty",
            Box::new(misp::read(&b"  "[..], ReadOptions::default())),
        ),
    ];
    for (name, entries) in cases {
        let got = split(entries);
        assert!(got.items.is_empty(), "{name}");
        assert_eq!(
            (got.fatal, got.errors.len()),
            (1, 1),
            "{name}: {:?}",
            got.errors
        );
    }
    let rows = split(csv::read(&b"kind,value\nphone,\n"[..]));
    assert_eq!(
        (rows.fatal, rows.errors.len()),
        (0, 1),
        "a bad row is no file error"
    );
}

/// OASIS-shaped bundle → items → signed records → STIX export: the value,
/// description, TLP, producer, first-seen time and indicator type survive, and
/// the importing agency stays the signer (`created_by_ref`).
#[test]
fn an_oasis_bundle_round_trips_with_its_provenance() {
    use super::roundtrip_tests::{sign, sign_item, to_stix};
    let got = split(stix::read(OASIS_STIX));
    let records: Vec<_> = got
        .items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let signed = sign_item(n, item);
            let mut indicator = signed.payload.indicator().unwrap().clone();
            // What the node does with the item's provenance.
            indicator.source = item.source.clone();
            indicator.first_seen_ms = item.first_seen_ms;
            sign(n, indicator)
        })
        .collect();
    let bundle: serde_json::Value = serde_json::from_slice(&to_stix(&records)).unwrap();
    let indicators: Vec<&serde_json::Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .collect();
    assert_eq!(indicators.len(), 3);
    let domain = indicators[0];
    assert_eq!(
        domain["pattern"],
        "[domain-name:value = 'trade-profits.example.org']"
    );
    assert_eq!(
        domain["description"],
        "Domain of a fictional fake trading platform used in investment fraud."
    );
    assert_eq!(
        domain["object_marking_refs"],
        serde_json::json!([stix::TLP_MARKINGS[1].1]),
        "TLP:GREEN (1.0 in, 2.0 out)"
    );
    assert_eq!(
        domain["x_liaison_source"],
        "Example Threat Research (fictional)"
    );
    assert_eq!(domain["valid_from"], "2026-04-01T00:00:00.000Z");
    assert_eq!(
        domain["indicator_types"],
        serde_json::json!(["malicious-activity"])
    );
    let signer = stix::origin_identity_id(&records[0].origin());
    assert_eq!(domain["created_by_ref"], signer);
    let again = split(stix::read(serde_json::to_vec(&bundle).unwrap().as_slice()));
    assert_eq!(again.items[0].source, "Example Threat Research (fictional)");
    assert_eq!(again.items[0].first_seen_ms, got.items[0].first_seen_ms);
}
