//! Private hit/no-hit lookups (issue 14) across three real nodes: hits and
//! no-hits, the TLP ceiling, the daily quota, a tampered or stale filter, and
//! the asked value never reaching the partner's disk.

use crate::common;

use std::path::Path;

use common::{three_agencies, TestNode};
use liaison::config::Config;
use liaison::config::NodeDirSetup;
use liaison::proto;
use liaison::proto::federation_client::FederationClient;

/// `liaison lookup VALUE --kind phone --json`: (node_id → (hit, quota_left, status)).
fn lookup(node: &TestNode, value: &str) -> Vec<serde_json::Value> {
    let answer = node.cli_json(&["lookup", value, "--kind", "phone"]);
    answer["partners"].as_array().expect("partners").clone()
}

fn answer_of<'a>(answers: &'a [serde_json::Value], partner: &str) -> &'a serde_json::Value {
    answers
        .iter()
        .find(|p| p["nodeId"] == partner)
        .unwrap_or_else(|| panic!("no answer from {partner} in {answers:?}"))
}

fn configure(node: &TestNode, edit: impl FnOnce(&mut Config)) {
    let path = node.node_dir().config();
    let mut config = Config::from_toml(&std::fs::read_to_string(&path).expect("read config"))
        .expect("parse config");
    edit(&mut config);
    std::fs::write(&path, config.to_toml()).expect("write config");
}

/// Every file under `dir`, as bytes, searched for each needle.
fn files_containing(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read dir") {
                stack.push(entry.expect("entry").path());
            }
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        for needle in needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(format!("{} holds {needle}", path.display()));
            }
        }
    }
    found
}

#[test]
fn lookups_answer_hit_and_no_hit_within_the_ceiling_and_leave_no_trace() {
    let (a, b, c) = three_agencies();
    let b_id = b.node_id();
    b.publish("phone", "+44 7700 900111", "green", &[]);
    b.publish("phone", "+44 7700 900222", "amber", &[]);

    // C (GREEN ceiling at B) finds the GREEN number, in its national spelling.
    let answers = lookup(&c, "07700 900111");
    assert_eq!(answers.len(), 1, "C has one partner: {answers:?}");
    let at_b = answer_of(&answers, &b_id);
    assert_eq!(at_b["status"], "answered", "{at_b}");
    assert_eq!(at_b["hit"], true, "{at_b}");
    assert_eq!(at_b["name"], "Agency B (example)");

    // The AMBER number lies above C's ceiling: no hit for C, a hit for A (RED ceiling).
    assert_eq!(answer_of(&lookup(&c, "+447700900222"), &b_id)["hit"], false);
    assert_eq!(answer_of(&lookup(&a, "+447700900222"), &b_id)["hit"], true);

    // A value B does not hold: no hit, and quota counted down.
    let before = answer_of(&lookup(&a, "+447700900111"), &b_id)["quotaLeft"]
        .as_u64()
        .expect("quota_left");
    let missing = lookup(&a, "+44 7700 900999");
    let at_b = answer_of(&missing, &b_id);
    assert_eq!(at_b["hit"], false, "{at_b}");
    assert_eq!(at_b["status"], "answered", "{at_b}");
    assert_eq!(at_b["quotaLeft"].as_u64(), Some(before - 1));

    // The text output names the answer too.
    let text = a.cli_ok(&["lookup", "+447700900111", "--kind", "phone"]);
    assert!(text.contains("HIT"), "{text}");

    // B's audit log counts evaluations, never a value.
    let audit = std::fs::read_to_string(b.node_dir().audit_log()).expect("audit log");
    assert!(audit.contains("lookup.evaluate"), "{audit}");

    // B's whole directory (database, audit log, keys, config) never saw the
    // value A asked about, in any spelling.
    let forms = [
        "+447700900999",
        "447700900999",
        "07700900999",
        "7700900999",
        "07700 900999",
        "7700 900999",
        "900999",
    ];
    let leaks = files_containing(&b.dir(), &forms);
    assert!(leaks.is_empty(), "the asked value reached B: {leaks:?}");
}

#[test]
fn a_spent_quota_gives_resource_exhausted() {
    // As three_agencies(), with B's quota set before it starts (a restart
    // would move it to another port).
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let mut c = TestNode::init("Agency C (example)");
    configure(&b, |config| config.node.lookup.daily_quota = 2);
    a.start();
    b.start();
    c.start();
    a.enroll(&b, "red", true);
    b.enroll(&a, "red", true);
    b.enroll(&c, "green", true);
    c.enroll(&b, "green", true);
    let b_id = b.node_id();
    b.publish("phone", "+44 7700 900333", "green", &[]);

    assert_eq!(
        answer_of(&lookup(&a, "+447700900333"), &b_id)["quotaLeft"],
        1
    );
    assert_eq!(
        answer_of(&lookup(&a, "+447700900333"), &b_id)["quotaLeft"],
        0
    );
    let spent = lookup(&a, "+447700900333");
    let at_b = answer_of(&spent, &b_id);
    assert_eq!(at_b["status"], "quota exhausted", "{at_b}");
    assert_eq!(at_b["hit"], false, "{at_b}");
    let detail = at_b["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("ResourceExhausted"), "{detail}");
    assert!(detail.contains("lookup quota"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_stale_filter_from_a_real_node_is_refused() {
    let (a, b, _c) = three_agencies();
    b.publish("phone", "+44 7700 900444", "green", &[]);
    let a_config = a.node_dir().load_config().expect("a config");
    let a_identity = a.node_dir().load_identity(&a_config).expect("a identity");
    let b_config = b.node_dir().load_config().expect("b config");
    let b_identity = b.node_dir().load_identity(&b_config).expect("b identity");
    let tls = liaison::tls::client_config(
        &a_identity.tls_cert_der,
        &a_identity.tls_key_der,
        &b_identity.tls_cert_der,
    )
    .expect("client tls");
    let channel = liaison::channel::connect_channel(&b.address(), tls, false)
        .await
        .expect("connect to B as A");
    let mut client = FederationClient::new(channel).max_decoding_message_size(64 << 20);
    let wire = client
        .get_lookup_filter(proto::LookupFilterRequest::default())
        .await
        .expect("B serves A its filter")
        .into_inner();
    let b_key = b_identity.node_id();
    let b_key = b_key.as_bytes();
    let now = liaison::now_ms();
    let verify = liaison::lookup::filter::verify_header;
    let header = verify(&wire, b_key, now, 0, None).expect("B's genuine filter verifies");
    assert_eq!(header.ceiling, "red");

    let mut tampered = wire.clone();
    tampered.filter_digest[0] ^= 1;
    let err = verify(&tampered, b_key, now, 0, None).expect_err("tampered digest");
    assert!(err.to_string().starts_with("signature:"), "{err}");
    let mut tampered = wire.clone();
    tampered.ceiling = "amber".into();
    assert!(verify(&tampered, b_key, now, 0, None).is_err());
    let mut forged = wire.clone();
    forged.signature[0] ^= 1;
    assert!(verify(&forged, b_key, now, 0, None).is_err());

    // The same filter once its epoch is over.
    let later = wire.not_after_unix_ms + 1;
    let err = verify(&wire, b_key, later, 0, None).expect_err("old epoch");
    assert!(err.to_string().contains("old epoch"), "{err}");

    // An evaluation for another epoch is refused with the field named.
    let status = client
        .evaluate(proto::EvaluateRequest {
            epoch: wire.epoch - 1,
            blinded_element: vec![0; 32],
        })
        .await
        .expect_err("wrong epoch");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("epoch:"), "{status:?}");
}

/// Enrolls `other` at `admin` as a partner of `kind` (issue 15), up to AMBER.
fn add_kind(admin: &TestNode, other: &TestNode, kind: &str) {
    let bundle = other.export_bundle();
    let path = bundle.to_str().expect("bundle path");
    admin.cli_ok(&[
        "partner",
        "add",
        path,
        "--max-tlp",
        "amber",
        "--kind",
        kind,
        "--yes",
    ]);
}

/// A Federation client to `server`, authenticated as `caller` (its own TLS key).
async fn federation_as(
    caller: &TestNode,
    server: &TestNode,
) -> FederationClient<tonic::transport::Channel> {
    let config = caller.node_dir().load_config().expect("caller config");
    let identity = caller
        .node_dir()
        .load_identity(&config)
        .expect("caller identity");
    let server_config = server.node_dir().load_config().expect("server config");
    let server_identity = server
        .node_dir()
        .load_identity(&server_config)
        .expect("server identity");
    let tls = liaison::tls::client_config(
        &identity.tls_cert_der,
        &identity.tls_key_der,
        &server_identity.tls_cert_der,
    )
    .expect("client tls");
    let channel = liaison::channel::connect_channel(&server.address(), tls, false)
        .await
        .expect("connect");
    FederationClient::new(channel).max_decoding_message_size(64 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ngo_and_platform_partners_may_not_look_up() {
    let mut a = TestNode::init("Agency A (example)");
    let mut n = TestNode::init("Hotline NGO (example)");
    let mut p = TestNode::init("Platform P (example)");
    for node in [&mut a, &mut n, &mut p] {
        node.start();
    }
    add_kind(&a, &n, "ngo");
    add_kind(&a, &p, "platform");
    n.enroll(&a, "green", false);
    p.enroll(&a, "green", false);
    a.publish("phone", "+44 7700 900451", "green", &[]);

    // Both RPCs of a private lookup are refused to both kinds, with the reason.
    for (caller, kind) in [(&n, "ngo"), (&p, "platform")] {
        let mut client = federation_as(caller, &a).await;
        let filter = client
            .get_lookup_filter(proto::LookupFilterRequest::default())
            .await
            .expect_err("no filter for this kind");
        let evaluate = client
            .evaluate(proto::EvaluateRequest {
                epoch: 0,
                blinded_element: vec![0; 32],
            })
            .await
            .expect_err("no evaluation for this kind");
        let expected = format!("lookup: a partner of kind {kind} cannot run private lookups");
        for status in [filter, evaluate] {
            assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
            assert_eq!(status.message(), expected, "{status:?}");
        }
    }

    // The NGO's own `liaison lookup` reports the refusal, and no hit.
    let answers = lookup(&n, "+44 7700 900451");
    let at_a = answer_of(&answers, &a.node_id());
    assert_eq!(at_a["status"], "refused", "{at_a}");
    assert_eq!(at_a["hit"], false, "{at_a}");
    let detail = at_a["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("PermissionDenied"), "{detail}");
    assert!(detail.contains("cannot run private lookups"), "{detail}");
    let text = n.cli_ok(&["lookup", "+44 7700 900451", "--kind", "phone"]);
    assert!(text.contains("refused"), "{text}");
}
