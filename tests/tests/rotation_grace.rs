//! A partner offline across two TLS rotations (issue 20 item 4): the second
//! rotation is refused while the first is in grace and the partner has not
//! acknowledged it, live and offline; once the partner is back and
//! acknowledged, it goes through and the partner keeps syncing; `--force`
//! names the partner it locks out.

use crate::common;

use std::process::Output;

use common::{eventually, holds, TestNode, WAIT};

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Pins the node's listening port in its config, so a restart keeps the
/// endpoint its partners have in its bundle.
fn keep_port(node: &TestNode) {
    let config = node.node_dir().config();
    let toml = std::fs::read_to_string(&config).unwrap();
    let pinned = toml.replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{}\"", node.address()),
    );
    assert_ne!(toml, pinned, "{toml}");
    std::fs::write(&config, pinned).unwrap();
}

fn acknowledged_by(node: &TestNode, partner_id: &str) -> bool {
    let record = node.dir().join("tls/rotation.json");
    std::fs::read(record)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| json["acknowledged"].as_array().cloned())
        .is_some_and(|ids| ids.iter().any(|id| id == partner_id))
}

fn refused_naming(out: &Output, partner: &str) {
    let said = text(out);
    assert!(!out.status.success(), "rotation not refused:\n{said}");
    assert!(said.contains("refusing to rotate"), "{said}");
    assert!(said.contains(&format!("{partner:?}")), "{said}");
    assert!(said.contains("--force"), "{said}");
}

#[test]
fn a_partner_offline_across_two_rotations_is_not_locked_out() {
    let (mut a, mut b) = crate::common::two_agencies("green");
    keep_port(&b);
    let first = a.publish("phone", "+44 7700 900321", "green", &[]);
    assert!(eventually(WAIT, || holds(&b, "+447700900321", &first)));
    let b_name = "Agency B (example)";
    let b_id = b.node_id();

    // B is offline across the first rotation: it is not told.
    b.stop();
    let out = a.cli_ok(&["identity", "rotate-tls"]);
    assert!(out.contains(&format!("not told yet ({b_name}")), "{out}");
    let after_first = a.cli_json(&["identity", "show"])["fingerprint"].clone();

    // A second rotation now would delete the only certificate B can be told
    // over: refused, naming B and the way to force it.
    refused_naming(&a.cli(&["identity", "rotate-tls"]), b_name);
    assert_eq!(
        a.cli_json(&["identity", "show"])["fingerprint"],
        after_first,
        "nothing rotated"
    );

    // B comes back, is told over the old certificate and acknowledges.
    b.start();
    assert!(
        eventually(WAIT, || acknowledged_by(&a, &b_id)),
        "A log:\n{}\nB log:\n{}",
        a.log(),
        b.log()
    );
    let out = a.cli_ok(&["identity", "rotate-tls"]);
    assert!(out.contains(&format!("told {b_name}")), "{out}");
    let after_second = a.cli_json(&["identity", "show"])["fingerprint"].clone();
    assert_ne!(after_first, after_second);
    let a_name = "Agency A (example)";
    let b_pin = || {
        b.cli_json(&["partner", "list"])["partners"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == a_name).cloned())
            .map(|p| p["fingerprint"].clone())
    };
    assert_eq!(b_pin(), Some(after_second), "B follows both rotations");
    for (from, to, phone) in [(&a, &b, "+44 7700 900322"), (&b, &a, "+44 7700 900323")] {
        let id = from.publish("phone", phone, "green", &[]);
        let normalised = phone.replace(' ', "");
        assert!(
            eventually(WAIT, || holds(to, &normalised, &id)),
            "{} did not get {phone}:\nA log:\n{}\nB log:\n{}",
            to.name,
            a.log(),
            b.log()
        );
    }

    // Offline again across a third rotation, and A stopped: the offline CLI
    // makes the same decision from the database; --force names whom it locks out.
    b.stop();
    a.stop();
    a.cli_ok(&["identity", "rotate-tls"]);
    refused_naming(&a.cli(&["identity", "rotate-tls"]), b_name);
    let out = a.cli_ok(&["identity", "rotate-tls", "--force"]);
    assert!(
        out.contains(&format!("LOCKED OUT: {b_name:?}")) && out.contains("enroll this node again"),
        "{out}"
    );
    let audit = std::fs::read_to_string(a.node_dir().audit_log()).expect("audit log");
    assert!(
        audit
            .lines()
            .any(|l| l.contains("forced_lock_out") && l.contains(b_name)),
        "{audit}"
    );
}
