//! Smaller seams (issue 20, item 9) through a real node: a bulletin refuses
//! withdrawn members, each analyst spends only a share of the agency's lookup
//! quota, and the command line quotes a huge invalid value briefly.

use crate::common;

use std::time::Duration;

use common::TestNode;
use liaison::config::Config;
use liaison::proto;
use tonic::Code;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulletin_refuses_revoked_and_expired_members_naming_them() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    let live = a.publish("phone", "+44 7700 900601", "green", &[]);
    let revoked = a.publish("phone", "+44 7700 900602", "green", &[]);
    a.cli_ok(&[
        "revoke",
        &revoked,
        "--reason",
        "entered in error (fictional)",
    ]);
    let mut analyst = a.admin_client().await.analyst();
    let expired = analyst
        .publish(proto::PublishRequest {
            kind: liaison::indicator::Kind::Phone.code().into(),
            value: "+44 7700 900603".into(),
            tlp: proto::Tlp::Green as i32,
            valid_until_unix_ms: liaison::now_ms() + 1_000,
            ..Default::default()
        })
        .await
        .expect("publish")
        .into_inner()
        .record_id;
    std::thread::sleep(Duration::from_millis(1_500));

    let bulletin = |members: &[&str]| {
        let mut args = vec![
            "bulletin",
            "publish",
            "--title",
            "Seams (fictional)",
            "--tlp",
            "green",
        ];
        for m in members {
            args.extend(["--indicator", m]);
        }
        a.cli(&args)
    };
    for (id, reason) in [
        (&revoked, "was revoked"),
        (&expired, "past its valid-until"),
    ] {
        let out = bulletin(&[&live, id]);
        let text = stderr_of(&out);
        assert!(!out.status.success(), "{text}");
        assert!(
            text.contains("members:") && text.contains(&id[..8]) && text.contains(reason),
            "{text}"
        );
    }
    // Nothing was published by the refusals; a live member alone is accepted.
    let listed = a.cli_json(&["bulletin", "list"]);
    assert_eq!(
        listed["bulletins"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
    assert!(bulletin(&[&live]).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_analyst_spends_only_their_share_of_the_lookup_quota() {
    let mut a = TestNode::init("Agency A (example)");
    let path = a.node_dir().config();
    let mut config =
        Config::from_toml(&std::fs::read_to_string(&path).expect("config")).expect("parse");
    config.node.lookup.analyst_daily_share = 2;
    std::fs::write(&path, config.to_toml()).expect("write config");
    a.start();
    let dana = a.issue("Dana", "analyst");
    let eve = a.issue("Eve", "analyst");
    let ask = |value: &str| proto::LookupRequest {
        value: value.into(),
        kind: liaison::indicator::Kind::Phone.code().into(),
        ..Default::default()
    };
    let mut dana = a.client_with(&dana).await.expect("Dana").analyst();
    for value in ["+44 7700 900701", "+44 7700 900702"] {
        dana.lookup(ask(value)).await.expect("within Dana's share");
    }
    let refused = dana.lookup(ask("+44 7700 900703")).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("lookup.analyst_daily_share"),
        "{}",
        refused.message()
    );
    // Another analyst's share is untouched.
    let mut eve = a.client_with(&eve).await.expect("Eve").analyst();
    eve.lookup(ask("+44 7700 900703"))
        .await
        .expect("Eve's share");
}

#[test]
fn a_huge_invalid_argument_is_quoted_briefly() {
    let a = TestNode::init("Agency A (example)");
    let label = "x".repeat(20_000);
    let out = a.cli(&[
        "publish", "--kind", "phone", "--value", "1", "--label", &label,
    ]);
    let text = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.len() < 1_000, "{} bytes of error", text.len());
    assert!(text.contains("(20000 characters)"), "{text}");
    assert!(text.contains("--label"), "{text}");
}
