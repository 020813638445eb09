//! Hardening regressions through real processes: what a node signs passes the
//! checks its partners apply (every field at its limit accepted, one past it
//! refused with INVALID_ARGUMENT naming the field), bad input is quoted briefly,
//! partner-controlled text is refused or escaped, and revoking a relay forgets
//! the origins it introduced.

use crate::common;

use common::{eventually, holds, three_agencies, TestNode, WAIT};
use liaison::proto;
use tonic::Code;

const DESCRIPTION: usize = 4096;
const SHORT_TEXT: usize = 1024;
const LABELS: usize = 16;
const RECIPIENTS: usize = 64;

fn publish_request(value: &str) -> proto::PublishRequest {
    proto::PublishRequest {
        kind: liaison::indicator::Kind::Phone.code().into(),
        value: value.into(),
        tlp: proto::Tlp::Green as i32,
        ..Default::default()
    }
}

/// Sets one field of a publish request to `n` items or characters.
type Fill = fn(&mut proto::PublishRequest, usize);

fn publish_fields() -> Vec<(&'static str, usize, Fill)> {
    vec![
        ("labels", LABELS, |r, n| r.labels = vec!["fraud".into(); n]),
        ("recipients", RECIPIENTS, |r, n| {
            r.tlp = proto::Tlp::Red as i32;
            r.recipients = (0..n).map(|i| format!("{:064x}", i + 1)).collect();
        }),
        ("description", DESCRIPTION, |r, n| {
            r.description = "é".repeat(n)
        }),
        ("handling_note", SHORT_TEXT, |r, n| {
            r.handling_note = "n".repeat(n)
        }),
        ("case_reference", SHORT_TEXT, |r, n| {
            r.case_reference = "c".repeat(n)
        }),
    ]
}

fn assert_refused_naming(result: Result<impl std::fmt::Debug, tonic::Status>, field: &str) {
    match result {
        Err(status) => {
            assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
            assert!(
                status.message().starts_with(&format!("{field}: ")),
                "message should start with the field {field:?}: {}",
                status.message()
            );
        }
        Ok(answer) => panic!("{field} over its limit was accepted: {answer:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_at_its_limit_is_accepted_and_one_past_it_refused() {
    let mut node = TestNode::init("Agency Limits (example)");
    node.start();
    let client = node.admin_client().await;
    let mut analyst = client.analyst();
    let mut ids = Vec::new();
    for (i, (field, limit, fill)) in publish_fields().into_iter().enumerate() {
        let mut at_limit = publish_request(&format!("+44 7700 900{:03}", 100 + i));
        fill(&mut at_limit, limit);
        let published = analyst
            .publish(at_limit)
            .await
            .unwrap_or_else(|s| panic!("{field} at its limit refused: {s:?}"))
            .into_inner();
        ids.push(published.record_id);
        let mut over = publish_request(&format!("+44 7700 900{:03}", 200 + i));
        fill(&mut over, limit + 1);
        assert_refused_naming(analyst.publish(over).await, field);
    }
    // Revoke and Sight carry their own text fields.
    let sight = |note: String| proto::SightRequest {
        record_id: ids[0].clone(),
        note,
        ..Default::default()
    };
    assert_refused_naming(
        analyst.sight(sight("s".repeat(SHORT_TEXT + 1))).await,
        "note",
    );
    analyst
        .sight(sight("s".repeat(SHORT_TEXT)))
        .await
        .expect("note at its limit");
    let revoke = |id: &str, reason: String| proto::RevokeRequest {
        record_id: id.to_string(),
        reason,
    };
    assert_refused_naming(
        analyst
            .revoke(revoke(&ids[1], "r".repeat(SHORT_TEXT + 1)))
            .await,
        "reason",
    );
    analyst
        .revoke(revoke(&ids[1], "r".repeat(SHORT_TEXT)))
        .await
        .expect("reason at its limit");
    let again = analyst.revoke(revoke(&ids[1], "again".into())).await;
    assert_eq!(again.map(|_| ()).unwrap_err().code(), Code::AlreadyExists);

    // Everything that was accepted reads back and is served: nothing unreadable.
    for id in &ids {
        let got = analyst.get(proto::GetRequest {
            record_id: id.clone(),
        });
        assert!(got.await.is_ok(), "record {id} reads back");
    }
    let identity = node.cli_json(&["identity", "show"]);
    assert_eq!(common::int(&identity["unreadableRecords"]), 0);
    assert_eq!(common::int(&identity["records"]), (ids.len() + 2) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_quoted_briefly_and_named() {
    let mut node = TestNode::init("Agency Errors (example)");
    node.start();
    let mut analyst = node.admin_client().await.analyst();
    // A 20 KB bad label: the error names the field and quotes ~100 characters,
    // so it fits any client's metadata limit.
    let mut request = publish_request("+44 7700 900300");
    request.labels = vec!["x".repeat(20_000)];
    let status = analyst.publish(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("labels: "),
        "{}",
        status.message()
    );
    assert!(status.message().len() < 400, "{}", status.message().len());

    let mut request = publish_request("07700 900301");
    request.default_country = "Z".repeat(5_000);
    let status = analyst.publish(request).await.unwrap_err();
    assert!(
        status.message().starts_with("default_country: "),
        "{}",
        status.message()
    );
    assert!(status.message().len() < 400);

    let status = analyst
        .publish(publish_request(&"9".repeat(4_000)))
        .await
        .unwrap_err();
    assert!(
        status.message().starts_with("value: "),
        "{}",
        status.message()
    );
    assert!(status.message().len() < 400);

    for (field, text) in [
        ("case_reference", "CASE\u{1b}[2J"),
        ("description", "right-to-left \u{202E}override"),
    ] {
        let mut request = publish_request("+44 7700 900302");
        if field == "description" {
            request.description = text.into();
        } else {
            request.case_reference = text.into();
        }
        assert_refused_naming(analyst.publish(request).await, field);
    }
    // Validity beyond what this node keeps at all (max_retention_days, 3650).
    let mut too_long = publish_request("+44 7700 900304");
    too_long.valid_days = 4_000;
    assert_refused_naming(analyst.publish(too_long).await, "valid_days");
    let mut past = publish_request("+44 7700 900305");
    past.valid_until_unix_ms = 1_000;
    assert_refused_naming(analyst.publish(past).await, "valid_until_unix_ms");

    let mut multi_line = publish_request("+44 7700 900303");
    multi_line.description = "first line\nsecond line".into();
    analyst
        .publish(multi_line)
        .await
        .expect("line breaks in a description");
}

#[test]
fn revoking_a_relay_forgets_the_origins_it_introduced() {
    let (a, b, c) = three_agencies();
    let id = a.publish("phone", "+44 7700 900310", "clear", &[]);
    assert!(eventually(WAIT, || holds(&c, "+447700900310", &id)));
    let found = c.cli_json(&["search", "+447700900310"]);
    assert_eq!(
        found["records"][0]["originName"], "Agency A (example) (via Agency B (example))",
        "a relayed origin is always shown with its relay"
    );
    assert_eq!(
        c.cli_json(&["partner", "list"])["knownOrigins"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let b_id = b.node_id();
    c.cli_ok(&["partner", "revoke", &b_id]);
    let after = c.cli_json(&["partner", "list"]);
    assert_eq!(
        after["knownOrigins"].as_array().map(Vec::len),
        Some(0),
        "{after}"
    );
    drop(a);
}

#[test]
fn a_name_with_control_characters_is_refused_at_init() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(common::BIN)
        .args(["init", "--dir"])
        .arg(tmp.path().join("node"))
        .args([
            "--name",
            "Agency\u{1b}[31m (example)",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run init");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("name"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "the escape reached the terminal"
    );
}
