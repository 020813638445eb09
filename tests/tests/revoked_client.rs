//! A revoked analyst certificate, as its holder and the node's admin see it: a
//! new connection is refused at the TLS handshake (alert `certificate_revoked`)
//! and the CLI says the certificate was revoked, not that the node is down;
//! `doctor` shows it as revoked, including one made with
//! `certs/openssl-client-cert.sh`, whose printed SHA-256 is what
//! `client revoke --sha256` takes.

use std::path::Path;
use std::process::Command;

use crate::common::TestNode;

/// The lines of `doctor`'s output that mention `name`.
fn doctor_lines(node: &TestNode, name: &str) -> Vec<String> {
    let out = node.cli(&["doctor"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.contains(name))
        .map(str::to_string)
        .collect()
}

fn shows_revoked(lines: &[String]) -> bool {
    !lines.is_empty()
        && lines
            .iter()
            .all(|l| l.contains(": revocation") && l.contains("REVOKED") && !l.contains("expiry"))
}

/// Runs the CLI with the analyst certificate in `folder` in place of the node
/// directory's admin certificate (as an analyst's workstation would), then
/// puts the admin's back.
fn cli_as(node: &TestNode, folder: &Path, args: &[&str]) -> std::process::Output {
    let dir = node.node_dir();
    let keep = node.tmp.path().join("admin-kept");
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::copy(dir.admin_cert(), keep.join("client.crt")).unwrap();
    std::fs::copy(dir.admin_key(), keep.join("client.key")).unwrap();
    std::fs::copy(folder.join("client.crt"), dir.admin_cert()).unwrap();
    std::fs::copy(folder.join("client.key"), dir.admin_key()).unwrap();
    let out = node.cli(args);
    std::fs::copy(keep.join("client.crt"), dir.admin_cert()).unwrap();
    std::fs::copy(keep.join("client.key"), dir.admin_key()).unwrap();
    out
}

#[test]
fn a_revoked_certificate_is_named_as_revoked_by_the_cli_and_by_doctor() {
    let mut node = TestNode::init("Agency Revoked Laptop (example)");
    node.start();
    let laptop = node.issue("Analyst Lost Laptop", "analyst");
    let kept = node.issue("Analyst Kept Laptop", "analyst");
    let works = cli_as(&node, &laptop, &["search", "+447700900561"]);
    assert!(works.status.success(), "{works:?}");
    let cert = laptop.join("client.crt");
    node.cli_ok(&["client", "revoke", "--cert", cert.to_str().unwrap()]);

    let refused = cli_as(&node, &laptop, &["search", "+447700900561"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a revoked certificate was served"
    );
    assert!(
        stderr.contains("this client certificate was revoked by the node's admin")
            && !stderr.contains("is `liaison run"),
        "the CLI must say the certificate was revoked: {stderr}"
    );
    println!("CLI with the revoked certificate: {stderr}");
    // Another analyst's certificate is unaffected.
    let other = cli_as(&node, &kept, &["search", "+447700900561"]);
    assert!(other.status.success(), "{other:?}");

    // Doctor, from the running node and from the database with the node stopped.
    for running in [true, false] {
        if !running {
            node.stop();
        }
        let lost = doctor_lines(&node, "Analyst Lost Laptop");
        assert!(shows_revoked(&lost), "running={running}: {lost:?}");
        let fine = doctor_lines(&node, "Analyst Kept Laptop");
        assert!(
            fine.len() == 1 && fine[0].starts_with("ok") && fine[0].contains("expiry"),
            "running={running}: {fine:?}"
        );
    }
}

#[test]
fn an_openssl_made_certificate_prints_its_sha256_and_doctor_tracks_it() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs/openssl-client-cert.sh");
    let mut node = TestNode::init("Agency OpenSSL (example)");
    node.start();
    let out = node.tmp.path().join("openssl-analyst");
    let run = Command::new("sh")
        .arg(&script)
        .arg("--dir")
        .arg(node.dir())
        .args(["--name", "Analyst OpenSSL Example", "--out"])
        .arg(&out)
        .output()
        .expect("run sh (and openssl: install it to run this test)");
    let printed = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The same pin the node computes, on the line that says what it is for.
    let der = liaison::identity::read_pem_cert(&out.join("client.crt")).unwrap();
    let sha256 = liaison::identity::cert_pin(&der);
    assert!(
        printed
            .lines()
            .any(|l| l.contains("client revoke --sha256") && l.ends_with(&sha256)),
        "{printed}"
    );
    let before = doctor_lines(&node, "Analyst OpenSSL Example");
    assert!(
        before.len() == 1 && before[0].starts_with("ok") && before[0].contains("expiry"),
        "{before:?}"
    );
    node.cli_ok(&["client", "revoke", "--sha256", &sha256]);
    let after = doctor_lines(&node, "Analyst OpenSSL Example");
    assert!(shows_revoked(&after), "{after:?}");
    node.stop();
}
