//! Round trips: records written as CSV, STIX and MISP read back as the same
//! content, and CSV and STIX re-export byte for byte. Also the deterministic
//! "sign like the node would" helpers the property tests share.

use ed25519_dalek::SigningKey;

use super::tests::{split, GOOD_CSV, GOOD_STIX};
use super::*;
use crate::indicator::{normalize, Context};
use crate::record::{sign_payload, Body, Indicator, NodeId, Payload};

pub(super) const CREATED_MS: i64 = 1_777_600_000_000;
const DAY_MS: i64 = 86_400_000;

pub(super) fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// What the node would do with an item (normalise, apply defaults, sign), made
/// deterministic: the n-th item gets sequence n and a fixed creation time.
pub(super) fn sign_item(n: usize, item: &ImportItem) -> VerifiedRecord {
    let ctx = Context {
        default_country: item.default_country.clone(),
    };
    let normalized = normalize(item.kind, &item.value, &ctx).expect("fixture values are valid");
    let created_ms = CREATED_MS + n as i64;
    let valid_until_ms = match item.validity {
        Some(Validity::UntilMs(ms)) => ms,
        Some(Validity::Days(days)) => created_ms + i64::from(days) * DAY_MS,
        None => created_ms + 365 * DAY_MS,
    };
    sign(
        n,
        Indicator {
            kind: normalized.kind,
            value: normalized.value,
            labels: item.labels.clone(),
            tlp: item.tlp.unwrap_or(Tlp::Amber),
            handling: item.handling.clone(),
            handling_note: item.handling_note.clone(),
            evaluation: item.evaluation.unwrap_or(Evaluation::UNEVALUATED),
            valid_until_ms,
            description: item.description.clone(),
            case_reference: item.case_reference.clone(),
            recipients: Vec::new(),
            supersedes: None,
            outside_known_ranges: normalized.outside_known_ranges,
        },
    )
}

pub(super) fn sign(n: usize, indicator: Indicator) -> VerifiedRecord {
    let key = key();
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: n as u64 + 1,
        created_ms: CREATED_MS + n as i64,
        body: Body::Indicator(indicator),
    };
    sign_payload(&key, &payload).expect("signs")
}

fn sample_records() -> Vec<VerifiedRecord> {
    let csv = split(csv::read(GOOD_CSV));
    let stix = split(stix::read(GOOD_STIX));
    let mut items = csv.items;
    items.extend(stix.items);
    items[0].handling.push(HandlingCode::H3);
    items[0].handling_note = "ask DS Example before any arrest".into();
    items
        .iter()
        .enumerate()
        .map(|(n, item)| sign_item(n, item))
        .collect()
}

pub(super) fn export_with<F>(records: &[VerifiedRecord], mut write: F)
where
    F: FnMut(&ExportRecord<'_>),
{
    for record in records {
        write(&ExportRecord {
            record,
            origin_name: "Agency A (fictional)",
            revoked: false,
            received_ms: record.payload.created_ms,
        });
    }
}

pub(super) fn to_csv(records: &[VerifiedRecord]) -> Vec<u8> {
    let mut writer = csv::CsvWriter::begin(Vec::new()).unwrap();
    export_with(records, |r| assert!(writer.write(r).unwrap()));
    writer.finish().unwrap()
}

pub(super) fn to_stix(records: &[VerifiedRecord]) -> Vec<u8> {
    let mut writer = stix::StixWriter::begin(Vec::new(), "test export").unwrap();
    export_with(records, |r| assert!(writer.write(r).unwrap()));
    writer.finish().unwrap()
}

fn reimport(entries: impl Iterator<Item = Entry>) -> Vec<VerifiedRecord> {
    let got = split(entries);
    assert!(got.errors.is_empty() && got.skipped.is_empty(), "{got:?}");
    got.items
        .iter()
        .enumerate()
        .map(|(n, item)| sign_item(n, item))
        .collect()
}

#[test]
fn csv_export_import_export_is_byte_identical() {
    let records = sample_records();
    let first = to_csv(&records);
    let again = reimport(csv::read(&first[..]));
    assert_eq!(again, records, "the same content signs to the same records");
    assert_eq!(to_csv(&again), first);
}

#[test]
fn stix_export_import_export_is_byte_identical() {
    let records = sample_records();
    let first = to_stix(&records);
    let again = reimport(stix::read(&first[..]));
    assert_eq!(again, records);
    assert_eq!(to_stix(&again), first);
    if let Ok(dir) = std::env::var("LIAISON_FORMATS_OUT") {
        std::fs::write(format!("{dir}/export.stix.json"), &first).unwrap();
        std::fs::write(format!("{dir}/export.csv"), to_csv(&records)).unwrap();
    }
}

#[test]
fn misp_export_reads_back_with_the_same_content() {
    let records = sample_records();
    let mut writer = misp::MispWriter::begin(
        Vec::new(),
        "test export",
        "Liaison export (fictional)",
        CREATED_MS,
    )
    .unwrap();
    export_with(&records, |r| assert!(writer.write(r).unwrap()));
    let bytes = writer.finish().unwrap();
    if let Ok(dir) = std::env::var("LIAISON_FORMATS_OUT") {
        std::fs::write(format!("{dir}/export.misp.json"), &bytes).unwrap();
    }
    assert_eq!(sniff(&bytes), Some(Format::Misp));
    let again = reimport(misp::read(&bytes[..], ReadOptions::default()));
    // An attribute without a comment takes the event's info as its description.
    let expected: Vec<Indicator> = records
        .iter()
        .map(|r| {
            let mut indicator = r.payload.indicator().unwrap().clone();
            if indicator.description.is_empty() {
                indicator.description = "Liaison export (fictional)".into();
            }
            indicator
        })
        .collect();
    let got: Vec<Indicator> = again
        .iter()
        .map(|r| r.payload.indicator().unwrap().clone())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn writers_leave_out_revoked_csv_rows_and_mark_them_in_stix() {
    let records = sample_records();
    let revoked = ExportRecord {
        record: &records[0],
        origin_name: "Agency A (fictional)",
        revoked: true,
        received_ms: CREATED_MS,
    };
    let mut csv_writer = csv::CsvWriter::begin(Vec::new()).unwrap();
    assert!(!csv_writer.write(&revoked).unwrap());
    let mut stix_writer = stix::StixWriter::begin(Vec::new(), "x").unwrap();
    assert!(stix_writer.write(&revoked).unwrap());
    let bytes = stix_writer.finish().unwrap();
    let got = split(stix::read(&bytes[..]));
    assert!(got.items.is_empty());
    assert!(got.skipped[0].what.contains("revoked"));
}
