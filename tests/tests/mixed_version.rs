//! A node of the previous release (compat/previous-release, built by
//! scripts/previous-release.sh or given as LIAISON_PREVIOUS_BIN) federates with
//! a node of this build, as two agencies one release apart do: records both
//! ways, a bulk import each way, a revocation each way, a backlog after each
//! side was down, a bulletin and a private lookup each way, a record of a kind
//! the old release cannot read withheld from it (and nothing rejected there),
//! and `partner list` on the new node naming what the old one speaks. The old node is driven
//! through its own CLI (the same commands and `--json` shapes as today's).

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::previous::previous_bin;
use common::{eventually, holds, int, TestNode};
use std::time::{Duration, Instant};

/// Bulk syncs of a few thousand records on a loaded CI machine: generous.
const SYNC: Duration = Duration::from_secs(60);
const IMPORT_ROWS: usize = 2000;
const BACKLOG_ROWS: usize = 300;

/// One side of the pair: how many records it has signed itself, and how many
/// of those the other side cannot read and must not be sent (a kind newer than
/// its release); the difference is what the other side must end up receiving.
struct Side {
    node: TestNode,
    signed: u64,
    withheld: u64,
}

impl Side {
    fn publish(&mut self, kind: &str, value: &str) -> String {
        let id = self
            .node
            .publish(kind, value, "amber", &["--label", "fraud"]);
        self.signed += 1;
        id
    }

    /// `liaison import` of `rows` domain rows named `{tag}-{i}.example.org`.
    fn import(&mut self, tag: &str, rows: usize) {
        let file = self.node.tmp.path().join(format!("{tag}.csv"));
        let mut csv = String::from("kind,value,labels,tlp\n");
        for i in 0..rows {
            csv.push_str(&format!("domain,{tag}-{i:05}.example.org,fraud,green\n"));
        }
        std::fs::write(&file, csv).expect("write csv");
        let summary = self
            .node
            .cli_json(&["import", file.to_str().expect("path")]);
        assert_eq!(int(&summary["imported"]), rows as u64, "{summary}");
        assert_eq!(int(&summary["rejected"]), 0, "{summary}");
        self.signed += rows as u64;
    }

    fn revoke(&mut self, id: &str) {
        self.node
            .cli_ok(&["revoke", id, "--reason", "attributed in error (test)"]);
        self.signed += 1;
    }

    fn bulletin(&mut self, title: &str, members: &[&str]) -> String {
        let mut args = vec!["bulletin", "publish", "--title", title, "--tlp", "green"];
        for member in members {
            args.extend(["--indicator", member]);
        }
        let published = self.node.cli_json(&args);
        self.signed += 1;
        published["recordId"]
            .as_str()
            .expect("recordId")
            .to_string()
    }
}

/// `node`'s `partner list --json` row for its only partner.
fn partner_row(node: &TestNode) -> serde_json::Value {
    node.cli_json(&["partner", "list"])["partners"][0].clone()
}

/// Waits until `to` has received every record `from` signed, and none was
/// rejected. Polled every 200 ms: each poll is a CLI process and a TLS
/// connection, and this waits through thousands of records on a busy machine.
fn synced(from: &Side, to: &Side, what: &str) {
    let received = || common::int_opt(&partner_row(&to.node)["recordsReceived"]);
    let expected = from.signed - from.withheld;
    let deadline = Instant::now() + SYNC;
    let mut done = received() == Some(expected);
    while !done && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        done = received() == Some(expected);
    }
    let row = partner_row(&to.node);
    assert!(
        done,
        "{what}: {} received {:?} of the {expected} records {} signed for it: {row}\n{} log:\n{}",
        to.node.name,
        received(),
        from.node.name,
        to.node.name,
        to.node.log()
    );
    assert_eq!(int(&row["recordsRejected"]), 0, "{what}: {row}");
}

/// Makes the node listen on the port it was given at its first start, so that
/// after a restart its partner still reaches it at the enrolled endpoint. The
/// `listen` line is the same in both releases' config.toml.
fn pin_port(node: &TestNode) {
    let config = node.node_dir().config();
    let text = std::fs::read_to_string(&config).expect("config");
    let pinned = text.replacen(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{}\"", node.address()),
        1,
    );
    assert_ne!(
        text,
        pinned,
        "no port-0 listen line in {}",
        config.display()
    );
    std::fs::write(&config, pinned).expect("write config");
}

fn revoked(node: &TestNode, id: &str) -> bool {
    let out = node.cli(&["get", id, "--json"]);
    out.status.success()
        && serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .is_ok_and(|view| view["revoked"] == true)
}

fn bulletin_members(node: &TestNode, id: &str) -> Option<BTreeSet<String>> {
    let out = node.cli(&["bulletin", "show", id, "--json"]);
    if !out.status.success() {
        return None;
    }
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        view["members"]
            .as_array()?
            .iter()
            .filter_map(|m| m["recordId"].as_str().map(String::from))
            .collect(),
    )
}

/// `asker`'s private lookup of a phone number at its one partner: hit or not.
fn lookup_hit(asker: &TestNode, value: &str) -> bool {
    let answer = asker.cli_json(&["lookup", value, "--kind", "phone"]);
    let partner = &answer["partners"][0];
    assert_eq!(partner["status"], "answered", "{}: {answer}", asker.name);
    partner["hit"] == true
}

/// Prints how long each step took (shown with `--nocapture`, and with a failure).
struct Steps(Instant);

impl Steps {
    fn done(&mut self, step: &str) {
        eprintln!(
            "mixed_version: {step}: ok in {:.1} s",
            self.0.elapsed().as_secs_f64()
        );
        self.0 = Instant::now();
    }
}

fn start(bin: &Path, name: &str) -> Side {
    let mut node = TestNode::init_with(bin, name);
    node.start();
    pin_port(&node);
    Side {
        node,
        signed: 0,
        withheld: 0,
    }
}

#[test]
fn a_node_of_the_previous_release_and_one_of_this_build_federate() {
    let previous = previous_bin();
    let mut steps = Steps(Instant::now());
    let mut old = start(&previous, "Agency Old Release (example)");
    let mut new = start(Path::new(common::BIN), "Agency This Build (example)");
    // Each enrolls the other with its own CLI.
    old.node.enroll(&new.node, "amber", false);
    new.node.enroll(&old.node, "amber", false);
    steps.done("start and enroll");

    // Records both ways.
    let old_phone = old.publish("phone", "+44 7700 900731");
    // A kind 0.1.0 cannot read (a network range, issue 24) is not sent to it;
    // the old node passes over it and rejects nothing (`synced` checks).
    let range = new
        .node
        .publish("network", "192.0.2.0/24", "amber", &["--label", "fraud"]);
    new.signed += 1;
    new.withheld += 1;
    let new_phone = new.publish("phone", "+44 7700 900732");
    synced(&old, &new, "publish old -> new");
    synced(&new, &old, "publish new -> old");
    assert!(
        !old.node.cli(&["get", &range]).status.success(),
        "range at old"
    );
    assert!(holds(&new.node, "+447700900731", &old_phone));
    assert!(holds(&old.node, "+447700900732", &new_phone));

    steps.done("publish both ways; a network range withheld from old");
    // The new node shows what the old one speaks: it states nothing, which
    // means protocol 1 with the first release's features; compatible.
    let row = partner_row(&new.node);
    assert_eq!(row["protocolVersion"], 1, "{row}");
    assert_eq!(row["softwareVersion"], "", "0.1.0 states no release: {row}");
    let features: BTreeSet<&str> = row["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    let first: BTreeSet<&str> = liaison::proto::FIRST_RELEASE_FEATURES
        .iter()
        .copied()
        .collect();
    assert_eq!(features, first, "{row}");
    // Compatible; what 0.1.0 cannot read is named as withheld, by the one
    // decision (sync::compat) that withholds it.
    let unstated = liaison::sync::compat::PeerVersion::stated(0, &[], "");
    let expected = liaison::sync::compat::compatibility(&unstated);
    assert!(!expected.starts_with("incompatible"), "{expected}");
    assert_eq!(row["compatibility"], expected.as_str(), "{row}");
    let text = new.node.cli_ok(&["partner", "list"]);
    assert!(
        text.contains("release 0.1.0 or unstated, protocol 1, features bulletins"),
        "{text}"
    );

    steps.done("partner list shows the old release");
    // A bulletin each way, every member visible (both state `bulletins`).
    let old_member = old.publish("phone", "+44 7700 900741");
    let new_member = new.publish("phone", "+44 7700 900742");
    let old_bulletin = old.bulletin("Old release campaign (fictional)", &[&old_member]);
    let new_bulletin = new.bulletin("This build's campaign (fictional)", &[&new_member]);
    synced(&old, &new, "bulletin old -> new");
    synced(&new, &old, "bulletin new -> old");
    let expect = |id: &str| Some(BTreeSet::from([id.to_string()]));
    assert!(
        eventually(SYNC, || bulletin_members(&new.node, &old_bulletin)
            == expect(&old_member)),
        "old's bulletin at new: {:?}",
        bulletin_members(&new.node, &old_bulletin)
    );
    assert!(
        eventually(SYNC, || bulletin_members(&old.node, &new_bulletin)
            == expect(&new_member)),
        "new's bulletin at old: {:?}",
        bulletin_members(&old.node, &new_bulletin)
    );

    steps.done("a bulletin each way");
    // A private lookup each way: a hit on the partner's number, none on a
    // number nobody holds. Before the bulk import: the 0.1.0 node builds its
    // filter at the first lookup of an epoch, which in a debug build takes
    // longer than the asker's 10 s deadline at thousands of values (this build
    // builds ahead of time: docs/PRIVATE_LOOKUP.md).
    assert!(lookup_hit(&new.node, "+44 7700 900741"));
    assert!(lookup_hit(&old.node, "+44 7700 900742"));
    assert!(!lookup_hit(&new.node, "+44 7700 900799"));
    assert!(!lookup_hit(&old.node, "+44 7700 900799"));

    steps.done("a private lookup each way");
    // A bulk import on each side reaches the other (the two at once, as two
    // agencies would).
    std::thread::scope(|both| {
        both.spawn(|| old.import("old-bulk", IMPORT_ROWS));
        new.import("new-bulk", IMPORT_ROWS);
    });
    steps.done("the two imports");
    synced(&old, &new, "import old -> new");
    synced(&new, &old, "import new -> old");
    assert_eq!(
        new.node.search_ids("old-bulk-01999.example.org").len(),
        1,
        "the last imported row"
    );

    steps.done("both imports reached the other side");
    // A revocation each way.
    old.revoke(&old_phone);
    new.revoke(&new_phone);
    synced(&old, &new, "revocation old -> new");
    synced(&new, &old, "revocation new -> old");
    assert!(revoked(&new.node, &old_phone), "old's revocation at new");
    assert!(revoked(&old.node, &new_phone), "new's revocation at old");
    assert!(!holds(&new.node, "+447700900731", &old_phone));

    steps.done("a revocation each way");
    // A backlog after downtime, each way: the side that was down catches up
    // from its stored cursor when it restarts.
    new.node.stop();
    old.import("old-backlog", BACKLOG_ROWS);
    new.node.start();
    synced(&old, &new, "backlog old -> restarted new");
    steps.done("backlog old -> restarted new");
    old.node.stop();
    new.import("new-backlog", BACKLOG_ROWS);
    old.node.start();
    synced(&new, &old, "backlog new -> restarted old");

    steps.done("backlog new -> restarted old");
    // The new node holds every record; the old one all but the range.
    let held = |side: &Side| int(&side.node.cli_json(&["identity", "show"])["records"]);
    assert_eq!(held(&new), old.signed + new.signed);
    assert_eq!(held(&old), old.signed + new.signed - new.withheld);
    steps.done("both hold what they may");
}
