//! Releases and the handshake across real processes (issue 27): `liaison
//! --version` names the release, commit, protocol and store layout; two nodes
//! state their versions to each other (shown by `partner list`); a puller that
//! states another protocol major version is refused with FAILED_PRECONDITION;
//! one that does not state "bulletins" is not sent bulletins.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::{eventually, TestNode, WAIT};
use liaison::config::NodeDirSetup;
use liaison::proto;
use liaison::proto::federation_client::FederationClient;
use liaison::record::Envelope;

const RELEASE: &str = env!("CARGO_PKG_VERSION");

#[test]
fn version_names_the_release_commit_protocol_and_store_layout() {
    let out = Command::new(common::BIN)
        .arg("--version")
        .output()
        .expect("run liaison --version");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("liaison {RELEASE} (commit ");
    let rest = text
        .trim()
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{text:?} starts with {prefix:?}"));
    let (commit, rest) = rest.split_once(", ").expect("commit, then versions");
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit:?}"
    );
    assert_eq!(rest, "protocol 1, store layout 3)", "{text}");
}

/// A's row for its only partner in `partner list --json`.
fn partner_row(node: &TestNode) -> serde_json::Value {
    node.cli_json(&["partner", "list"])["partners"][0].clone()
}

#[test]
fn enrolled_nodes_show_each_others_protocol_and_release() {
    let (a, b) = crate::common::two_agencies("green");
    for (here, there) in [(&a, "B"), (&b, "A")] {
        let stated = eventually(WAIT, || partner_row(here)["protocolVersion"] == 1);
        let row = partner_row(here);
        assert!(stated, "{there}'s version never showed: {row}");
        assert_eq!(row["softwareVersion"], RELEASE, "{row}");
        let features: Vec<&str> = row["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        for feature in ["bulletins", "heads", "lookups", "receipts"] {
            assert!(features.contains(&feature), "{feature} in {row}");
        }
        assert_eq!(row["compatibility"], "", "compatible: {row}");
        let text = here.cli_ok(&["partner", "list"]);
        assert!(
            text.contains(&format!("liaison {RELEASE}, protocol 1")),
            "{text}"
        );
        let doctor = here.cli(&["doctor"]);
        let doctor = String::from_utf8_lossy(&doctor.stdout);
        let line = format!("); liaison {RELEASE}, protocol 1");
        assert!(
            doctor.contains(&line),
            "doctor names {there}'s release: {doctor}"
        );
    }
}

/// A serving node, and a client that speaks Federation with P's enrolled identity.
struct Served {
    a: TestNode,
    _p: TestNode,
    p_identity: liaison::identity::NodeIdentity,
    a_cert: Vec<u8>,
}

fn served() -> Served {
    let mut a = TestNode::init("Agency A (example)");
    let mut p = TestNode::init("Agency P (example)");
    a.start();
    p.start();
    a.enroll(&p, "green", false);
    let a_config = a.node_dir().load_config().expect("a config");
    let a_cert = a
        .node_dir()
        .load_identity(&a_config)
        .expect("a identity")
        .tls_cert_der;
    let p_config = p.node_dir().load_config().expect("p config");
    let p_identity = p.node_dir().load_identity(&p_config).expect("p identity");
    Served {
        a,
        _p: p,
        p_identity,
        a_cert,
    }
}

impl Served {
    async fn client(&self) -> FederationClient<tonic::transport::Channel> {
        let tls = liaison::tls::client_config(
            &self.p_identity.tls_cert_der,
            &self.p_identity.tls_key_der,
            &self.a_cert,
        )
        .expect("client tls");
        let channel = liaison::channel::connect_channel(&self.a.address(), tls, false)
            .await
            .expect("connect as partner P");
        FederationClient::new(channel).max_decoding_message_size(proto::MAX_SYNC_MESSAGE_BYTES)
    }

    /// Pulls from the start, stating `features`, until `sentinel` arrives;
    /// the record ids received and whether any bulletin openings came.
    async fn pull_until(&self, features: &[&str], sentinel: &str) -> (Vec<String>, bool) {
        let request = proto::PullRequest {
            cursor: 0,
            protocol_version: 1,
            features: features.iter().map(|f| f.to_string()).collect(),
            software_version: "0.9.0-test".into(),
        };
        let mut stream = self
            .client()
            .await
            .pull(request)
            .await
            .expect("pull")
            .into_inner();
        let (mut ids, mut openings) = (Vec::new(), false);
        while !ids.iter().any(|id| id == sentinel) {
            let batch = tokio::time::timeout(WAIT, stream.message())
                .await
                .expect("the sentinel arrives")
                .expect("stream stays open")
                .expect("stream stays open");
            openings |= !batch.bulletin_openings.is_empty();
            for record in batch.records {
                ids.push(Envelope::from_wire(record).expect("envelope").id().to_hex());
            }
        }
        (ids, openings)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_lacks_bulletins_is_not_sent_them() {
    let s = served();
    let member = s.a.publish("phone", "+44 7700 900611", "green", &[]);
    let published = s.a.cli_json(&[
        "bulletin",
        "publish",
        "--title",
        "Test bulletin (fictional)",
        "--summary",
        "Fictional summary.",
        "--indicator",
        &member,
        "--tlp",
        "green",
    ]);
    let bulletin = published["recordId"]
        .as_str()
        .expect("bulletin id")
        .to_string();
    let sentinel = s.a.publish("domain", "sentinel.example.org", "green", &[]);

    let all = ["bulletins", "heads", "lookups", "receipts"];
    let (ids, openings) = s.pull_until(&all, &sentinel).await;
    assert!(
        ids.contains(&bulletin) && openings,
        "a partner that reads bulletins gets it"
    );

    let (ids, openings) = s
        .pull_until(&["heads", "lookups", "receipts"], &sentinel)
        .await;
    assert!(ids.contains(&member), "other records still flow: {ids:?}");
    assert!(!ids.contains(&bulletin), "the bulletin was withheld");
    assert!(!openings, "and its openings");
    let row = partner_row(&s.a);
    assert_eq!(
        row["compatibility"],
        "withheld: partner lacks bulletins, kinds.network, kinds.file-hash, wallets.coins",
        "{row}"
    );
    assert_eq!(row["softwareVersion"], "0.9.0-test", "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_lacks_the_new_kinds_is_not_sent_them() {
    let s = served();
    let range = s.a.publish("network", "198.51.100.0/24", "green", &[]);
    let hash = s.a.publish(
        "file-hash",
        "d41d8cd98f00b204e9800998ecf8427e",
        "green",
        &[],
    );
    let doge =
        s.a.publish("wallet", "DRq8DVXBXNHTPyBctM1Wdx39wUxU47Fwyt", "green", &[]);
    let tron =
        s.a.publish("wallet", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "green", &[]);
    let sentinel = s.a.publish("domain", "sentinel.example.org", "green", &[]);

    let first_release = ["bulletins", "heads", "lookups", "receipts"];
    let (ids, _) = s.pull_until(&first_release, &sentinel).await;
    assert!(
        ids.contains(&tron),
        "a first-release coin still flows: {ids:?}"
    );
    for (what, id) in [("range", &range), ("hash", &hash), ("dogecoin", &doge)] {
        assert!(!ids.contains(id), "the {what} was withheld: {ids:?}");
    }
    let mut all = first_release.to_vec();
    all.extend(["kinds.network", "kinds.file-hash", "wallets.coins"]);
    let (ids, _) = s.pull_until(&all, &sentinel).await;
    for id in [&range, &hash, &doge, &tron] {
        assert!(
            ids.contains(id),
            "a partner that reads them gets {id}: {ids:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_on_another_protocol_major_version_is_refused() {
    let s = served();
    let request = proto::PullRequest {
        cursor: 0,
        protocol_version: 2,
        features: vec!["heads".into()],
        software_version: "9.0.0".into(),
    };
    let refused = tokio::time::timeout(Duration::from_secs(15), async {
        s.client().await.pull(request).await
    })
    .await
    .expect("answered")
    .expect_err("refused");
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert!(
        refused
            .message()
            .starts_with("partner speaks protocol 2; this node speaks 1 (upgrade this node"),
        "{refused:?}"
    );
    let row = partner_row(&s.a);
    assert_eq!(row["protocolVersion"], 2, "{row}");
    let line = row["compatibility"].as_str().unwrap_or_default();
    assert!(
        line.starts_with("incompatible: partner speaks protocol 2"),
        "{row}"
    );

    // A node of release 0.1.0 states nothing: protocol 1, served.
    let old = proto::PullRequest::default();
    s.client()
        .await
        .pull(old)
        .await
        .expect("an unstated protocol is 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_puller_refuses_a_partner_on_another_protocol_before_pulling() {
    let mut victim = TestNode::init("Agency Victim (example)");
    let rogue = TestNode::init("Agency Rogue (example)");
    victim.start();
    // The rogue's Ping states protocol 2; its Pull would serve a valid record.
    let bundle =
        common::rogue::start_with(&rogue.node_dir(), &victim.node_dir(), |key, _victim| {
            let record =
                common::rogue::indicator("+447700900612", liaison::record::Tlp::Green, vec![]);
            Some(common::rogue::Script {
                batches: vec![vec![common::rogue::signed(key, 1, record)]],
                protocol: 2,
                ..Default::default()
            })
        })
        .await;
    let bundle_path = victim.tmp.path().join("rogue.pem");
    std::fs::write(&bundle_path, bundle).expect("write bundle");
    let path = bundle_path.to_str().expect("path");
    victim.cli_ok(&["partner", "add", path, "--max-tlp", "green", "--yes"]);
    let refused = eventually(WAIT, || {
        let row = partner_row(&victim);
        row["connection"]
            .as_str()
            .unwrap_or_default()
            .contains("incompatible: partner speaks protocol 2; this node speaks 1")
    });
    let row = partner_row(&victim);
    assert!(refused, "{row}\n{}", victim.log());
    assert!(
        row["compatibility"]
            .as_str()
            .unwrap_or_default()
            .starts_with("incompatible:"),
        "{row}"
    );
    assert_eq!(
        common::int(&row["recordsReceived"]),
        0,
        "nothing pulled: {row}"
    );
    assert_eq!(common::int(&row["cursor"]), 0, "{row}");
    let text = victim.cli_ok(&["partner", "list"]);
    assert!(
        text.contains("compatibility incompatible: partner speaks protocol 2"),
        "{text}"
    );
}
