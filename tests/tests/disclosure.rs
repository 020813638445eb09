//! One rule for what may leave a node, wherever it leaves (issue 20, item 2).
//!
//! Agency A holds six records that must never reach a partner that does not
//! already have them — a platform's unendorsed submission, an expired record,
//! a revoked one, one of an origin A's admin blocked, a RED record addressed to
//! someone else, and (for its NGO and platform partners) records above their
//! kind's ceiling — and a bulletin that names all of them. Then an agency B, an
//! NGO N and a platform P walk every path by which A discloses: Pull (and so
//! relay), federated search, private lookup filters and bulletin openings. A
//! sentinel published last proves each receiver's sync had moved past them.

use crate::common;

use std::time::Duration;

use common::{eventually, holds, TestNode};
use liaison::proto;

/// Long enough for a loaded 2-core machine; only a real failure trips it.
const SYNC: Duration = Duration::from_secs(60);

fn add(admin: &TestNode, other: &TestNode, max_tlp: &str, extra: &[&str]) {
    let bundle = other.export_bundle();
    let mut args = vec![
        "partner",
        "add",
        bundle.to_str().expect("path"),
        "--max-tlp",
        max_tlp,
        "--yes",
    ];
    args.extend_from_slice(extra);
    admin.cli_ok(&args);
}

/// Whether `node` stores the record `id` at all (revoked or not).
fn stores(node: &TestNode, id: &str) -> bool {
    node.cli(&["get", id]).status.success()
}

/// The record ids A answered in `asker`'s federated search for `value`.
fn federated_ids(asker: &TestNode, value: &str) -> Vec<String> {
    let found = asker.cli_json(&[
        "search",
        value,
        "--federated",
        "--justification",
        "disclosure test (fictional)",
        "--case",
        "CASE-DISCLOSE-1",
    ]);
    let partners = found["partners"].as_array().expect("partners");
    assert!(
        partners.iter().all(|p| p["status"] == "answered"),
        "every partner must answer: {found}"
    );
    found["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["recordId"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether `asker`'s private lookup of `value` is a hit at `partner`.
fn lookup_hit(asker: &TestNode, value: &str, partner: &str) -> bool {
    let answer = asker.cli_json(&["lookup", value, "--kind", "phone"]);
    let at = answer["partners"]
        .as_array()
        .expect("partners")
        .iter()
        .find(|p| p["nodeId"] == partner)
        .unwrap_or_else(|| panic!("no answer from {partner}: {answer}"))
        .clone();
    assert_eq!(at["status"], "answered", "{at}");
    at["hit"].as_bool().expect("hit")
}

fn shown_members(node: &TestNode, bulletin: &str) -> Option<(Vec<String>, u64)> {
    let out = node.cli(&["bulletin", "show", bulletin, "--json"]);
    if !out.status.success() {
        return None;
    }
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let members = view["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["recordId"].as_str().unwrap_or_default().to_string())
        .collect();
    Some((members, common::int(&view["withheld"])))
}

/// A GREEN phone record at A that stays valid for `seconds` only.
async fn publish_expiring(a: &TestNode, value: &str, seconds: i64) -> String {
    let mut analyst = a.admin_client().await.analyst();
    let published = analyst
        .publish(proto::PublishRequest {
            kind: liaison::indicator::Kind::Phone.code().into(),
            value: value.into(),
            tlp: proto::Tlp::Green as i32,
            valid_until_unix_ms: liaison::now_ms() + seconds * 1000,
            ..Default::default()
        })
        .await
        .expect("publish an expiring record");
    published.into_inner().record_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_withheld_leaks_through_any_disclosure_path() {
    let mut nodes: Vec<TestNode> = [
        "Agency A (example)",
        "Agency B (example)",
        "Hotline NGO (example)",
        "Platform P (example)",
        "Relay R (example)",
        "Agency X (example)",
    ]
    .into_iter()
    .map(TestNode::init)
    .collect();
    for node in nodes.iter_mut() {
        node.start();
    }
    let [a, b, n, p, r, x] = &nodes[..] else {
        unreachable!()
    };
    let (a_id, r_id, x_id) = (a.node_id(), r.node_id(), x.node_id());

    // Before B and N are enrolled: the platform P, and X's records relayed by R.
    add(a, p, "amber", &["--kind", "platform"]);
    add(p, a, "green", &[]);
    add(a, r, "green", &["--relay"]);
    add(r, a, "green", &["--relay"]);
    add(r, x, "green", &["--relay"]);
    add(x, r, "green", &["--relay"]);

    let held = p.publish("phone", "+44 7700 900111", "clear", &[]);
    let blocked = x.publish("phone", "+44 7700 900114", "green", &[]);
    assert!(eventually(SYNC, || holds(a, "+447700900111", &held)));
    assert!(eventually(SYNC, || holds(a, "+447700900114", &blocked)));
    let red = a.publish("phone", "+44 7700 900115", "red", &["--recipient", &r_id]);
    let amber = a.publish("phone", "+44 7700 900116", "amber", &[]);
    let green = a.publish("phone", "+44 7700 900117", "green", &[]);
    let bulletin = a.cli_json(&[
        "bulletin",
        "publish",
        "--title",
        "Disclosure walk (fictional)",
        "--tlp",
        "green",
        "--indicator",
        &held,
        "--indicator",
        &blocked,
        "--indicator",
        &red,
        "--indicator",
        &amber,
        "--indicator",
        &green,
    ])["recordId"]
        .as_str()
        .expect("bulletin id")
        .to_string();
    a.cli_ok(&["partner", "block", &x_id]);
    let revoked = a.publish("phone", "+44 7700 900113", "green", &[]);
    a.cli_ok(&[
        "revoke",
        &revoked,
        "--reason",
        "entered in error (fictional)",
    ]);
    let expired = publish_expiring(a, "+44 7700 900112", 2).await;
    // Still held at A (purges run hourly), and past its valid-until.
    assert!(stores(a, &expired) && stores(a, &revoked) && stores(a, &blocked));
    std::thread::sleep(Duration::from_millis(2_500));

    // Now the receivers: B an agency (RED ceiling, relay), N an NGO.
    add(a, b, "red", &["--relay"]);
    add(b, a, "red", &["--relay"]);
    add(a, n, "amber", &["--kind", "ngo"]);
    add(n, a, "green", &[]);
    let sentinel = a.publish("phone", "+44 7700 900199", "clear", &[]);
    for receiver in [b, n, p] {
        assert!(
            eventually(SYNC, || holds(receiver, "+447700900199", &sentinel)),
            "{} never received the sentinel",
            receiver.name
        );
    }

    // Pull (and relay): nothing withheld arrived, at any receiver.
    let never = [
        ("held", &held),
        ("expired", &expired),
        ("revoked", &revoked),
        ("blocked origin", &blocked),
        ("RED for R", &red),
    ];
    for receiver in [b, n] {
        for (what, id) in never {
            assert!(
                !stores(receiver, id),
                "{what} record reached {}",
                receiver.name
            );
        }
    }
    assert!(
        stores(b, &amber) && stores(b, &green),
        "B's positive controls"
    );
    assert!(!stores(n, &amber), "AMBER reached the NGO");
    assert!(stores(n, &green), "N's positive control");
    assert!(
        !stores(p, &amber) && !stores(p, &green),
        "more than CLEAR reached the platform"
    );

    // Federated search: A answers B with none of them.
    for (what, value, id) in [
        ("held", "+447700900111", &held),
        ("expired", "+447700900112", &expired),
        ("revoked", "+447700900113", &revoked),
        ("blocked origin", "+447700900114", &blocked),
        ("RED for R", "+447700900115", &red),
    ] {
        let ids = federated_ids(b, value);
        assert!(!ids.contains(id), "{what} record in A's search answer");
    }
    assert!(federated_ids(b, "+447700900116").contains(&amber));

    // Private lookups: A's filter for B holds none of their values.
    for (what, value) in [
        ("held", "+447700900111"),
        ("expired", "+447700900112"),
        ("revoked", "+447700900113"),
        ("blocked origin", "+447700900114"),
        ("RED for R", "+447700900115"),
    ] {
        assert!(!lookup_hit(b, value, &a_id), "{what} value is a lookup hit");
    }
    assert!(lookup_hit(b, "+447700900116", &a_id), "positive control");

    // Bulletin openings: B and N learn only the members they may receive.
    for (receiver, visible) in [(b, vec![&amber, &green]), (n, vec![&green])] {
        let shown = shown_members(receiver, &bulletin);
        let (members, withheld) =
            shown.unwrap_or_else(|| panic!("{} lacks the bulletin", receiver.name));
        let mut expected: Vec<String> = visible.iter().map(|s| s.to_string()).collect();
        let mut members = members;
        expected.sort();
        members.sort();
        assert_eq!(members, expected, "{}'s bulletin members", receiver.name);
        assert_eq!(withheld, 5 - expected.len() as u64, "{}", receiver.name);
    }

    // Revoking the platform keeps its submission here as evidence, but this
    // node no longer vouches for its origin (nor knows it was held): it still
    // goes nowhere.
    a.cli_ok(&["partner", "revoke", &p.node_id()]);
    assert!(stores(a, &held));
    let ids = federated_ids(b, "+447700900111");
    assert!(
        !ids.contains(&held),
        "a revoked platform's held record leaked"
    );
}
