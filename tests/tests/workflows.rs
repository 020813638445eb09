//! Analyst workflows across real processes (issue 15): typed sightings — a
//! false positive travels back to the origin and is counted apart, never as a
//! strengthening sighting.

use crate::common;

use common::{eventually, holds, three_agencies, TestNode, WAIT};

/// The local (stored) view of `id` in a search at `node`.
fn local_view(node: &TestNode, value: &str, id: &str) -> serde_json::Value {
    let found = node.cli_json(&["search", value]);
    found["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["recordId"] == id && r["source"] == "local")
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_false_positive_sighting_reaches_the_origin_and_changes_correlation() {
    let (a, b, _c) = three_agencies();
    let id = a.publish(
        "phone",
        "+44 7700 900411",
        "green",
        &["--label", "romance-scam"],
    );
    assert!(eventually(WAIT, || holds(&b, "+447700900411", &id)));
    let out = b.cli_json(&[
        "sight",
        &id,
        "--type",
        "false-positive",
        "--note",
        "the number belongs to a victim (fictional)",
    ]);
    let sighting_id = out["sightingId"].as_str().expect("sightingId");
    let sighting = b.cli_json(&["get", sighting_id]);
    assert_eq!(sighting["sightingType"], "false-positive", "{sighting}");
    assert_eq!(sighting["refersTo"], id.as_str(), "{sighting}");

    // The origin is told: its own record now shows who marked it a false positive.
    let told = || {
        let view = local_view(&a, "+447700900411", &id);
        view["falsePositives"] == 1 && view["sightings"] == 0
    };
    assert!(
        eventually(WAIT, told),
        "A: {}",
        a.cli_json(&["search", "+447700900411"])
    );
    let view = local_view(&a, "+447700900411", &id);
    assert_eq!(view["falsePositiveBy"][0], "Agency B (example)");
    let listed = a.cli_ok(&["list"]);
    assert!(
        listed.contains("marked false positive by Agency B (example)"),
        "{listed}"
    );

    // Correlation counts it apart from sightings.
    let found = a.cli_json(&["search", "+447700900411"]);
    let holdings = found["correlations"][0]["holdings"].as_array().unwrap();
    let by_b = holdings
        .iter()
        .find(|h| h["name"] == "Agency B (example)")
        .expect("B in the correlation");
    assert_eq!(by_b["falsePositives"], 1);
    assert_eq!(by_b["sightings"], 0);

    // A plain sighting still counts as one, and an unknown type is refused by name.
    b.cli_ok(&["sight", &id, "--type", "seen"]);
    assert!(eventually(WAIT, || local_view(&a, "+447700900411", &id)
        ["sightings"]
        == 1));
    let bad = b.cli(&["sight", &id, "--type", "wrong"]);
    assert!(!bad.status.success());
}

#[test]
fn a_warninglisted_value_is_flagged_at_publish_and_in_search() {
    let mut node = TestNode::init("Agency W (example)");
    node.start();
    node.cli_ok(&[
        "warninglist",
        "add",
        "--kind",
        "phone",
        "--value",
        "07700 900999",
        "--country",
        "GB",
        "--note",
        "public victim helpline (fictional)",
    ]);
    let file = node.dir().join("misp-list.json");
    std::fs::write(
        &file,
        r#"{"name": "Documentation domains", "type": "hostname",
            "matching_attributes": ["domain", "hostname"],
            "list": ["example.org", "example.net"]}"#,
    )
    .unwrap();
    let imported = node.cli_json(&["warninglist", "import", file.to_str().unwrap()]);
    assert_eq!(imported["entries"].as_array().unwrap().len(), 2);
    let listed = node.cli_json(&["warninglist", "list"]);
    assert_eq!(listed["entries"].as_array().unwrap().len(), 3, "{listed}");

    // Published anyway, with a warning naming the list.
    let published = node.cli_json(&[
        "publish",
        "--kind",
        "phone",
        "--value",
        "+44 7700 900999",
        "--tlp",
        "green",
    ]);
    assert_eq!(published["warninglists"][0], "local", "{published}");
    let text = node.cli_ok(&[
        "publish",
        "--kind",
        "domain",
        "--value",
        "Example.org",
        "--tlp",
        "green",
    ]);
    assert!(text.contains("warninglist Documentation domains"), "{text}");
    // --strict refuses, naming the field and the list; nothing is stored.
    let refused = node.cli(&[
        "publish",
        "--kind",
        "domain",
        "--value",
        "example.net",
        "--tlp",
        "green",
        "--strict",
    ]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("value:") && err.contains("Documentation domains"),
        "{err}"
    );
    assert!(node.search_ids("example.net").is_empty());
    // A value not on any list publishes silently.
    let clean = node.cli_json(&[
        "publish",
        "--kind",
        "domain",
        "--value",
        "jobs.example.com",
        "--tlp",
        "green",
    ]);
    assert!(clean["warninglists"].as_array().unwrap().is_empty());

    // Search marks the match.
    let found = node.cli_json(&["search", "+447700900999"]);
    assert_eq!(found["records"][0]["warninglists"][0], "local", "{found}");

    // A bad entry names its field and stores nothing; remove takes a value off.
    let bad = node.cli(&["warninglist", "add", "--kind", "ip", "--value", "not-an-ip"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("value"));
    node.cli_ok(&[
        "warninglist",
        "remove",
        "--kind",
        "domain",
        "--value",
        "example.org",
    ]);
    let listed = node.cli_json(&["warninglist", "list"]);
    assert_eq!(listed["entries"].as_array().unwrap().len(), 2, "{listed}");
}

/// Agency A with a full partner B, an NGO N and a platform P (evaluation capped at C3).
fn agency_with_ngo_and_platform() -> (TestNode, TestNode, TestNode, TestNode) {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let mut n = TestNode::init("Hotline NGO (example)");
    let mut p = TestNode::init("Platform P (example)");
    for node in [&mut a, &mut b, &mut n, &mut p] {
        node.start();
    }
    a.enroll(&b, "green", true);
    b.enroll(&a, "green", true);
    let add = |admin: &TestNode, other: &TestNode, kind: &[&str]| {
        let bundle = other.export_bundle();
        let mut args = vec![
            "partner",
            "add",
            bundle.to_str().unwrap(),
            "--max-tlp",
            "amber",
            "--yes",
        ];
        args.extend_from_slice(kind);
        admin.cli_ok(&args);
    };
    add(&a, &n, &["--kind", "ngo"]);
    add(&a, &p, &["--kind", "platform", "--max-evaluation", "C3"]);
    n.enroll(&a, "green", false);
    p.enroll(&a, "green", false);
    (a, b, n, p)
}

#[test]
fn ngo_and_platform_partners_get_only_what_their_kind_allows() {
    let (a, b, n, p) = agency_with_ngo_and_platform();
    let listed = a.cli_json(&["partner", "list"]);
    let kinds: Vec<_> = listed["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"ngo".into()) && kinds.contains(&"platform".into()));
    // An NGO or platform never relays.
    let bundle = b.export_bundle();
    let refused = a.cli(&[
        "partner",
        "add",
        bundle.to_str().unwrap(),
        "--max-tlp",
        "green",
        "--kind",
        "ngo",
        "--relay",
        "--yes",
    ]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("relay"));

    // The NGO gets GREEN but never AMBER, though enrolled up to AMBER; the
    // platform gets neither.
    let green = a.publish("phone", "+44 7700 900421", "green", &[]);
    let amber = a.publish("phone", "+44 7700 900422", "amber", &[]);
    let clear = a.publish("domain", "help.example.org", "clear", &[]);
    // CLEAR was published last: once each holds it, the sync has moved past
    // what it must not have.
    assert!(eventually(WAIT, || holds(&n, "+447700900421", &green)));
    assert!(eventually(WAIT, || holds(&n, "help.example.org", &clear)));
    assert!(eventually(WAIT, || holds(&p, "help.example.org", &clear)));
    assert!(!holds(&n, "+447700900422", &amber));
    assert!(!holds(&p, "+447700900421", &green));

    // The NGO cannot run a federated search at A.
    let found = n.cli_json(&[
        "search",
        "+44 7700 900422",
        "--federated",
        "--justification",
        "hotline call (fictional)",
    ]);
    let answer = &found["partners"][0];
    assert_eq!(answer["status"], "refused", "{found}");
    assert!(answer["detail"]
        .as_str()
        .unwrap()
        .contains("cannot run federated searches"));
    assert!(found["records"].as_array().unwrap().is_empty());

    // A platform's submission: reported by platform, evaluation capped, held from
    // relay to B until an analyst at A endorses it.
    let scam = p.publish("phone", "+44 7700 900431", "green", &["--evaluation", "A1"]);
    assert!(eventually(WAIT, || holds(&a, "+447700900431", &scam)));
    let view = local_view(&a, "+447700900431", &scam);
    assert_eq!(view["reportedByPlatform"], "Platform P (example)");
    assert_eq!(view["heldUntilEndorsed"], true);
    let evaluation = &view["indicator"]["evaluation"];
    assert_eq!(evaluation["sourceReliability"], "C", "{view}");
    assert_eq!(evaluation["informationAccuracy"], 3, "{view}");
    let text = a.cli_ok(&["list"]);
    assert!(
        text.contains("reported by platform Platform P (example)"),
        "{text}"
    );
    // B syncs A's later GREEN record, but not the held one.
    let later = a.publish("phone", "+44 7700 900432", "green", &[]);
    assert!(eventually(WAIT, || holds(&b, "+447700900432", &later)));
    assert!(!holds(&b, "+447700900431", &scam));
    a.cli_ok(&[
        "sight",
        &scam,
        "--type",
        "seen",
        "--note",
        "confirmed (fictional)",
    ]);
    assert!(eventually(WAIT, || holds(&b, "+447700900431", &scam)));
    assert_eq!(
        local_view(&a, "+447700900431", &scam)["heldUntilEndorsed"],
        false
    );
}

#[test]
fn import_reports_warninglisted_rows_and_strict_refuses_them() {
    let mut node = TestNode::init("Agency W (example)");
    node.start();
    let add = |kind: &str, value: &str| {
        node.cli_ok(&[
            "warninglist",
            "add",
            "--kind",
            kind,
            "--value",
            value,
            "--list",
            "Helplines (fictional)",
        ]);
    };
    add("phone", "+44 7700 900998");
    add("domain", "help.example.org");
    let csv = node.dir().join("rows.csv");
    std::fs::write(
        &csv,
        "kind,value,tlp\nphone,+44 7700 900998,green\ndomain,scam-jobs.example.org,green\ndomain,help.example.org,green\n",
    )
    .expect("write csv");
    let path = csv.to_str().expect("path");

    // Imported with a warning per row: the count, and each row named.
    let summary = node.cli_json(&["import", path]);
    assert_eq!(common::int(&summary["imported"]), 3, "{summary}");
    assert_eq!(common::int(&summary["warninglisted"]), 2, "{summary}");
    let warnings = summary["warnings"].as_array().expect("warnings");
    let shown: Vec<_> = warnings
        .iter()
        .map(|w| {
            (
                w["location"].as_str().unwrap(),
                w["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [("row 2", "+447700900998"), ("row 4", "help.example.org")],
        "{summary}"
    );
    assert_eq!(warnings[0]["warninglists"][0], "Helplines (fictional)");
    // The plain summary says it too (a re-run: already present, still warned).
    let text = node.cli_ok(&["import", path]);
    assert!(
        text.contains("2 imported row(s) are on this node's warninglists"),
        "{text}"
    );
    assert!(
        text.contains("help.example.org on warninglist Helplines (fictional)"),
        "{text}"
    );

    // --strict refuses the warninglisted rows, naming the list; the others go in.
    let strict_csv = node.dir().join("strict.csv");
    std::fs::write(
        &strict_csv,
        "kind,value,tlp\nphone,07700 900998,amber\ndomain,other-jobs.example.org,amber\n",
    )
    .expect("write csv");
    let rejects = node.dir().join("rejects.tsv");
    let strict = node.cli_json(&[
        "import",
        strict_csv.to_str().unwrap(),
        "--default-country",
        "GB",
        "--strict",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(common::int(&strict["imported"]), 1, "{strict}");
    assert_eq!(common::int(&strict["rejected"]), 1, "{strict}");
    assert_eq!(common::int(&strict["warninglisted"]), 0, "{strict}");
    let refused = std::fs::read_to_string(&rejects).expect("rejects file");
    assert!(
        refused.contains("row 2\tvalue\t")
            && refused.contains("Helplines (fictional) (refused: strict)"),
        "{refused}"
    );
    assert!(node.search_ids("other-jobs.example.org").len() == 1);
}
