//! A federated search must say why: without a justification the node refuses it
//! (INVALID_ARGUMENT, before anything is searched), unless its config lifts the
//! requirement with `require_justification = false`.

use crate::common::TestNode;

#[test]
fn a_federated_search_without_a_justification_is_refused_unless_the_config_allows_it() {
    let mut node = TestNode::init("Agency Justified (example)");
    node.start();
    for blank in [None, Some("   ")] {
        let mut args = vec!["search", "+447700900571", "--federated"];
        if let Some(text) = blank {
            args.extend(["--justification", text]);
        }
        let refused = node.cli(&args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "accepted without a reason");
        assert!(
            stderr.contains("invalid input: justification: required for a federated search")
                && stderr.contains("--justification"),
            "{stderr}"
        );
    }
    let audit = std::fs::read_to_string(node.dir().join("audit.log")).unwrap_or_default();
    assert!(
        !audit.contains("search.federated"),
        "a refused search was logged as sent"
    );
    node.cli_ok(&[
        "search",
        "+447700900571",
        "--federated",
        "--justification",
        "victim statement 21 (fictional)",
    ]);
    // A local search never needs one.
    node.cli_ok(&["search", "+447700900571"]);

    node.stop();
    let config = node.dir().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("require_justification = true"), "{text}");
    std::fs::write(
        &config,
        text.replace(
            "require_justification = true",
            "require_justification = false",
        ),
    )
    .unwrap();
    node.start();
    node.cli_ok(&["search", "+447700900571", "--federated"]);
    node.stop();
}
