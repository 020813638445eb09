//! Bulk publishing and listing through real processes: `Analyst.PublishBatch`
//! answers per item (a bad item never fails the rest), a repeated item is found
//! as already present, an oversized chunk is refused without storing anything,
//! bulk records reach a partner like published ones, and `Analyst.List` pages
//! through what the node holds with filters.

use crate::common;

use common::{eventually, holds, TestNode, WAIT};
use liaison::proto;
use tokio_stream::StreamExt;

fn item(value: &str, label: &str, case: &str) -> proto::PublishRequest {
    proto::PublishRequest {
        kind: liaison::indicator::Kind::Phone.code().into(),
        value: value.into(),
        tlp: proto::Tlp::Green as i32,
        labels: vec![label.into()],
        case_reference: case.into(),
        ..Default::default()
    }
}

fn chunk(items: Vec<proto::PublishRequest>) -> proto::PublishBatchRequest {
    proto::PublishBatchRequest { items }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_batch_answers_per_item_and_list_pages_through_the_node() {
    let mut a = TestNode::init("Agency Bulk A (example)");
    let mut b = TestNode::init("Agency Bulk B (example)");
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let mut analyst = a.admin_client().await.analyst();

    let mut first: Vec<_> = (0..6)
        .map(|i| {
            item(
                &format!("07700 900{:03}", 400 + i),
                "scam-centre",
                "CASE-BULK-1",
            )
        })
        .collect();
    first.insert(2, item("07700 12", "scam-centre", "CASE-BULK-1"));
    first.insert(5, {
        let mut bad = item("07700 900499", "fraud", "CASE-BULK-1");
        bad.labels = vec!["fraud".into(); 17];
        bad
    });
    let second: Vec<_> = (0..3)
        .map(|i| {
            item(
                &format!("+44 7700 900{:03}", 400 + i),
                "scam-centre",
                "CASE-BULK-1",
            )
        })
        .chain([item("+44 7700 900450", "romance-scam", "CASE-BULK-2")])
        .collect();
    let requests = tokio_stream::iter(vec![chunk(first), chunk(second)]);
    let mut answers = analyst
        .publish_batch(requests)
        .await
        .expect("stream opens")
        .into_inner();
    let one = answers.next().await.expect("first answer").expect("ok");
    let two = answers.next().await.expect("second answer").expect("ok");
    assert!(answers.next().await.is_none(), "one answer per chunk");

    assert_eq!(one.results.len(), 8);
    let indexes: Vec<u64> = one
        .results
        .iter()
        .chain(&two.results)
        .map(|r| r.index)
        .collect();
    assert_eq!(indexes, (0..12).collect::<Vec<_>>());
    let bad_value = &one.results[2];
    assert_eq!(bad_value.error_field, "value", "{bad_value:?}");
    assert!(bad_value.record_id.is_empty());
    let bad_labels = &one.results[5];
    assert_eq!(bad_labels.error_field, "labels", "{bad_labels:?}");
    let stored: Vec<_> = one.results.iter().filter(|r| r.error.is_empty()).collect();
    assert_eq!(stored.len(), 6);
    assert!(stored
        .iter()
        .all(|r| !r.already_present && r.record_id.len() == 64));
    // The same numbers written in international format: the same content.
    for (again, original) in two.results[..3].iter().zip(&stored) {
        assert!(again.already_present, "{again:?}");
        assert_eq!(again.record_id, original.record_id);
    }
    assert!(!two.results[3].already_present && two.results[3].error.is_empty());
    assert_eq!(
        common::int(&a.cli_json(&["identity", "show"])["records"]),
        7
    );

    // A chunk over the item limit fails the stream and stores nothing of it.
    let huge: Vec<_> = (0..1_001)
        .map(|i| item(&format!("+44 7700 9{:05}", i), "fraud", ""))
        .collect();
    let mut refused = analyst
        .publish_batch(tokio_stream::iter(vec![chunk(huge)]))
        .await
        .expect("stream opens")
        .into_inner();
    let status = refused.next().await.expect("an answer").unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().starts_with("items: "),
        "{}",
        status.message()
    );
    assert_eq!(
        common::int(&a.cli_json(&["identity", "show"])["records"]),
        7
    );

    // Bulk records travel like published ones.
    let travelled = &stored[0].record_id;
    assert!(eventually(WAIT, || holds(&b, "+447700900400", travelled)));

    // Listing: newest first, pages, filters.
    let all = a.cli_json(&["list", "--limit", "3"]);
    let listed = all["records"].as_array().expect("records");
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed[0]["indicator"]["value"], "+447700900450",
        "newest first"
    );
    assert!(!all["nextPageToken"].as_str().unwrap_or_default().is_empty());
    let everything = a.cli_json(&["list", "--limit", "1000"]);
    assert_eq!(everything["records"].as_array().map(Vec::len), Some(7));
    let case_two = a.cli_json(&["list", "--case", "CASE-BULK-2"]);
    assert_eq!(case_two["records"].as_array().map(Vec::len), Some(1));
    let romance = a.cli_json(&["list", "--label", "romance-scam", "--kind", "phone"]);
    assert_eq!(romance["records"].as_array().map(Vec::len), Some(1));
    let recent = a.cli_json(&["list", "--since", "1h"]);
    assert_eq!(recent["records"].as_array().map(Vec::len), Some(7));
    let at_b = b.cli_json(&["list", "--origin", &a.node_id()]);
    assert_eq!(at_b["records"].as_array().map(Vec::len), Some(7));
    let bad = a.cli(&["list", "--label", "no-such-label"]);
    assert!(!bad.status.success());
}
