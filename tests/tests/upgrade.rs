//! Upgrade and rollback across releases (issue 27), with real processes of both:
//! a node of the previous release (`LIAISON_PREVIOUS_BIN`, built by
//! scripts/previous-release.sh) holds published, imported and partner records
//! and a re-logged one; this build migrates its database (killed with SIGKILL
//! mid-migration, then resumed by `liaison run`) and serves every record with
//! its audit chain intact; the previous release then refuses the migrated
//! database and this build's backup clearly, and takes back the pre-upgrade
//! backup with every record; that backup also restores into this build.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{eventually, WAIT};

const PASSPHRASE: &str = "upgrade test passphrase (example)";
/// Rows in the previous release's bulk import: enough checkpoints of the
/// migration (about a hundred) for a kill to land between two of them.
const IMPORTED_PHONES: usize = 1_000;
const IMPORTED_DOMAINS: usize = 2_000;

/// The previous release's binary; never a silent pass without it.
fn previous_bin() -> PathBuf {
    match std::env::var_os("LIAISON_PREVIOUS_BIN") {
        Some(path) if Path::new(&path).is_file() => PathBuf::from(path),
        found => panic!(
            "this test needs the previous release's binary in LIAISON_PREVIOUS_BIN (found {found:?}): \
             build tag v0.1.0 with `scripts/previous-release.sh` (.ci/run exports the variable), or by \
             hand: `git archive v0.1.0 | tar -x -C /tmp/prev && cargo build --manifest-path \
             /tmp/prev/Cargo.toml -p liaison`, then `export LIAISON_PREVIOUS_BIN=<its target/debug/liaison>`"
        ),
    }
}

/// A node directory driven by one binary or the other.
struct Node {
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn cli(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("--dir")
        .arg(dir)
        .args(args)
        .env("LIAISON_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("run liaison")
}

fn cli_ok(bin: &Path, dir: &Path, args: &[&str]) -> String {
    let out = cli(bin, dir, args);
    assert!(out.status.success(), "{bin:?} {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cli_json(bin: &Path, dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&cli_ok(bin, dir, &all)).expect("json output")
}

impl Node {
    fn init(bin: &Path, root: &Path, name: &str) -> Node {
        let node = Node::at(root.join(name.replace(' ', "-")));
        let out = Command::new(bin)
            .args(["init", "--dir"])
            .arg(&node.dir)
            .args(["--name", name, "--listen", "127.0.0.1:0", "--country", "GB"])
            .output()
            .expect("run liaison init");
        assert!(out.status.success(), "init: {}", text(&out));
        node
    }

    fn at(dir: PathBuf) -> Node {
        let log = dir.with_extension("log");
        Node {
            dir,
            log,
            child: None,
        }
    }

    fn start(&mut self, bin: &Path) {
        let address = self.dir.join("node.addr");
        let _ = std::fs::remove_file(&address);
        let log = std::fs::File::create(&self.log).expect("log file");
        let child = Command::new(bin)
            .args(["run", "--dir"])
            .arg(&self.dir)
            .env("LIAISON_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn liaison run");
        self.child = Some(child);
        let started = eventually(Duration::from_secs(60), || address.exists());
        assert!(started, "{:?} did not start:\n{}", self.dir, self.log());
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let status = child.wait().expect("wait");
            assert!(status.success(), "exit {status}:\n{}", self.log());
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn records(&self, bin: &Path) -> u64 {
        common::int(&cli_json(bin, &self.dir, &["identity", "show"])["records"])
    }

    fn search_ids(&self, bin: &Path, value: &str) -> Vec<String> {
        let found = cli_json(bin, &self.dir, &["search", value]);
        let mut ids: Vec<String> = found["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["recordId"].as_str().unwrap_or_default().to_string())
            .collect();
        ids.sort();
        ids
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a node must still serve after each move.
struct Expected {
    records: u64,
    /// value -> record ids a search for it returns
    searches: Vec<(String, Vec<String>)>,
}

fn assert_serves(node: &Node, bin: &Path, expected: &Expected, when: &str) {
    assert_eq!(node.records(bin), expected.records, "{when}: record count");
    for (value, ids) in &expected.searches {
        assert_eq!(&node.search_ids(bin, value), ids, "{when}: search {value}");
    }
    cli_ok(bin, &node.dir, &["audit", "verify"]);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Starts `liaison migrate` and SIGKILLs it at its first progress line that is
/// not the end; true when the kill landed before the migration finished.
fn kill_during_migration(dir: &Path) -> bool {
    let mut child = Command::new(common::BIN)
        .arg("--dir")
        .arg(dir)
        .arg("migrate")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn liaison migrate");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        let midway = line.starts_with("migrating the database") && !line.ends_with(": done");
        seen.push(line);
        if midway {
            break;
        }
    }
    assert!(!seen.is_empty(), "migrate printed no progress");
    let _ = child.kill();
    let status = child.wait().expect("wait");
    // Finished before the signal: the migration completed on its own.
    !status.success()
}

#[test]
fn a_previous_release_database_upgrades_survives_a_kill_and_rolls_back_whole() {
    let prev = previous_bin();
    let new = Path::new(common::BIN);
    let root = tempfile::tempdir().unwrap();

    // The previous release: A and B partners; A publishes, imports, receives B's
    // record and sights it (so the record stands at a later position too).
    let mut a = Node::init(&prev, root.path(), "Agency A (example)");
    let mut b = Node::init(&prev, root.path(), "Agency B (example)");
    a.start(&prev);
    b.start(&prev);
    for (here, there) in [(&a, &b), (&b, &a)] {
        let bundle = root.path().join(format!(
            "{}.bundle",
            there.dir.file_name().unwrap().to_string_lossy()
        ));
        let bundle = bundle.to_str().unwrap();
        cli_ok(&prev, &there.dir, &["identity", "export", "--out", bundle]);
        cli_ok(
            &prev,
            &here.dir,
            &["partner", "add", bundle, "--max-tlp", "green", "--yes"],
        );
    }
    let own = cli_json(
        &prev,
        &a.dir,
        &[
            "publish",
            "--kind",
            "domain",
            "--value",
            "own.example.org",
            "--tlp",
            "green",
        ],
    )["recordId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut csv = String::from("kind,value,tlp\n");
    for i in 0..IMPORTED_PHONES {
        csv.push_str(&format!("phone,+44 7700 900{i:03},green\n"));
    }
    for i in 0..IMPORTED_DOMAINS {
        csv.push_str(&format!("domain,host{i}.example.org,green\n"));
    }
    let file = root.path().join("import.csv");
    std::fs::write(&file, csv).unwrap();
    cli_ok(&prev, &a.dir, &["import", file.to_str().unwrap()]);
    let theirs = cli_json(
        &prev,
        &b.dir,
        &[
            "publish",
            "--kind",
            "domain",
            "--value",
            "partner.example.org",
            "--tlp",
            "green",
        ],
    )["recordId"]
        .as_str()
        .unwrap()
        .to_string();
    let received = eventually(WAIT, || {
        a.search_ids(&prev, "partner.example.org") == vec![theirs.clone()]
    });
    assert!(received, "A never received B's record:\n{}", a.log());
    cli_ok(&prev, &a.dir, &["sight", &theirs]);
    let expected = Expected {
        records: a.records(&prev),
        searches: [
            "own.example.org",
            "partner.example.org",
            "+44 7700 900123",
            "host1999.example.org",
        ]
        .iter()
        .map(|v| (v.to_string(), a.search_ids(&prev, v)))
        .collect(),
    };
    // Published, imported, received, sighting.
    let imported = (IMPORTED_PHONES + IMPORTED_DOMAINS) as u64;
    assert_eq!(expected.records, 1 + imported + 1 + 1);
    assert_eq!(expected.searches[0].1, vec![own]);
    assert_eq!(expected.searches[2].1.len(), 1);
    assert_serves(&a, &prev, &expected, "previous release");
    let pre_upgrade = root.path().join("pre-upgrade.lbk");
    let pre = pre_upgrade.to_str().unwrap();
    cli_ok(&prev, &a.dir, &["backup", "--out", pre, "--include-keys"]);
    b.stop();
    a.stop();

    // This build, killed mid-migration: nothing is lost, and `run` resumes it.
    // The kill is tried on fresh copies until one lands before the end.
    let mut upgraded = None;
    for attempt in 0..5 {
        let copy = Node::at(root.path().join(format!("upgraded-{attempt}")));
        copy_dir(&a.dir, &copy.dir);
        if kill_during_migration(&copy.dir) {
            upgraded = Some(copy);
            break;
        }
        eprintln!("attempt {attempt}: the migration ended before the kill");
    }
    let mut upgraded = upgraded.expect("no kill landed during the migration in 5 attempts");
    upgraded.start(new);
    let log = upgraded.log();
    assert!(
        log.contains(", resumed"),
        "run resumed the migration:\n{log}"
    );
    assert!(log.contains("store layout 3"), "{log}");
    assert_serves(&upgraded, new, &expected, "after the upgrade");

    // The previous release refuses the migrated database, and this build's
    // backup, with the reason; it never serves them.
    let post_upgrade = root.path().join("post-upgrade.lbk");
    let post = post_upgrade.to_str().unwrap();
    cli_ok(
        new,
        &upgraded.dir,
        &["backup", "--out", post, "--include-keys"],
    );
    upgraded.stop();
    let refused = Command::new(&prev)
        .args(["run", "--dir"])
        .arg(&upgraded.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the previous release");
    let refused = wait_exit(refused);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("another version (liaison-store-v3)"),
        "{}",
        text(&refused)
    );
    let into_old = root.path().join("restored-new-into-old");
    let out = cli(&prev, &into_old, &["restore", "--from", post]);
    assert!(!out.status.success(), "{}", text(&out));
    // The backup format changed in 0.2.0 (signed): the manifest is refused
    // before the database's layout is even read.
    assert!(
        text(&out).contains("manifest.format: 2 is not a format this build reads"),
        "{}",
        text(&out)
    );

    // Rollback: the pre-upgrade backup into the previous release keeps every record.
    let mut rolled_back = Node::at(root.path().join("rolled-back"));
    cli_ok(&prev, &rolled_back.dir, &["restore", "--from", pre]);
    rolled_back.start(&prev);
    assert_serves(&rolled_back, &prev, &expected, "after the rollback");
    rolled_back.stop();

    // This build refuses the previous release's backup (it was not signed) and
    // names the way in: restore it with that release, start this build on it.
    let refused_dir = root.path().join("restored-old-into-new");
    let out = cli(new, &refused_dir, &["restore", "--from", pre]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("carries no signature")
            && text(&out).contains("restore it with the release that wrote it"),
        "{}",
        text(&out)
    );
    rolled_back.start(new);
    assert!(
        rolled_back.log().contains("store layout 3"),
        "{}",
        rolled_back.log()
    );
    assert_serves(
        &rolled_back,
        new,
        &expected,
        "rolled back, then upgraded again",
    );
    rolled_back.stop();
}

/// Waits for a process that must exit on its own (killed after a deadline).
fn wait_exit(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the previous release kept running on a database it must refuse");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}
