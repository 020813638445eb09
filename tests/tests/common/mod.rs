//! The black-box harness: real `liaison` processes in temporary directories,
//! listening on 127.0.0.1 port 0, driven through the CLI and through gRPC with
//! real certificates.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use liaison::client::NodeClient;
use liaison::identity::NodeDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_liaison-under-test");

/// One node: its directory and, while running, its process.
pub struct TestNode {
    pub name: String,
    pub tmp: tempfile::TempDir,
    child: Option<Child>,
    /// The `liaison` binary its processes run: this build's ([`BIN`]) unless
    /// made with [`TestNode::init_with`] (e.g. the previous release).
    bin: PathBuf,
}

impl TestNode {
    /// `liaison init` with a port-0 listener.
    pub fn init(name: &str) -> TestNode {
        TestNode::init_with(Path::new(BIN), name)
    }

    /// [`TestNode::init`] with another `liaison` binary, which runs every later
    /// command and `run` of this node too (see [`TestNode::set_bin`]).
    pub fn init_with(bin: &Path, name: &str) -> TestNode {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = Command::new(bin)
            .args(["init", "--dir"])
            .arg(tmp.path().join("node"))
            .args(["--name", name, "--listen", "127.0.0.1:0", "--country", "GB"])
            .output()
            .expect("run liaison init");
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestNode {
            name: name.to_string(),
            tmp,
            child: None,
            bin: bin.to_path_buf(),
        }
    }

    /// Runs the node's later commands and processes with `bin` (another
    /// release on the same directory, as an upgrade or a rollback does).
    pub fn set_bin(&mut self, bin: &Path) {
        self.bin = bin.to_path_buf();
    }

    /// A node whose directory (`tmp/node`) was made another way, e.g. by
    /// `liaison restore`.
    pub fn adopt(name: &str, tmp: tempfile::TempDir) -> TestNode {
        TestNode {
            name: name.to_string(),
            tmp,
            child: None,
            bin: PathBuf::from(BIN),
        }
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("node")
    }

    pub fn node_dir(&self) -> NodeDir {
        NodeDir::new(self.dir())
    }

    /// Starts `liaison run` and waits until it has written its bound address.
    pub fn start(&mut self) -> &mut Self {
        let address_file = self.node_dir().bound_address();
        let _ = std::fs::remove_file(&address_file);
        let log = std::fs::File::create(self.tmp.path().join("node.log")).expect("log file");
        let child = Command::new(&self.bin)
            .args(["run", "--dir"])
            .arg(self.dir())
            .env("LIAISON_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn liaison run");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !address_file.exists() {
            assert!(
                Instant::now() < deadline,
                "{} did not start; log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("node.log")).unwrap_or_default()
    }

    pub fn address(&self) -> String {
        std::fs::read_to_string(self.node_dir().bound_address())
            .expect("node.addr")
            .trim()
            .to_string()
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let status = child.wait().expect("wait");
            assert!(
                status.success(),
                "{} exited with {status}; log:\n{}",
                self.name,
                self.log()
            );
        }
    }

    /// Runs `liaison --dir DIR ARGS…`.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("--dir")
            .arg(self.dir())
            .args(args)
            .output()
            .expect("run liaison")
    }

    /// Runs a CLI command that must succeed; returns its stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "liaison {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a CLI command with `--json`; its output in the proto3 JSON mapping
    /// (lowerCamelCase keys, enum names, 64-bit integers as strings: see [`int`]).
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.cli_ok(&all)).expect("json output")
    }

    pub fn node_id(&self) -> String {
        self.cli_json(&["identity", "show"])["nodeId"]
            .as_str()
            .expect("node_id")
            .to_string()
    }

    /// Publishes and returns the record id.
    pub fn publish(&self, kind: &str, value: &str, tlp: &str, extra: &[&str]) -> String {
        let mut args = vec!["publish", "--kind", kind, "--value", value, "--tlp", tlp];
        args.extend_from_slice(extra);
        self.cli_json(&args)["recordId"]
            .as_str()
            .expect("record_id")
            .to_string()
    }

    /// Record ids a search returns.
    pub fn search_ids(&self, value: &str) -> Vec<String> {
        let found = self.cli_json(&["search", value]);
        found["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["recordId"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn export_bundle(&self) -> PathBuf {
        let path = self
            .tmp
            .path()
            .join(format!("bundle-{}.pem", std::process::id()));
        let _ = std::fs::remove_file(&path);
        self.cli_ok(&[
            "identity",
            "export",
            "--out",
            path.to_str().expect("utf-8 path"),
        ]);
        path
    }

    /// Enrolls `other` here with the given terms, through the CLI.
    pub fn enroll(&self, other: &TestNode, max_tlp: &str, relay: bool) {
        let bundle = other.export_bundle();
        let mut args = vec![
            "partner",
            "add",
            bundle.to_str().expect("path"),
            "--max-tlp",
            max_tlp,
            "--yes",
        ];
        if relay {
            args.push("--relay");
        }
        self.cli_ok(&args);
    }

    /// The admin's gRPC client.
    pub async fn admin_client(&self) -> NodeClient {
        NodeClient::for_dir(&self.node_dir())
            .await
            .expect("connect as admin")
    }

    /// Issues a client certificate with `liaison client issue`; returns its folder.
    pub fn issue(&self, person: &str, role: &str) -> PathBuf {
        let out = self.tmp.path().join(format!("client-{person}"));
        self.cli_ok(&[
            "client",
            "issue",
            "--name",
            person,
            "--role",
            role,
            "--out",
            out.to_str().expect("path"),
        ]);
        out
    }

    /// Connects with an issued certificate folder.
    pub async fn client_with(&self, folder: &Path) -> liaison::Result<NodeClient> {
        NodeClient::connect(
            &self.address(),
            &folder.join("client.crt"),
            &folder.join("client.key"),
            &folder.join("node.crt"),
        )
        .await
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An integer from `--json` output: the proto3 JSON mapping prints 64-bit
/// integers as strings ("5") and 32-bit ones as numbers; both read here.
pub fn int(value: &serde_json::Value) -> u64 {
    int_opt(value).unwrap_or_else(|| panic!("not an integer: {value}"))
}

/// [`int`] for a value that may be missing (e.g. a row not there yet).
pub fn int_opt(value: &serde_json::Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
}

/// Polls `check` until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub const WAIT: Duration = Duration::from_secs(15);

/// Agencies A and B started and enrolled with each other, each granting the
/// other up to `max_tlp`, no relay.
pub fn two_agencies(max_tlp: &str) -> (TestNode, TestNode) {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    a.start();
    b.start();
    a.enroll(&b, max_tlp, false);
    b.enroll(&a, max_tlp, false);
    (a, b)
}

/// A↔B (A grants B up to RED, relay both ways), B↔C (GREEN ceiling, relay both
/// ways); C is not enrolled with A.
pub fn three_agencies() -> (TestNode, TestNode, TestNode) {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let mut c = TestNode::init("Agency C (example)");
    a.start();
    b.start();
    c.start();
    a.enroll(&b, "red", true);
    b.enroll(&a, "red", true);
    b.enroll(&c, "green", true);
    c.enroll(&b, "green", true);
    (a, b, c)
}

/// Whether a search for `value` at `node` returns the record `id`.
pub fn holds(node: &TestNode, value: &str, id: &str) -> bool {
    node.search_ids(value).iter().any(|found| found == id)
}

pub mod rogue;

pub mod browser;
pub mod https;
pub mod previous;
pub mod proxy;
pub mod python;
pub mod reliability;
