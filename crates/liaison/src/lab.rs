//! Throwaway nodes on loopback for the demo and the benchmarks: real node
//! directories, real certificates, the real server on 127.0.0.1:0, and every
//! action through the real gRPC API with the admin certificate.
//!
//! A node either runs inside this process ([`LabNode::serve`]) or as a real
//! `liaison run` child process ([`LabNode::spawn`]), whose memory can be measured
//! on its own and which can be killed and restarted (churn).
//!
//! Never used by `liaison run`; nothing here shortcuts a check the node makes.

use std::path::Path;

use anyhow::{Context, Result};

use crate::client::NodeClient;
use liaison_core::proto;
use liaison_identity::identity::{Bundle, NodeDir};
use liaison_node::node::{Shutdown, ShutdownTrigger};
use liaison_server::config::Config;
use liaison_server::config::NodeDirSetup;

pub struct LabNode {
    pub name: String,
    pub dir: NodeDir,
    pub node_id: String,
    pub client: NodeClient,
    runner: Runner,
}

/// Where the node runs.
enum Runner {
    InProcess {
        trigger: ShutdownTrigger,
        task: tokio::task::JoinHandle<liaison_node::Result<()>>,
    },
    /// Killed if dropped without [`LabNode::stop`] (a failed bench leaves nothing running).
    Process(Killed),
}

impl LabNode {
    /// Creates a node under `root` and serves it on an ephemeral loopback port.
    pub async fn start(root: &Path, name: &str) -> Result<LabNode> {
        LabNode::serve(LabNode::create(root, name)?).await
    }

    /// Creates a node directory (not yet serving).
    pub fn create(root: &Path, name: &str) -> Result<NodeDir> {
        LabNode::create_with(root, name, |_| {})
    }

    /// Creates a node directory with settings changed from the lab defaults.
    pub fn create_with(
        root: &Path,
        name: &str,
        adjust: impl FnOnce(&mut Config),
    ) -> Result<NodeDir> {
        let folder = name
            .split_whitespace()
            .next()
            .unwrap_or("node")
            .to_lowercase();
        let dir = NodeDir::new(root.join(folder));
        let mut config = Config::new(name, "127.0.0.1:0");
        config.node.default_country = "GB".into();
        // The bench measures the node, not its limiter: federated searches run
        // back to back (~260/s), far above the per-partner default.
        config.node.limits.partner_calls_per_second = 100_000;
        config.node.limits.partner_burst = 100_000;
        adjust(&mut config);
        dir.init(&config)?;
        Ok(dir)
    }

    /// Serves an existing node directory on an ephemeral loopback port.
    pub async fn serve(dir: NodeDir) -> Result<LabNode> {
        let config = dir.load_config()?;
        let name = config.node.name.clone();
        let node_id = dir.load_identity(&config)?.node_id().to_hex();
        let address_file = dir.bound_address();
        let (mut trigger, mut shutdown) = Shutdown::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut task = tokio::spawn(liaison_server::server::run(dir.clone(), listener, shutdown));
        // Up to 30 s: opening a large store on a busy machine takes a while.
        for _ in 0..3000 {
            if address_written(&address_file) {
                break;
            }
            if task.is_finished() {
                // Say why it stopped, not that port 0 cannot be reached.
                let outcome = task.await.context("node task")?;
                let reason = outcome.err().map_or("no error".into(), |e| e.to_string());
                // sled's flusher thread may still hold the lock of a store that
                // was just closed (a preload): try again shortly.
                if !reason.contains("could not acquire lock") {
                    anyhow::bail!("{name} stopped at start: {reason}");
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                (trigger, shutdown) = Shutdown::new();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                task = tokio::spawn(liaison_server::server::run(dir.clone(), listener, shutdown));
                continue;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let client = NodeClient::for_dir(&dir)
            .await
            .with_context(|| format!("connecting to {name}"))?;
        Ok(LabNode {
            name,
            dir,
            node_id,
            client,
            runner: Runner::InProcess { trigger, task },
        })
    }

    /// Starts `liaison run` on an existing node directory as a child process
    /// (this executable), logging to `DIR/node.log`.
    pub async fn spawn(dir: NodeDir) -> Result<LabNode> {
        LabNode::spawn_with_workers(dir, None).await
    }

    /// [`LabNode::spawn`] with the child's tokio runtime limited to `workers`
    /// worker threads (`TOKIO_WORKER_THREADS`; the default is one per core):
    /// many nodes sharing a few cores (`bench federation`) otherwise spend
    /// their time waking and switching between each other's idle workers.
    pub async fn spawn_with_workers(dir: NodeDir, workers: Option<usize>) -> Result<LabNode> {
        let config = dir.load_config()?;
        let name = config.node.name.clone();
        let node_id = dir.load_identity(&config)?.node_id().to_hex();
        let address_file = dir.bound_address();
        let _ = std::fs::remove_file(&address_file);
        let exe = std::env::current_exe().context("lab: the liaison executable")?;
        let log = std::fs::File::create(dir.root.join("node.log"))?;
        let mut command = std::process::Command::new(exe);
        if let Some(workers) = workers {
            command.env("TOKIO_WORKER_THREADS", workers.max(1).to_string());
        }
        let child = command
            .arg("run")
            .arg("--dir")
            .arg(&dir.root)
            .env("LIAISON_LOG", "warn")
            // Two malloc arenas, as the systemd unit sets: glibc's default of
            // 8 per core keeps freed memory of the blocking pool's threads
            // resident (docs/BENCHMARKS.md, "Space and memory").
            .env("MALLOC_ARENA_MAX", malloc_arena_max())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let mut child = Killed(Some(child));
        for _ in 0..3000 {
            if address_written(&address_file) {
                break;
            }
            if let Some(status) = child
                .0
                .as_mut()
                .map(|c| c.try_wait())
                .transpose()?
                .flatten()
            {
                anyhow::bail!(
                    "{name} exited at start ({status}); see {}",
                    dir.root.join("node.log").display()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let client = NodeClient::for_dir(&dir)
            .await
            .with_context(|| format!("connecting to {name}"))?;
        Ok(LabNode {
            name,
            dir,
            node_id,
            client,
            runner: Runner::Process(child),
        })
    }

    /// The child's process id, for a node started with [`LabNode::spawn`].
    pub fn pid(&self) -> Option<u32> {
        match &self.runner {
            Runner::Process(Killed(child)) => child.as_ref().map(|c| c.id()),
            Runner::InProcess { .. } => None,
        }
    }

    /// SIGKILL (no shutdown path runs); returns the directory to spawn again.
    pub fn kill(self) -> Result<NodeDir> {
        match self.runner {
            Runner::Process(killed) => drop(killed),
            Runner::InProcess { task, .. } => task.abort(),
        }
        Ok(self.dir)
    }

    pub async fn fingerprint(&self) -> Result<String> {
        Ok(self
            .client
            .admin()
            .show_identity(proto::ShowIdentityRequest {})
            .await?
            .into_inner()
            .fingerprint)
    }

    /// Enrolls `other` here, the way an admin does: its exported bundle, with the
    /// fingerprint read from that bundle.
    pub async fn enroll(&self, other: &LabNode, max_tlp: &str, relay: bool) -> Result<()> {
        let request = proto::AddPartnerRequest {
            max_tlp: max_tlp.to_string(),
            relay,
            ..Default::default()
        };
        self.enroll_with(other, request).await
    }

    /// Enrolls `other` here as a partner of `kind` ("agency", "ngo", "platform"),
    /// with a platform's evaluation cap (issue 15; empty for the default).
    pub async fn enroll_as(
        &self,
        other: &LabNode,
        max_tlp: &str,
        kind: &str,
        max_evaluation: &str,
    ) -> Result<()> {
        let request = proto::AddPartnerRequest {
            max_tlp: max_tlp.to_string(),
            kind: kind.to_string(),
            max_evaluation: max_evaluation.to_string(),
            ..Default::default()
        };
        self.enroll_with(other, request).await
    }

    /// Sends `request` with `other`'s exported bundle and the fingerprint read
    /// from that bundle filled in.
    async fn enroll_with(
        &self,
        other: &LabNode,
        mut request: proto::AddPartnerRequest,
    ) -> Result<()> {
        let exported = other
            .client
            .admin()
            .export_identity(proto::ExportIdentityRequest {})
            .await?
            .into_inner();
        request.confirmed_fingerprint = Bundle::from_signed(&exported.bundle)?.fingerprint();
        request.bundle = exported.bundle;
        self.client.admin().add_partner(request).await?;
        Ok(())
    }

    /// This node's view of a record it holds, found by searching its value.
    pub async fn view(
        &self,
        kind: proto::IndicatorKind,
        value: &str,
        record_id: &str,
    ) -> Result<proto::RecordView> {
        let request = proto::SearchRequest {
            value: value.to_string(),
            kind: kind as i32,
            ..Default::default()
        };
        let found = self.client.analyst().search(request).await?.into_inner();
        found
            .records
            .into_iter()
            .find(|r| r.record_id == record_id)
            .with_context(|| format!("{} does not hold {record_id}", self.name))
    }

    pub async fn publish(&self, request: proto::PublishRequest) -> Result<proto::PublishResponse> {
        Ok(self.client.analyst().publish(request).await?.into_inner())
    }

    pub async fn holds(&self, value: &str, record_id: &str) -> Result<bool> {
        self.holds_kind(proto::IndicatorKind::Unspecified, value, record_id)
            .await
    }

    /// Like [`holds`](Self::holds), searching as one kind (job adverts need it).
    pub async fn holds_kind(
        &self,
        kind: proto::IndicatorKind,
        value: &str,
        record_id: &str,
    ) -> Result<bool> {
        let request = proto::SearchRequest {
            value: value.to_string(),
            kind: kind as i32,
            ..Default::default()
        };
        let found = self.client.analyst().search(request).await?.into_inner();
        Ok(found.records.iter().any(|r| r.record_id == record_id))
    }

    pub async fn partners(&self) -> Result<proto::ListPartnersResponse> {
        Ok(self
            .client
            .admin()
            .list_partners(proto::ListPartnersRequest {})
            .await?
            .into_inner())
    }

    pub async fn revoke(&self, other: &LabNode) -> Result<()> {
        self.client
            .admin()
            .revoke_partner(proto::RevokePartnerRequest {
                node_id: other.node_id.clone(),
            })
            .await?;
        Ok(())
    }

    /// Records the node stores (its identity summary).
    pub async fn records(&self) -> Result<u64> {
        Ok(self
            .client
            .admin()
            .show_identity(proto::ShowIdentityRequest {})
            .await?
            .into_inner()
            .records)
    }

    /// Bytes the database occupies on disk.
    pub fn database_bytes(&self) -> u64 {
        directory_bytes(&self.dir.database())
    }

    /// Triggers shutdown and waits for the node to drain and flush.
    pub async fn stop(self) -> Result<()> {
        drop(self.client);
        match self.runner {
            Runner::InProcess { trigger, task } => {
                trigger.trigger();
                task.await.context("node task")??;
            }
            Runner::Process(mut killed) => {
                let Some(mut child) = killed.0.take() else {
                    return Ok(());
                };
                // SIGTERM: the node drains and flushes, as under a service manager.
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string())
                    .status();
                let status = tokio::task::spawn_blocking(move || child.wait()).await??;
                if !status.success() {
                    anyhow::bail!("node exited with {status}");
                }
            }
        }
        Ok(())
    }
}

/// A child killed when dropped before it is handed over (a failed start
/// must not leave a node running).
struct Killed(Option<std::process::Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `VmHWM` (peak resident set) of a live process, in KiB; `None` off Linux or
/// once it has exited.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn directory_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => directory_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A publish request for a value of a kind.
pub fn request(kind: proto::IndicatorKind, value: &str, tlp: proto::Tlp) -> proto::PublishRequest {
    proto::PublishRequest {
        kind: kind as i32,
        value: value.to_string(),
        tlp: tlp as i32,
        ..Default::default()
    }
}

/// The malloc arena limit for spawned nodes: the caller's own setting if it has one.
fn malloc_arena_max() -> String {
    std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "2".into())
}

/// Whether a starting node has written its bound address: the file exists
/// before its content does, and an empty read is not an address.
fn address_written(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|address| !address.trim().is_empty())
}
