//! The pipelined import (issue 26): the node prepares a chunk while the one
//! before it is written, and `liaison import` keeps several chunks in flight.
//! A row repeated in a later chunk, prepared before the earlier chunk is
//! durable, is still stored once and answered with the first one's id; every
//! row keeps its own answer, in order.

use crate::common;

use common::TestNode;
use liaison::proto;
use tokio_stream::StreamExt;

fn item(n: u64) -> proto::PublishRequest {
    proto::PublishRequest {
        kind: liaison::indicator::Kind::Phone.code().into(),
        value: format!("+44 7700 900{:03}", n % 1000),
        tlp: proto::Tlp::Green as i32,
        labels: vec!["scam-centre".into()],
        case_reference: "CASE-PIPE-1".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_in_flight_store_a_repeated_row_once_and_answer_in_order() {
    let mut a = TestNode::init("Agency Pipeline (example)");
    a.start();
    let mut analyst = a.admin_client().await.analyst();
    // Four chunks sent at once; chunks 2..4 repeat values of chunk 1 and of
    // each other, so they are prepared while an earlier chunk is still written.
    let chunks: Vec<proto::PublishBatchRequest> = (0..4u64)
        .map(|c| proto::PublishBatchRequest {
            items: (0..200).map(|i| item(c * 100 + i)).collect(),
        })
        .collect();
    let mut answers = analyst
        .publish_batch(tokio_stream::iter(chunks))
        .await
        .expect("stream opens")
        .into_inner();
    let mut results = Vec::new();
    while let Some(answer) = answers.next().await {
        results.extend(answer.expect("a chunk's answer").results);
    }
    assert_eq!(results.len(), 800);
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, (0..800).collect::<Vec<_>>(), "answers in order");
    assert!(results.iter().all(|r| r.error.is_empty()), "no refusals");
    // Values 0..500: each stored once, by its first row; every repeat names it.
    let mut first_id = std::collections::HashMap::new();
    for (n, result) in results.iter().enumerate() {
        let value = (n as u64 / 200) * 100 + n as u64 % 200;
        match first_id.get(&value) {
            None => {
                assert!(!result.already_present, "row {n}: {result:?}");
                first_id.insert(value, result.record_id.clone());
            }
            Some(id) => {
                assert!(result.already_present, "row {n} repeats: {result:?}");
                assert_eq!(&result.record_id, id, "row {n}");
            }
        }
    }
    assert_eq!(first_id.len(), 500);
    assert_eq!(
        common::int(&a.cli_json(&["identity", "show"])["records"]),
        500
    );
}

#[test]
fn import_of_many_chunks_counts_every_row_and_stores_repeats_once() {
    let mut a = TestNode::init("Agency Pipeline CLI (example)");
    a.start();
    // 2,600 rows, six chunks of the importer; the last 600 repeat earlier rows
    // across chunk boundaries.
    let csv = a.tmp.path().join("rows.csv");
    let mut text = String::from("kind,value,labels,tlp\n");
    for i in 0..2_600u64 {
        let n = if i < 2_000 { i } else { (i - 2_000) * 3 };
        text.push_str(&format!("domain,pipe-{n}.example.org,scam-centre,amber\n"));
    }
    std::fs::write(&csv, text).expect("write the CSV");
    let summary = a.cli_json(&["import", csv.to_str().expect("path")]);
    let count = |what: &str| common::int_opt(&summary[what]).unwrap_or(0);
    assert_eq!(count("rows"), 2_600, "{summary}");
    assert_eq!(count("imported"), 2_000, "{summary}");
    assert_eq!(count("alreadyPresent"), 600, "{summary}");
    assert_eq!(count("rejected"), 0, "{summary}");
    assert_eq!(
        common::int(&a.cli_json(&["identity", "show"])["records"]),
        2_000
    );
}
