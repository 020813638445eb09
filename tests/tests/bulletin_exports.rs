//! Bulletins in the HTTP exports (issue 15), read by stock Python clients on
//! real nodes: the MISP feed serves one event per bulletin (PyMISP loads it)
//! whose attributes are the members visible at that node, and TAXII serves each
//! bulletin as a STIX `report` whose `object_refs` name only members visible
//! there, in the TLP collections only members at or below that TLP.
//!
//! Needs the Python packages as tests/tests/taxii.rs does (never skips).

use crate::common;
use crate::taxii::check;

use common::python::python;

use common::{eventually, TestNode, WAIT};
use serde_json::Value;

const TITLE: &str = "Fake job adverts recruiting for compounds (fictional)";

/// The bulletin's members as `node` shows them, once it holds it.
fn held_members(node: &TestNode, id: &str) -> usize {
    let out = node.cli(&["bulletin", "show", id, "--json"]);
    if !out.status.success() {
        return 0;
    }
    let view: Value = serde_json::from_slice(&out.stdout).expect("json");
    view["members"]
        .as_array()
        .map_or(0, |m| m.iter().filter(|m| m["held"] == true).count())
}

/// The collection whose title starts with `title`.
fn collection<'a>(reports: &'a Value, title: &str) -> &'a Value {
    let all = reports["collections"].as_object().expect("collections");
    all.iter()
        .find(|(t, _)| t.starts_with(title))
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no collection {title}: {reports}"))
}

fn strings(value: &Value) -> Vec<String> {
    let mut all: Vec<String> = value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect();
    all.sort();
    all
}

#[test]
fn bulletins_reach_misp_feed_and_taxii_with_only_visible_members() {
    let python = python();
    let (a, b) = crate::common::two_agencies("green");
    let clear = a.publish("domain", "jobs-abroad.example.org", "clear", &[]);
    let green = a.publish("phone", "+44 7700 900601", "green", &[]);
    let amber = a.publish("phone", "+44 7700 900602", "amber", &[]);
    let published = a.cli_json(&[
        "bulletin",
        "publish",
        "--title",
        TITLE,
        "--indicator",
        &clear,
        "--indicator",
        &green,
        "--indicator",
        &amber,
        "--tlp",
        "green",
        "--label",
        "scam-centre",
        "--country",
        "KE",
    ]);
    let bulletin = published["recordId"].as_str().unwrap().to_string();
    assert!(
        eventually(WAIT, || held_members(&b, &bulletin) == 2),
        "B never held the bulletin's 2 shareable members"
    );

    // MISP feed: one event per bulletin, members visible here, tags, stable uuid.
    for (node, visible) in [(&a, 3), (&b, 2)] {
        let analyst = node.issue("Analyst Example", "analyst");
        let feed = check(python, &["feed", &node.address(), analyst_path(&analyst)]);
        let events = feed["bulletins"].as_array().expect("bulletins");
        assert_eq!(events.len(), 1, "{}: {feed}", node.name);
        let event = &events[0];
        assert_eq!(event["info"], TITLE);
        assert_eq!(
            event["values"].as_array().unwrap().len(),
            visible,
            "{event}"
        );
        // The AMBER member is in A's event (its own record) and never in B's
        // (B was granted GREEN and never held it).
        assert_eq!(
            event["values"].to_string().contains("900602"),
            node.name == a.name,
            "{}: {event}",
            node.name
        );
        let tags = strings(&event["tags"]);
        for tag in [
            "tlp:green",
            "liaison:bulletin",
            "liaison:label=\"scam-centre\"",
            "liaison:country=\"KE\"",
        ] {
            assert!(tags.contains(&tag.to_string()), "{tag} missing: {tags:?}");
        }
        assert_eq!(feed["hash_events"], feed["manifest"], "{feed}");
        let again = check(python, &["feed", &node.address(), analyst_path(&analyst)]);
        assert_eq!(again["bulletins"][0]["uuid"], event["uuid"], "stable uuid");

        // TAXII: the report names exactly the members visible here.
        let taxii = check(
            python,
            &["reports", &node.address(), analyst_path(&analyst)],
        );
        assert_eq!(taxii["invalid"], serde_json::json!([]), "{taxii}");
        let all = collection(&taxii, "All");
        let reports = all["reports"].as_array().expect("reports");
        assert_eq!(reports.len(), 1, "{}: {taxii}", node.name);
        assert_eq!(reports[0]["name"], TITLE);
        let refs = strings(&reports[0]["object_refs"]);
        assert_eq!(refs.len(), visible, "{taxii}");
        assert_eq!(refs, strings(&all["indicators"]), "{taxii}");
        assert_eq!(
            taxii["by_id"],
            serde_json::json!([reports[0]["id"]]),
            "by id"
        );
        // The GREEN collection's report never names the AMBER member.
        let green_c = collection(&taxii, "TLP:GREEN");
        let mut allowed = strings(&green_c["indicators"]);
        allowed.extend(strings(&collection(&taxii, "TLP:CLEAR")["indicators"]));
        allowed.sort();
        assert_eq!(
            strings(&green_c["reports"][0]["object_refs"]),
            allowed,
            "{taxii}"
        );
        assert_eq!(allowed.len(), 2, "{taxii}");
        let amber_c = collection(&taxii, "TLP:AMBER");
        assert!(amber_c["reports"].as_array().unwrap().is_empty(), "{taxii}");
        assert_eq!(reports[0]["revoked"], false);
    }

    // Revoked: the feed event is tagged so, the report says `revoked`.
    a.cli_ok(&["revoke", &bulletin, "--reason", "misattributed"]);
    let analyst = a.issue("Analyst Two", "analyst");
    let feed = check(python, &["feed", &a.address(), analyst_path(&analyst)]);
    let tags = strings(&feed["bulletins"][0]["tags"]);
    assert!(tags.contains(&"liaison:revoked".to_string()), "{feed}");
    let taxii = check(python, &["reports", &a.address(), analyst_path(&analyst)]);
    assert_eq!(
        collection(&taxii, "All")["reports"][0]["revoked"],
        true,
        "{taxii}"
    );
    assert_eq!(taxii["invalid"], serde_json::json!([]), "{taxii}");
}

fn analyst_path(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn a_misp_file_export_says_bulletins_come_through_the_feed() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    let member = a.publish("phone", "+44 7700 900611", "green", &[]);
    let out = a.tmp.path().join("event.json");
    let export = |force: &str| {
        let mut args = vec!["export", "--format", "misp", "--out", out.to_str().unwrap()];
        if !force.is_empty() {
            args.push(force);
        }
        let run = a.cli(&args);
        assert!(run.status.success(), "{run:?}");
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    assert!(!export("").contains("bulletin"));
    a.cli_ok(&[
        "bulletin",
        "publish",
        "--title",
        TITLE,
        "--indicator",
        &member,
        "--tlp",
        "green",
    ]);
    let stderr = export("--force");
    assert!(
        stderr.contains("1 bulletin(s) are not in this one-event MISP export")
            && stderr.contains("/misp-feed/"),
        "{stderr}"
    );
    // The file is still exactly one event with the indicator.
    let event: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(event["Event"]["Attribute"].as_array().unwrap().len(), 1);
}
