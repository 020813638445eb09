//! Issue 25's Partners figures over real nodes: after a sync `partner list`
//! (text and `--json`) and the console's Partners page show the lag (0), and a
//! TLS rotation shows in the node's own words on both sides — "our rotation not
//! yet acknowledged by this partner" on the rotating node while the partner is
//! away, "partner rotated its certificate; the previous one is accepted until"
//! on the partner once it has been told.

use crate::common::{eventually, holds, two_agencies, TestNode, WAIT};
use crate::console_http::{http, Console};

const A_NAME: &str = "Agency A (example)";
const B_NAME: &str = "Agency B (example)";
const NOT_ACKNOWLEDGED: &str = "our rotation not yet acknowledged by this partner";
const PARTNER_ROTATED: &str = "partner rotated its certificate; the previous one is accepted until";

/// Pins the node's listening port in its config, so a restart keeps the
/// endpoint its partner has in its bundle.
fn keep_port(node: &TestNode) {
    let config = node.node_dir().config();
    let toml = std::fs::read_to_string(&config).expect("read config.toml");
    let pinned = toml.replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{}\"", node.address()),
    );
    assert_ne!(toml, pinned, "{toml}");
    std::fs::write(&config, pinned).expect("write config.toml");
}

/// `partner list --json` at `node`, the entry for `name`.
fn partner(node: &TestNode, name: &str) -> serde_json::Value {
    node.cli_json(&["partner", "list"])["partners"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name).cloned())
        .unwrap_or_else(|| panic!("{name} not listed"))
}

fn rotation(node: &TestNode, name: &str) -> String {
    partner(node, name)["rotation"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn partners_show_lag_and_rotation_in_the_nodes_words() {
    let (mut a, b) = two_agencies("green");
    keep_port(&a);
    let id = b.publish("phone", "+44 7700 900425", "green", &[]);
    assert!(eventually(WAIT, || holds(&a, "+447700900425", &id)));

    // Caught up: lag 0 (proto3 JSON leaves a 0 out; the text says it).
    let b_at_a = partner(&a, B_NAME);
    assert!(b_at_a.get("lag").is_none_or(|lag| lag == "0"), "{b_at_a}");
    assert_eq!(
        b_at_a["rotation"].as_str().unwrap_or_default(),
        "",
        "{b_at_a}"
    );
    let text = a.cli_ok(&["partner", "list"]);
    assert!(text.contains("   lag 0   "), "{text}");
    assert!(!text.contains("rotation "), "{text}");

    // B rotates while A is away: B says A has not acknowledged it.
    a.stop();
    b.cli_ok(&["identity", "rotate-tls"]);
    assert_eq!(rotation(&b, A_NAME), NOT_ACKNOWLEDGED);
    let text = b.cli_ok(&["partner", "list"]);
    assert!(
        text.contains(&format!("rotation    {NOT_ACKNOWLEDGED}")),
        "{text}"
    );

    // A comes back and is told: A shows B's previous certificate in grace,
    // and B stops waiting for A.
    a.start();
    assert!(
        eventually(WAIT, || rotation(&a, B_NAME).starts_with(PARTNER_ROTATED)),
        "A: {}\nA log:\n{}\nB log:\n{}",
        partner(&a, B_NAME),
        a.log(),
        b.log()
    );
    assert!(
        eventually(WAIT, || rotation(&b, A_NAME).is_empty()),
        "B: {}",
        partner(&b, A_NAME)
    );
    let line = rotation(&a, B_NAME);
    assert!(line.ends_with('Z'), "a UTC time: {line}");

    let console = Console::for_node(&a);
    let session = console.login();
    let page = http(&console.address, "GET", "/partners", Some(&session), None);
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in ["<dt>Lag</dt>", "<dt>Rotation</dt>", PARTNER_ROTATED] {
        assert!(page.body.contains(shown), "{shown} missing:\n{}", page.body);
    }
}
