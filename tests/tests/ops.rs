//! Operations with real node processes: a live backup during a publish burst and
//! its restore (every acknowledged record back, sync resumed from the cursor),
//! damaged backups refused, TLS rotation without re-enrollment (the old
//! certificate refused after its grace period; live, without a restart), and
//! `doctor`'s verdicts.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{eventually, holds, TestNode, BIN, WAIT};
use liaison::proto::federation_client::FederationClient;

const PASSPHRASE: &str = "a test passphrase, not a real one";

fn partner(node: &TestNode, name: &str) -> serde_json::Value {
    let list = node.cli_json(&["partner", "list"]);
    list["partners"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no partner {name} in {list}"))
}

fn received_from(node: &TestNode, name: &str) -> u64 {
    common::int_opt(&partner(node, name)["recordsReceived"]).unwrap_or(0)
}

/// `liaison --dir DIR ARGS…` with the backup passphrase in the environment.
fn with_passphrase(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--dir")
        .arg(dir)
        .args(args)
        .env("LIAISON_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("run liaison")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Publishes at the node in `dir` until `stop`, noting when each was acknowledged.
fn publish_burst(
    dir: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(Instant, String)>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut n = 100;
        while !stop.load(Ordering::SeqCst) && n < 1000 {
            let value = format!("+44 7700 900{n:03}");
            let out = Command::new(BIN)
                .arg("--dir")
                .arg(&dir)
                .args([
                    "publish", "--kind", "phone", "--value", &value, "--tlp", "green", "--json",
                ])
                .output()
                .expect("publish");
            if out.status.success() {
                let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
                let id = json["recordId"].as_str().expect("record_id").to_string();
                acked.lock().unwrap().push((Instant::now(), id));
            }
            n += 1;
        }
    })
}

/// Sync entries B's audit log records for what it served, from line `from` on.
fn disclosed_since(node: &TestNode, from: usize) -> u64 {
    let log = std::fs::read_to_string(node.node_dir().audit_log()).unwrap_or_default();
    log.lines()
        .skip(from)
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["action"] == "sync.disclose")
        .map(|entry| entry["detail"]["count"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn a_live_backup_restores_every_acknowledged_record_and_sync_resumes_from_the_cursor() {
    let (mut a, b) = crate::common::two_agencies("green");
    for i in 0..5 {
        b.publish("phone", &format!("+44 7700 9000{i:02}"), "green", &[]);
    }
    let b_name = "Agency B (example)";
    assert!(
        eventually(WAIT, || received_from(&a, b_name) == 5),
        "{}",
        a.log()
    );
    let cursor = common::int(&partner(&a, b_name)["cursor"]);

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let burst = publish_burst(a.dir(), stop.clone(), acked.clone());
    assert!(eventually(WAIT, || acked.lock().unwrap().len() >= 5));
    let began = Instant::now();
    let file = a.tmp.path().join("a.backup");
    let out = with_passphrase(
        &a.dir(),
        &["backup", "--out", file.to_str().unwrap(), "--include-keys"],
    );
    assert!(out.status.success(), "backup: {}", text(&out));
    assert!(
        text(&out).contains("from the running node"),
        "{}",
        text(&out)
    );
    let during = acked.lock().unwrap().len();
    assert!(
        eventually(WAIT, || acked.lock().unwrap().len() > during + 2),
        "publishing goes on after the backup"
    );
    stop.store(true, Ordering::SeqCst);
    burst.join().unwrap();
    let all_acked: std::collections::HashSet<String> = acked
        .lock()
        .unwrap()
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    let a_id = a.node_id();
    let a_address = a.address();
    let must_hold: Vec<String> = acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| id.clone())
        .collect();
    a.stop();

    // Damaged copies are refused and leave no directory behind.
    let bytes = std::fs::read(&file).unwrap();
    let target = a.tmp.path().join("never");
    for (what, damaged) in [
        ("flipped", {
            let mut b = bytes.clone();
            let middle = b.len() / 2;
            b[middle] ^= 1;
            b
        }),
        ("truncated", bytes[..bytes.len() * 2 / 3].to_vec()),
    ] {
        let path = a.tmp.path().join(format!("{what}.backup"));
        std::fs::write(&path, damaged).unwrap();
        let out = with_passphrase(&target, &["restore", "--from", path.to_str().unwrap()]);
        assert!(!out.status.success(), "{what}: {}", text(&out));
        assert!(
            text(&out).contains("backup file is damaged"),
            "{what}: {}",
            text(&out)
        );
        assert!(!target.exists(), "{what}: nothing restored");
    }

    let tmp = tempfile::tempdir().unwrap();
    let out = with_passphrase(
        &tmp.path().join("node"),
        &["restore", "--from", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "restore: {}", text(&out));
    // Where B still looks for A (its bundle's endpoint).
    let config = tmp.path().join("node/config.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    let moved = toml.replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{a_address}\""),
    );
    assert_ne!(toml, moved);
    std::fs::write(&config, moved).unwrap();
    let mut restored = TestNode::adopt("Agency A (restored)", tmp);
    let audit_lines = std::fs::read_to_string(b.node_dir().audit_log())
        .unwrap()
        .lines()
        .count();
    restored.start();
    println!(
        "{} records acknowledged before the backup began",
        must_hold.len()
    );
    for id in &must_hold {
        restored.cli_ok(&["get", id]);
    }
    // And nothing that was not acknowledged: every own record it holds was.
    let own = restored.cli_json(&["list", "--origin", &a_id, "--limit", "100000"]);
    let own = own["records"].as_array().unwrap();
    assert!(own.len() >= must_hold.len());
    for record in own {
        let id = record["recordId"].as_str().unwrap();
        assert!(all_acked.contains(id), "{id} was never acknowledged");
    }
    // The cursor saved in the backup (B's change log also lists A's own
    // records, which B does not send back, so it moved on during the burst).
    let entry = partner(&restored, b_name);
    assert!(common::int(&entry["cursor"]) >= cursor, "{entry}");
    assert_eq!(common::int(&entry["recordsReceived"]), 5);

    let mut fresh = Vec::new();
    for i in 0..3 {
        fresh.push(b.publish(
            "phone",
            &format!("+44 7700 9000{:02}", 50 + i),
            "green",
            &[],
        ));
    }
    assert!(
        eventually(WAIT, || holds(&restored, "+447700900052", &fresh[2])),
        "{}",
        restored.log()
    );
    assert_eq!(received_from(&restored, b_name), 8);
    // B served the restored node only the three new records: no re-pull.
    assert!(eventually(WAIT, || disclosed_since(&b, audit_lines) == 3));
    assert_eq!(disclosed_since(&b, audit_lines), 3);

    // B's cursor in A's change log is past the restored one (it pulled records
    // published after the backup): it is served from the start again, so the
    // restored node's next record reaches it.
    let next = restored.publish("phone", "+44 7700 900099", "green", &[]);
    assert!(
        eventually(WAIT, || holds(&b, "+447700900099", &next)),
        "{}",
        restored.log()
    );
    assert!(restored.log().contains("past this node's change log"));
}

/// After A rotated: B accepts both of A's certificates during the grace period,
/// and the federation keeps syncing both ways with no re-enrollment (a phone
/// published at A reaches B, and one published at B reaches A).
async fn grace_period_holds(a: &TestNode, b: &TestNode, old: (&Path, &Path), phones: [&str; 2]) {
    let b_server = b.node_dir().tls_cert();
    ping_with(&b.address(), old.0, old.1, &b_server)
        .await
        .expect("old certificate accepted during the grace period");
    let (new_cert, new_key) = (a.node_dir().tls_cert(), a.node_dir().tls_key());
    ping_with(&b.address(), &new_cert, &new_key, &b_server)
        .await
        .expect("new certificate accepted");
    for (from, to, phone) in [(a, b, phones[0]), (b, a, phones[1])] {
        let id = from.publish("phone", phone, "green", &[]);
        let normalised = phone.replace(' ', "");
        assert!(
            eventually(WAIT, || holds(to, &normalised, &id)),
            "{} did not get {phone}:\n{}",
            to.name,
            to.log()
        );
    }
}

async fn ping_with(
    address: &str,
    cert: &Path,
    key: &Path,
    server_cert: &Path,
) -> Result<i64, String> {
    let read = |e: liaison::Error| e.to_string();
    let config = liaison::tls::client_config(
        &liaison::identity::read_pem_cert(cert).map_err(|e| e.to_string())?,
        &liaison::identity::read_pem_key(key).map_err(|e| e.to_string())?,
        &liaison::identity::read_pem_cert(server_cert).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let channel = liaison::channel::connect_channel(address, config, false)
        .await
        .map_err(read)?;
    FederationClient::new(channel)
        .ping(liaison::proto::PingRequest {})
        .await
        .map(|r| r.into_inner().now_unix_ms)
        .map_err(|s| s.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_rotation_keeps_the_federation_without_re_enrollment_then_ends_the_old_certificate() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let config = a.node_dir().config();
    let toml = std::fs::read_to_string(&config).unwrap();
    // Long enough to cover the restart and the pin move before the old
    // certificate's last use (a few seconds; checked below, so that a machine
    // too loaded for this grace says so instead of failing on the ping), short
    // enough to watch it end: the test waits out the whole grace.
    let grace = Duration::from_secs(30);
    let short = toml.replace(
        "tls_grace_seconds = 604800",
        &format!("tls_grace_seconds = {}", grace.as_secs()),
    );
    assert_ne!(toml, short, "{toml}");
    std::fs::write(&config, short).unwrap();
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let first = a.publish("phone", "+44 7700 900301", "green", &[]);
    assert!(eventually(WAIT, || holds(&b, "+447700900301", &first)));

    let (old_cert, old_key) = (a.tmp.path().join("old.crt"), a.tmp.path().join("old.key"));
    std::fs::copy(a.node_dir().tls_cert(), &old_cert).unwrap();
    std::fs::copy(a.node_dir().tls_key(), &old_key).unwrap();
    let before = a.cli_json(&["identity", "show"])["fingerprint"].clone();
    // Rotated with the node stopped (a running node rotates live: see
    // a_live_tls_rotation_needs_no_restart); partners are told at its start.
    a.stop();
    let rotated = Instant::now();
    let out = a.cli_ok(&["identity", "rotate-tls"]);
    assert!(out.contains("New TLS certificate in force"), "{out}");
    a.start();
    let after = a.cli_json(&["identity", "show"])["fingerprint"].clone();
    assert_ne!(before, after);
    let a_name = "Agency A (example)";
    assert!(
        eventually(WAIT, || partner(&b, a_name)["fingerprint"] == after),
        "B moved its pin; A log:\n{}\nB log:\n{}",
        a.log(),
        b.log()
    );
    let doctor = a.cli_ok(&["doctor"]);
    assert!(
        doctor
            .contains("partner \"Agency B (example)\": TLS rotation: told of the new certificate"),
        "{doctor}"
    );
    let used = rotated.elapsed();
    assert!(
        used < grace / 2,
        "the restart and the pin move took {used:?}, too close to the test's grace of \
         {grace:?}: the machine is too loaded for this test to check the grace period"
    );
    grace_period_holds(
        &a,
        &b,
        (&old_cert, &old_key),
        ["+44 7700 900302", "+44 7700 900303"],
    )
    .await;
    assert_eq!(
        b.cli_json(&["partner", "list"])["partners"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // After the grace period the old certificate is refused.
    let b_cert = b.node_dir().tls_cert();
    let deadline = rotated + grace + Duration::from_secs(60);
    loop {
        if ping_with(&b.address(), &old_cert, &old_key, &b_cert)
            .await
            .is_err()
        {
            break;
        }
        assert!(Instant::now() < deadline, "old certificate still accepted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let third = a.publish("phone", "+44 7700 900304", "green", &[]);
    assert!(eventually(WAIT, || holds(&b, "+447700900304", &third)));
}

#[test]
fn doctor_flags_a_world_readable_key_and_an_expiring_certificate() {
    let (a, _b) = crate::common::two_agencies("green");
    let healthy = a.cli_ok(&["doctor"]);
    for line in healthy.lines() {
        assert!(
            line.starts_with("ok ") || line.starts_with("warn "),
            "{healthy}"
        );
    }
    assert!(
        healthy.contains("partner \"Agency B (example)\": clock and reachability: reachable"),
        "{healthy}"
    );
    assert!(healthy.contains("audit log: chain intact"), "{healthy}");

    a.issue("Dana", "analyst");
    let renewed = a.tmp.path().join("dana-renewed");
    a.cli_ok(&[
        "client",
        "renew",
        "--name",
        "Dana",
        "--out",
        renewed.to_str().unwrap(),
        "--valid-days",
        "10",
    ]);
    let expiring = a.cli_ok(&["doctor"]);
    assert!(
        expiring
            .lines()
            .any(|l| l.starts_with("warn") && l.contains("\"Dana\"") && l.contains("expires in")),
        "{expiring}"
    );

    // An expired certificate is an error: non-zero exit.
    a.issue("Eve", "analyst");
    let expired = a.tmp.path().join("eve-renewed");
    a.cli_ok(&[
        "client",
        "renew",
        "--name",
        "Eve",
        "--out",
        expired.to_str().unwrap(),
        "--valid-days",
        "0",
    ]);
    let out = a.cli(&["doctor"]);
    assert!(!out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("error") && l.contains("\"Eve\"") && l.contains("expired")),
        "{stdout}"
    );
    assert!(
        text(&out).contains("doctor found 1 error(s)"),
        "{}",
        text(&out)
    );
    let copy = liaison::identity::read_pem_cert(&expired.join("client.crt")).unwrap();
    let record = a
        .dir()
        .join("clients")
        .join(format!("{}.crt", liaison::identity::cert_pin(&copy)));
    std::fs::remove_file(record).unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = a.node_dir().tls_key();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = a.cli(&["doctor"]);
        assert!(!out.status.success(), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("error") && l.contains("tls/node.key")),
            "{stdout}"
        );
        let out = a.cli(&["doctor", "--json"]);
        assert!(!out.status.success());
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["verdict"] == "error" && c["check"] == "permissions: tls/node.key"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_tls_rotation_needs_no_restart() {
    let (a, b) = crate::common::two_agencies("green");
    let first = a.publish("phone", "+44 7700 900311", "green", &[]);
    assert!(eventually(WAIT, || holds(&b, "+447700900311", &first)));
    let early = b.publish("phone", "+44 7700 900312", "green", &[]);
    assert!(eventually(WAIT, || holds(&a, "+447700900312", &early)));

    let (old_cert, old_key) = (a.tmp.path().join("old.crt"), a.tmp.path().join("old.key"));
    std::fs::copy(a.node_dir().tls_cert(), &old_cert).unwrap();
    std::fs::copy(a.node_dir().tls_key(), &old_key).unwrap();
    let address = a.address();
    let before = a.cli_json(&["identity", "show"])["fingerprint"].clone();
    let out = a.cli_ok(&["identity", "rotate-tls"]);
    assert!(out.contains("no restart needed"), "{out}");
    assert!(
        out.contains("told Agency B (example)"),
        "{out}\n{}",
        a.log()
    );

    // The same process, on the same port, now shows and serves the new certificate.
    assert_eq!(a.address(), address);
    let after = a.cli_json(&["identity", "show"])["fingerprint"].clone();
    assert_ne!(before, after);
    assert_eq!(partner(&b, "Agency A (example)")["fingerprint"], after);
    let (b_cert, b_key) = (b.node_dir().tls_cert(), b.node_dir().tls_key());
    ping_with(&address, &b_cert, &b_key, &a.node_dir().tls_cert())
        .await
        .expect("a new connection to A sees A's new certificate");
    assert!(
        ping_with(&address, &b_cert, &b_key, &old_cert)
            .await
            .is_err(),
        "A no longer presents its old certificate"
    );
    grace_period_holds(
        &a,
        &b,
        (&old_cert, &old_key),
        ["+44 7700 900313", "+44 7700 900314"],
    )
    .await;
    let audit = std::fs::read_to_string(a.node_dir().audit_log()).expect("audit log");
    assert!(audit.contains("identity.rotate_tls"), "{audit}");
    assert!(!a.log().contains("node stopped"), "{}", a.log());
}
