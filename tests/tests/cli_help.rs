//! The command line explains itself: every command, subcommand, flag and
//! positional argument of the whole clap tree has help text, enumerations list
//! their values, and completions and the man page are generated from that tree.
//! The tree is walked in-process (through the library); no node, no network.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_liaison-under-test");

/// What lacks help under `command`, as "liaison partner add: argument yes".
fn missing_help(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
    let text =
        |s: Option<&clap::builder::StyledStr>| s.is_some_and(|s| !s.to_string().trim().is_empty());
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version") {
            continue;
        }
        if !text(arg.get_help()) && !text(arg.get_long_help()) {
            missing.push(format!("{path}: argument {id}"));
        }
    }
    for sub in command.get_subcommands() {
        let sub_path = format!("{path} {}", sub.get_name());
        if !text(sub.get_about()) && !text(sub.get_long_about()) {
            missing.push(format!("{sub_path}: no description"));
        }
        missing_help(sub, &sub_path, missing);
    }
}

#[test]
fn every_command_and_argument_has_help_text() {
    let tree = liaison::cli::command();
    tree.clone().debug_assert();
    let mut missing = Vec::new();
    missing_help(&tree, "liaison", &mut missing);
    assert!(
        missing.is_empty(),
        "{} without help text:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run liaison");
    assert!(
        out.status.success(),
        "liaison {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn help_lists_the_allowed_values_of_enumerations() {
    let publish = run(&["publish", "--help"]);
    for value in ["bank-account", "amber+strict", "scam-centre", "H2"] {
        assert!(
            publish.contains(value),
            "publish --help lacks {value}:\n{publish}"
        );
    }
    assert!(run(&["client", "issue", "--help"]).contains("analyst"));
    assert!(run(&["export", "--help"]).contains("stix"));
    assert!(run(&["partner", "add", "--help"]).contains("--expect-fingerprint"));
}

#[test]
fn a_wrong_value_is_refused_with_the_list() {
    let out = Command::new(BIN)
        .args([
            "--dir",
            "/nonexistent",
            "publish",
            "--kind",
            "fax",
            "--value",
            "1",
        ])
        .output()
        .expect("run liaison");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--kind") && stderr.contains("phone"),
        "{stderr}"
    );
}

#[test]
fn completions_and_man_page_come_from_the_same_tree() {
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        assert!(script.contains("expect-fingerprint"), "{shell}");
        assert!(script.contains("bank-account"), "{shell} lacks the kinds");
    }
    let page = run(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH liaison"),
        "{page}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    run(&["man", "--out", dir.path().to_str().expect("utf-8")]);
    assert!(dir.path().join("liaison.1").exists());
    assert!(dir.path().join("liaison-publish.1").exists());
}

#[test]
fn enumerations_accept_the_spellings_the_node_always_accepted() {
    use clap::Parser;
    let parsed = liaison::cli::Cli::try_parse_from([
        "liaison",
        "publish",
        "--kind",
        "Bank_Account",
        "--value",
        "GB 12345678",
        "--tlp",
        "TLP:AMBER+STRICT",
        "--handling",
        "h2",
        "--label",
        "romance_scam",
        "--label",
        "Scam-Center",
    ]);
    assert!(parsed.is_ok(), "{parsed:?}");
    for tlp in ["GREEN", "tlp:red", "amber_strict", "Clear"] {
        let parsed = liaison::cli::Cli::try_parse_from([
            "liaison", "publish", "--kind", "phone", "--value", "x", "--tlp", tlp,
        ]);
        assert!(parsed.is_ok(), "--tlp {tlp}: {parsed:?}");
    }
    let wrong =
        liaison::cli::Cli::try_parse_from(["liaison", "export", "--format", "xml", "--out", "x"]);
    let error = wrong.expect_err("xml is not a format").to_string();
    assert!(error.contains("stix"), "{error}");
}
