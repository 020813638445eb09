//! Bulletins (issue 15) across real nodes: each partner learns exactly the
//! member ids it may see, the rest counted as withheld; a relay keeps the rule;
//! a forged opening is refused alone; bad input is refused with a clear error;
//! search shows the bulletins an indicator belongs to.

use crate::common;

use std::collections::BTreeSet;

use common::rogue::{indicator, signed, signed_body, Script};
use common::{eventually, TestNode, WAIT};
use liaison::bulletin::{commit_members, opening_to_wire};
use liaison::proto;
use liaison::record::{Body, Bulletin, Envelope, RecordId, Tlp};

/// `partner add` of `other` at `admin` with extra flags.
fn add(admin: &TestNode, other: &TestNode, max_tlp: &str, extra: &[&str]) {
    let bundle = other.export_bundle();
    let mut args = vec![
        "partner",
        "add",
        bundle.to_str().unwrap(),
        "--max-tlp",
        max_tlp,
        "--yes",
    ];
    args.extend_from_slice(extra);
    admin.cli_ok(&args);
}

/// The bulletin `id` as `node` shows it, once it holds it.
fn shown(node: &TestNode, id: &str) -> Option<serde_json::Value> {
    let out = node.cli(&["bulletin", "show", id, "--json"]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).expect("json"))
}

fn member_ids(view: &serde_json::Value) -> BTreeSet<String> {
    view["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["recordId"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_partner_sees_exactly_the_members_it_may_and_a_relay_keeps_the_rule() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let mut c = TestNode::init("Agency C (example)");
    let mut n = TestNode::init("Hotline NGO (example)");
    let mut d = TestNode::init("Agency D (example)");
    for node in [&mut a, &mut b, &mut c, &mut n, &mut d] {
        node.start();
    }
    // A's partners: B (agency, AMBER, relay), C (agency, GREEN), N (NGO,
    // enrolled up to AMBER but capped at GREEN by its kind). D is B's partner only.
    add(&a, &b, "amber", &["--relay"]);
    add(&b, &a, "amber", &["--relay"]);
    add(&a, &c, "green", &[]);
    add(&c, &a, "green", &[]);
    add(&a, &n, "amber", &["--kind", "ngo"]);
    add(&n, &a, "green", &[]);
    add(&b, &d, "green", &["--relay"]);
    add(&d, &b, "green", &["--relay"]);

    let clear = a.publish("domain", "jobs-abroad.example.org", "clear", &[]);
    let green = a.publish("phone", "+44 7700 900501", "green", &[]);
    let green_h2 = a.publish("phone", "+44 7700 900502", "green", &["--handling", "h2"]);
    let amber = a.publish("phone", "+44 7700 900503", "amber", &[]);
    let b_id = b.node_id();
    let red = a.publish("phone", "+44 7700 900504", "red", &["--recipient", &b_id]);

    let published = a.cli_json(&[
        "bulletin",
        "publish",
        "--title",
        "Fake job adverts recruiting for compounds (fictional)",
        "--summary",
        "Adverts promise office work abroad; victims are trafficked.",
        "--modus-operandi",
        "Advert, chat on a messenger, flight, confiscated passport.",
        "--indicator",
        &clear[..12],
        "--indicator",
        &green,
        "--indicator",
        &green_h2,
        "--indicator",
        &amber,
        "--indicator",
        &red,
        "--tlp",
        "green",
        "--label",
        "human-trafficking",
        "--country",
        "ke",
        "--country",
        "MM",
    ]);
    let bulletin = published["recordId"].as_str().unwrap().to_string();

    // The origin sees every member.
    let at_a = shown(&a, &bulletin).expect("origin holds its bulletin");
    assert_eq!(at_a["membersTotal"], 5);
    assert_eq!(at_a["withheld"], 0);
    assert_eq!(at_a["countries"], serde_json::json!(["KE", "MM"]));

    // (node, members it may see); RED is not sent to B (AMBER ceiling).
    let expected = [
        (&b, set(&[&clear, &green, &green_h2, &amber])),
        (&c, set(&[&clear, &green, &green_h2])),
        (&n, set(&[&clear, &green, &green_h2])),
        // Relayed by B: only relayable members (no AMBER, no H2).
        (&d, set(&[&clear, &green])),
    ];
    for (node, members) in &expected {
        let arrived = eventually(WAIT, || {
            shown(node, &bulletin).is_some_and(|v| member_ids(&v) == *members)
        });
        let view = shown(node, &bulletin);
        assert!(
            arrived,
            "{}: expected members {members:?}, shows {view:?}",
            node.name
        );
        let view = view.unwrap();
        assert_eq!(view["membersTotal"], 5, "{}", node.name);
        assert_eq!(
            view["withheld"],
            5 - members.len() as u64,
            "{}: {view}",
            node.name
        );
        assert_eq!(view["title"], at_a["title"]);
        let listed = node.cli_json(&["bulletin", "list"]);
        assert_eq!(listed["bulletins"].as_array().unwrap().len(), 1);
        let text = node.cli_ok(&["bulletin", "show", &bulletin[..10]]);
        assert!(
            text.contains(&format!("{} of 5 members withheld", 5 - members.len())),
            "{text}"
        );
    }

    // Search shows the bulletin an indicator belongs to, where it is known.
    let found = c.cli_json(&["search", "+44 7700 900501"]);
    let refs = &found["records"][0]["bulletins"];
    assert_eq!(refs[0]["recordId"], bulletin.as_str(), "{found}");
    let found = a.cli_json(&["search", "+44 7700 900503"]);
    assert_eq!(
        found["records"][0]["bulletins"][0]["recordId"],
        bulletin.as_str()
    );
    let text = c.cli_ok(&["search", "+44 7700 900501"]);
    assert!(text.contains("bulletin"), "{text}");
    // C was never told AMBER's id, so nothing links it there.
    assert!(!c
        .cli_ok(&["bulletin", "show", &bulletin, "--json"])
        .contains(&amber));
}

#[test]
fn bad_bulletins_are_refused_with_the_field_named() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    let member = a.publish("phone", "+44 7700 900511", "green", &[]);
    let publish = |title: &str, extra: &[&str]| {
        let mut args = vec![
            "bulletin",
            "publish",
            "--title",
            title,
            "--tlp",
            "green",
            "--indicator",
        ];
        args.push(&member);
        args.extend_from_slice(extra);
        let out = a.cli(&args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let long = "x".repeat(201);
    let err = publish(&long, &[]);
    assert!(
        err.contains("title: 201 characters; the limit is 200"),
        "{err}"
    );
    let err = publish("ok", &["--country", "XX"]);
    assert!(err.contains("countries:"), "{err}");
    let err = publish("ok", &["--indicator", "00000000deadbeef"]);
    assert!(err.contains("00000000deadbeef"), "{err}");
    let err = publish("ok", &["--indicator", &member]);
    assert!(err.contains("given twice"), "{err}");
    // Nothing was stored half-way.
    let listed = a.cli_json(&["bulletin", "list"]);
    assert!(listed["bulletins"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_opening_is_refused_and_the_bulletin_kept() {
    let mut victim = TestNode::init("Agency Victim (example)");
    let rogue = TestNode::init("Agency Rogue (example)");
    victim.start();
    let bundle =
        common::rogue::start_with_openings(&rogue.node_dir(), &victim.node_dir(), |key, _| {
            let real = signed(key, 1, indicator("+447700900521", Tlp::Green, vec![]));
            let real_id = Envelope::from_wire(real.clone()).unwrap().id();
            let hidden = RecordId([0x42; 32]);
            let (members, openings) = commit_members(&[real_id, hidden]);
            let body = Body::Bulletin(Bulletin {
                title: "Rogue bulletin (fictional)".into(),
                summary: String::new(),
                modus_operandi: String::new(),
                labels: vec![],
                countries: vec![],
                members,
                tlp: Tlp::Green,
                handling: vec![],
                handling_note: String::new(),
                recipients: vec![],
                valid_until_ms: liaison::now_ms() + 86_400_000,
            });
            let bulletin = signed_body(key, 2, body, liaison::now_ms());
            let bulletin_id = Envelope::from_wire(bulletin.clone()).unwrap().id();
            // The real member's opening, and a forged one claiming the hidden
            // position opens to the real record.
            let mut forged = opening_to_wire(&openings[1]);
            forged.record_id = real_id.0.to_vec();
            let sent = proto::BulletinOpenings {
                bulletin_id: bulletin_id.0.to_vec(),
                members: vec![opening_to_wire(&openings[0]), forged],
            };
            let script = Script {
                batches: vec![vec![real, bulletin]],
                gate: None,
                head: None,
                ..Default::default()
            };
            (Some(script), vec![sent])
        })
        .await;
    let path = victim.tmp.path().join("rogue.pem");
    std::fs::write(&path, bundle).unwrap();
    victim.cli_ok(&[
        "partner",
        "add",
        path.to_str().unwrap(),
        "--max-tlp",
        "red",
        "--yes",
    ]);

    let arrived = eventually(WAIT, || {
        let listed = victim.cli_json(&["bulletin", "list"]);
        !listed["bulletins"].as_array().unwrap().is_empty()
    });
    assert!(arrived, "bulletin never arrived; log:\n{}", victim.log());
    let listed = victim.cli_json(&["bulletin", "list"]);
    let view = &listed["bulletins"][0];
    assert_eq!(view["membersTotal"], 2, "{view}");
    assert_eq!(
        view["withheld"], 1,
        "the forged opening must not count: {view}"
    );
    assert_eq!(view["members"].as_array().unwrap().len(), 1);
    let partners = victim.cli_json(&["partner", "list"]);
    let row = partners["partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Agency Rogue (example)")
        .cloned()
        .unwrap();
    let reason = row["lastRejection"].as_str().unwrap_or_default();
    assert!(reason.contains("does not match the commitment"), "{row}");
}

#[test]
fn a_revoked_bulletin_reaches_partners_marked_revoked() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    a.start();
    b.start();
    add(&a, &b, "green", &[]);
    add(&b, &a, "green", &[]);
    let member = a.publish("phone", "+44 7700 900531", "green", &[]);
    let published = a.cli_json(&[
        "bulletin",
        "publish",
        "--title",
        "Withdrawn campaign (fictional)",
        "--indicator",
        &member,
        "--tlp",
        "green",
    ]);
    let bulletin = published["recordId"].as_str().unwrap().to_string();
    assert!(eventually(WAIT, || shown(&b, &bulletin).is_some()));
    assert_eq!(shown(&b, &bulletin).unwrap()["revoked"], false);

    // Only the origin may withdraw it; a reason is required as for indicators.
    let out = b.cli(&["revoke", &bulletin, "--reason", "not ours"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only the origin"));

    let revoked = a.cli_json(&["revoke", &bulletin, "--reason", "campaign misattributed"]);
    assert!(revoked["revocationId"].is_string(), "{revoked}");
    assert_eq!(shown(&a, &bulletin).unwrap()["revoked"], true);
    let arrived = eventually(WAIT, || {
        shown(&b, &bulletin).is_some_and(|v| v["revoked"] == true)
    });
    assert!(
        arrived,
        "B never learned of the revocation; log:\n{}",
        b.log()
    );
    let text = b.cli_ok(&["bulletin", "show", &bulletin]);
    assert!(text.contains("REVOKED"), "{text}");
    let list = b.cli_ok(&["bulletin", "list"]);
    assert!(list.contains("[REVOKED]"), "{list}");
    // Revoking it twice is a conflict; the member indicator stays live.
    let out = a.cli(&["revoke", &bulletin, "--reason", "again"]);
    assert!(!out.status.success());
    let found = b.cli_json(&["search", "+44 7700 900531"]);
    assert_eq!(found["records"].as_array().unwrap().len(), 1, "{found}");
}
