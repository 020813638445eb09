//! Evidence that proves its origin and its completeness (issue 20, items 3 and
//! 6), through real processes: a backup is signed by the node and `restore`
//! refuses every tampering (altered certificate with its digest recomputed,
//! altered digest, altered signature, the wrong expected node, a truncated
//! file) leaving nothing behind; `run` refuses a certificate that does not
//! match its key; `audit verify` and `doctor` call a log whose seal is missing
//! or garbled unverified, and the node says so at start.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TestNode, BIN};
use liaison::config::NodeDirSetup;
use sha2::{Digest, Sha256};

const PASSPHRASE: &str = "a test passphrase, not a real one";
const MAGIC: &[u8] = b"LIAISON-BACKUP-1\n";

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The sections of a backup file, in order, the checksum and signature included.
fn sections(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    assert!(bytes.starts_with(MAGIC));
    let mut at = MAGIC.len();
    let mut out = Vec::new();
    while at < bytes.len() {
        let name_len = usize::from(bytes[at]);
        let name = String::from_utf8(bytes[at + 1..at + 1 + name_len].to_vec()).unwrap();
        at += 1 + name_len;
        let len = u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        at += 8;
        out.push((name, bytes[at..at + len].to_vec()));
        at += len;
    }
    out
}

/// Writes `sections` back as a file; with `recompute`, the checksum is made to
/// match the content again (what anyone who can edit the file can do).
fn assemble(sections: &[(String, Vec<u8>)], recompute: bool) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for (name, bytes) in sections {
        let bytes = match (name.as_str(), recompute) {
            ("sha256", true) => Sha256::digest(&out).to_vec(),
            _ => bytes.clone(),
        };
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

fn replace(sections: &mut [(String, Vec<u8>)], name: &str, bytes: Vec<u8>) {
    let section = sections.iter_mut().find(|(n, _)| n == name).unwrap();
    section.1 = bytes;
}

fn flip(sections: &mut [(String, Vec<u8>)], name: &str) {
    let section = sections.iter_mut().find(|(n, _)| n == name).unwrap();
    section.1[7] ^= 0x01;
}

/// `liaison restore` into a fresh directory under `parent`; the output.
fn restore(parent: &Path, file: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let target = parent.join("node");
    let out = Command::new(BIN)
        .arg("--dir")
        .arg(&target)
        .args(["restore", "--from", file.to_str().unwrap()])
        .args(extra)
        .env("LIAISON_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("run liaison restore");
    (out, target)
}

/// Restoring `bytes` fails with a message containing `says`, and leaves
/// nothing in the target's parent (no node, no staging directory).
fn refused(bytes: &[u8], extra: &[&str], says: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tampered.backup");
    std::fs::write(&file, bytes).unwrap();
    let parent = tmp.path().join("restore-here");
    std::fs::create_dir(&parent).unwrap();
    let (out, target) = restore(&parent, &file, extra);
    assert!(!out.status.success(), "restored: {}", text(&out));
    assert!(
        text(&out).contains(says),
        "expected {says:?} in: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("nothing was restored"),
        "{}",
        text(&out)
    );
    assert!(!target.exists(), "a node directory was written");
    let left: Vec<_> = std::fs::read_dir(&parent).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The node id and fingerprint, read from the directory (the node is stopped).
fn identity(node: &TestNode) -> liaison::identity::NodeIdentity {
    let dir = node.node_dir();
    dir.load_identity(&dir.load_config().unwrap()).unwrap()
}

fn node_id(node: &TestNode) -> String {
    identity(node).node_id().to_hex()
}

fn fingerprint(node: &TestNode) -> String {
    identity(node).fingerprint()
}

#[test]
fn a_tampered_backup_is_refused_and_nothing_is_written() {
    let a = TestNode::init("Agency A (example)");
    let other = TestNode::init("Agency Other (example)");
    let (a_id, other_id) = (node_id(&a), node_id(&other));
    let file = a.tmp.path().join("a.backup");
    let made = a.cli_ok(&["backup", "--out", file.to_str().unwrap()]);
    assert!(made.contains(&format!("--expect-node {a_id}")), "{made}");
    let original = std::fs::read(&file).unwrap();
    let parsed = sections(&original);
    let foreign_ca = std::fs::read(other.dir().join("ca/ca.crt")).unwrap();

    // Another agency's CA planted, the checksum recomputed: only the signature
    // tells.
    let mut planted = parsed.clone();
    replace(&mut planted, "ca/ca.crt", foreign_ca.clone());
    let planted = assemble(&planted, true);
    refused(
        &planted,
        &["--expect-node", &a_id],
        "signature does not verify",
    );
    refused(
        &planted,
        &["--expect-node", &fingerprint(&a)],
        "signature does not verify",
    );

    let mut digest = parsed.clone();
    flip(&mut digest, "sha256");
    refused(
        &assemble(&digest, false),
        &["--expect-node", &a_id],
        "checksum mismatch",
    );

    let mut signature = parsed.clone();
    flip(&mut signature, "ed25519");
    refused(
        &assemble(&signature, false),
        &["--expect-node", &a_id],
        "signature does not verify",
    );

    // A's genuine backup is not the other agency's.
    refused(
        &original,
        &["--expect-node", &other_id],
        "signature does not verify",
    );
    refused(
        &original,
        &["--expect-node", &fingerprint(&other)],
        "fingerprint",
    );

    refused(
        &original[..original.len() - 100],
        &["--expect-node", &a_id],
        "truncated",
    );
    // Cut just before the signature: a checksum alone proves nothing.
    refused(
        &original[..original.len() - 80],
        &["--expect-node", &a_id],
        "no signature",
    );

    // Without keys nothing inside vouches for the file: the operator must say
    // whose it is.
    refused(&original, &[], "--expect-node");

    // The genuine file restores against the node id and against the fingerprint.
    for expect in [a_id.clone(), fingerprint(&a)] {
        let tmp = tempfile::tempdir().unwrap();
        let (out, target) = restore(tmp.path(), &file, &["--expect-node", &expect]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("Signature verified"), "{}", text(&out));
        assert!(target.join("ca/ca.crt").exists());
    }
}

#[test]
fn a_backup_with_keys_is_vouched_for_by_its_keys_and_still_refuses_a_planted_ca() {
    let a = TestNode::init("Agency A (example)");
    let other = TestNode::init("Agency Other (example)");
    let file = a.tmp.path().join("a.backup");
    let out = Command::new(BIN)
        .arg("--dir")
        .arg(a.dir())
        .args(["backup", "--include-keys", "--out", file.to_str().unwrap()])
        .env("LIAISON_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let original = std::fs::read(&file).unwrap();
    let mut planted = sections(&original);
    replace(
        &mut planted,
        "ca/ca.crt",
        std::fs::read(other.dir().join("ca/ca.crt")).unwrap(),
    );
    refused(&assemble(&planted, true), &[], "signature does not verify");
    // The keys are A's: a backup of A is not accepted as the other agency's.
    refused(
        &original,
        &["--expect-node", &node_id(&other)],
        "signature does not verify",
    );

    let tmp = tempfile::tempdir().unwrap();
    let (out, target) = restore(tmp.path(), &file, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("vouched for by the keys"),
        "{}",
        text(&out)
    );
    let mut restored = TestNode::adopt("Agency A (restored)", tmp);
    assert_eq!(restored.dir(), target);
    restored.start();
    assert_eq!(restored.node_id(), node_id(&a));
    restored.stop();
}

/// `liaison run` on `dir` must exit on its own (non-zero); its stderr.
fn run_refused(dir: &Path) -> String {
    let mut child = Command::new(BIN)
        .args(["run", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`liaison run` started with a mismatched certificate");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    stderr
}

#[test]
fn run_refuses_a_certificate_that_does_not_match_its_key() {
    let a = TestNode::init("Agency A (example)");
    let other = TestNode::init("Agency Other (example)");
    for name in ["ca/ca.crt", "tls/node.crt"] {
        let mine = a.dir().join(name);
        let saved = std::fs::read(&mine).unwrap();
        std::fs::copy(other.dir().join(name), &mine).unwrap();
        let said = run_refused(&a.dir());
        let key = name.replace(".crt", ".key");
        assert!(
            said.contains(name) && said.contains(&key) && said.contains("does not match"),
            "{said}"
        );
        std::fs::write(&mine, saved).unwrap();
    }
}

fn verify_refused(node: &TestNode, says: &[&str]) {
    let out = node.cli(&["audit", "verify"]);
    assert!(!out.status.success(), "verified: {}", text(&out));
    for part in says {
        assert!(
            text(&out).contains(part),
            "expected {part:?} in: {}",
            text(&out)
        );
    }
    let doctor = node.cli(&["doctor"]);
    assert!(!doctor.status.success(), "{}", text(&doctor));
    assert!(
        text(&doctor).contains("error audit log:"),
        "{}",
        text(&doctor)
    );
}

#[test]
fn a_missing_or_garbled_seal_is_unverified_and_a_cut_log_is_named() {
    let mut a = TestNode::init("Agency A (example)");
    a.start();
    a.issue("analyst1", "analyst");
    a.stop();
    let log = a.dir().join("audit.log");
    let seal = a.dir().join("audit.log.seal");
    let whole = std::fs::read_to_string(&log).unwrap();
    let good_seal = std::fs::read(&seal).unwrap();
    assert!(a.cli_ok(&["audit", "verify"]).contains("intact"));
    let lines: Vec<&str> = whole.lines().collect();
    let checkpoints: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("audit.checkpoint"))
        .map(|(i, _)| i)
        .collect();
    assert!(checkpoints.len() >= 2, "{whole}");
    // Cut at the earlier checkpoint: the chain alone still links.
    let cut = lines[..=checkpoints[checkpoints.len() - 2]].join("\n") + "\n";

    std::fs::write(&log, &cut).unwrap();
    std::fs::remove_file(&seal).unwrap();
    verify_refused(&a, &["UNVERIFIED", "audit.log.seal", "missing"]);

    std::fs::write(&seal, b"{\"seq\": 3, \"garbled").unwrap();
    verify_refused(&a, &["UNVERIFIED", "unreadable"]);

    // With the seal in place, the cut log is named truncated.
    std::fs::write(&seal, &good_seal).unwrap();
    verify_refused(&a, &["truncated"]);

    // A start on a log without its seal says so, and records the gap.
    std::fs::remove_file(&seal).unwrap();
    a.start();
    assert!(
        a.log().contains("audit log UNVERIFIED at start"),
        "{}",
        a.log()
    );
    a.stop();
    let verified = a.cli_ok(&["audit", "verify"]);
    assert!(verified.contains("WARNING: entry"), "{verified}");
    let doctor = text(&a.cli(&["doctor"]));
    assert!(doctor.contains("warn  audit log:"), "{doctor}");
}
