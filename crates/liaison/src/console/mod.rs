//! `liaison console`: the node in the analyst's browser. A small HTTP server on
//! the analyst's workstation (loopback only, unless the operator says why not)
//! that renders HTML pages and calls the node over the same mTLS gRPC as the
//! CLI, with the analyst's own client certificate (`--client DIR`) or the
//! node's admin certificate (`--dir`).
//!
//! The console is a client: it has no authority of its own, stores nothing and
//! must never widen what the certificate may do. Access to it is guarded by a
//! one-time start token exchanged for a session cookie ([`session`]).
//!
//! - [`routes`]: the pages, the session/CSRF guard and the security headers.
//! - [`search_stream`]: the search page, streamed for a federated search.
//! - [`actions`]: the record page and its actions (sight, revoke, STIX).
//! - [`pages`]: the Records, Partners and Audit handlers.
//! - [`import`]: the Import page's jobs (the CLI's import, run in here);
//!   [`job`]: a job's state, shared with the view.
//! - [`collab`]: the Bulletins and Private lookup handlers.
//! - [`view`]: the HTML (maud), with every outside string escaped.
//! - [`session`]: tokens, cookies and CSRF secrets.
//! - [`form`]: query strings and form bodies; [`upload`]: multipart uploads.

mod actions;
mod collab;
mod form;
mod import;
mod job;
mod pages;
mod routes;
mod search_stream;
mod session;
mod upload;
mod view;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

use crate::client::NodeClient;
use liaison_identity::identity::NodeDir;
use liaison_server::config::NodeDirSetup;

/// Longest a browser may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    /// A client certificate folder from `liaison client issue` (client.crt,
    /// client.key, node.crt); needs --node. Without it, --dir's admin certificate.
    #[arg(long, value_name = "DIR", requires = "node")]
    pub client: Option<PathBuf>,
    /// The node's gRPC address (HOST:PORT), with --client.
    #[arg(long, value_name = "HOST:PORT")]
    pub node: Option<String>,
    /// Where the console listens: a loopback address (127.0.0.1 or [::1]);
    /// port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8484", value_name = "ADDRESS")]
    pub listen: String,
    /// Listen on a non-loopback address anyway, for this reason (logged). The
    /// console speaks plain HTTP: the token and cookie cross the network in clear.
    #[arg(long, value_name = "REASON")]
    pub allow_remote: Option<String>,
    /// Open the address in the desktop's browser (xdg-open / open).
    #[arg(long)]
    pub open: bool,
    /// How long a federated search waits for partners, in milliseconds (the node
    /// caps it at 30000).
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub deadline_ms: u32,
    /// End a browser session after this long without a request (30m, 1h, 90s).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// End a browser session this long after it began, however it is used.
    #[arg(long, default_value = "12h", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub session_lifetime: Duration,
}

/// What every request handler shares: the node connection and the sessions.
pub struct Console {
    client: NodeClient,
    sessions: session::Sessions,
    /// Shown in the page header: which node, as whom.
    who: String,
    /// `--deadline-ms`, sent with each federated search.
    deadline_ms: u32,
    /// Each session's latest import job.
    jobs: import::Jobs,
}

/// The listen address, refused unless it is loopback or the operator gave a
/// reason for exposing it.
pub fn listen_address(listen: &str, allow_remote: Option<&str>) -> Result<SocketAddr> {
    let address: SocketAddr = listen.parse().with_context(|| {
        format!(
            "--listen {listen:?}: give an IP address and port, e.g. 127.0.0.1:8484 or [::1]:8484"
        )
    })?;
    match (address.ip().is_loopback(), allow_remote.map(str::trim)) {
        (true, _) => Ok(address),
        (false, Some(reason)) if !reason.is_empty() => {
            tracing::warn!(%address, reason, "the console listens beyond loopback (--allow-remote); its plain-HTTP token and cookie can be read on the network");
            Ok(address)
        }
        (false, _) => bail!(
            "--listen {address}: the console listens on loopback only (127.0.0.1 or [::1]); \
             it speaks plain HTTP and acts with your certificate. Use an SSH tunnel, or give \
             --allow-remote REASON to listen there anyway"
        ),
    }
}

/// Runs the console until Ctrl-C.
pub async fn run(dir: Option<PathBuf>, args: ConsoleArgs) -> Result<()> {
    let address = listen_address(&args.listen, args.allow_remote.as_deref())?;
    let (client, who) = connect(dir, &args).await?;
    serve(
        client,
        who,
        address,
        &args,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        None,
    )
    .await
}

/// The console's arguments as `liaison console ARGS…` would read them (its
/// defaults in one place), for a console another command starts (`demo --console`).
pub fn args_from(args: &[&str]) -> Result<ConsoleArgs> {
    #[derive(clap::Parser)]
    struct Line {
        #[command(flatten)]
        args: ConsoleArgs,
    }
    let line = <Line as clap::Parser>::try_parse_from(
        std::iter::once("console").chain(args.iter().copied()),
    )?;
    Ok(line.args)
}

/// Serves the console with `client` on `address` until `stop` completes,
/// printing the one-time address first (and sending it to `ready`, for a
/// caller that drives the console itself: the bench).
pub async fn serve(
    client: NodeClient,
    who: String,
    address: SocketAddr,
    args: &ConsoleArgs,
    stop: impl std::future::Future<Output = ()>,
    ready: Option<tokio::sync::oneshot::Sender<String>>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (--listen)"))?;
    let bound = listener.local_addr()?;
    let token = session::random_secret();
    let console = Arc::new(Console {
        client,
        sessions: session::Sessions::new(
            token.clone(),
            bound.port(),
            session::Expiry {
                idle: args.idle_timeout,
                lifetime: args.session_lifetime,
            },
        ),
        who,
        deadline_ms: args.deadline_ms,
        jobs: import::Jobs::default(),
    });
    let url = format!("http://{bound}/?token={token}");
    out!("Liaison console for {}, serving on {bound}.", console.who);
    out!("Open this address in your browser (the token works once; Ctrl-C stops the console):");
    out!("{url}");
    if args.open {
        open_browser(&url);
    }
    if let Some(ready) = ready {
        let _ = ready.send(url);
    }
    let router = routes::router(console);
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "console accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "console connection ended");
            }
        });
    }
    Ok(())
}

/// The node connection: the analyst's certificate folder, or the node
/// directory's admin certificate.
pub async fn connect(dir: Option<PathBuf>, args: &ConsoleArgs) -> Result<(NodeClient, String)> {
    match (&args.client, dir) {
        (Some(folder), _) => {
            let node = args
                .node
                .as_deref()
                .context("--client needs --node HOST:PORT")?;
            let client = NodeClient::connect(
                node,
                &folder.join("client.crt"),
                &folder.join("client.key"),
                &folder.join("node.crt"),
            )
            .await
            .with_context(|| {
                format!(
                    "connecting to {node} with the certificate in {}",
                    folder.display()
                )
            })?;
            // The holder's name and role, as the node's audit log names them.
            let holder = liaison_identity::identity::read_pem_cert(&folder.join("client.crt"))
                .ok()
                .and_then(|der| liaison_identity::identity::cert_summary(&der).ok())
                .map(|s| match s.role {
                    Some(liaison_identity::identity::Role::Admin) => {
                        format!("{} (admin)", s.common_name)
                    }
                    Some(liaison_identity::identity::Role::Analyst) => {
                        format!("{} (analyst)", s.common_name)
                    }
                    None => s.common_name,
                })
                .unwrap_or_else(|| format!("the certificate in {}", folder.display()));
            Ok((client, format!("{holder} at {node}")))
        }
        (None, Some(dir)) => {
            let dir = NodeDir::new(dir);
            let name = dir.load_config()?.node.name;
            let client = NodeClient::for_dir(&dir).await?;
            Ok((client, format!("{name} (the node's admin certificate)")))
        }
        (None, None) => {
            bail!("give --client DIR --node HOST:PORT (an analyst certificate) or --dir NODE_DIR")
        }
    }
}

/// Best effort: the console still runs, and the address is printed, if no
/// browser can be started here.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("warning: cannot start {opener} ({e}); open the address above yourself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_a_reason() {
        assert!(listen_address("127.0.0.1:8484", None).is_ok());
        assert!(listen_address("[::1]:0", None).is_ok());
        let refused = listen_address("0.0.0.0:8484", None).expect_err("wildcard refused");
        assert!(refused.to_string().contains("--allow-remote"), "{refused}");
        assert!(listen_address("192.0.2.10:8484", Some("  ")).is_err());
        assert!(listen_address("0.0.0.0:8484", Some("team VM behind the VPN")).is_ok());
        assert!(listen_address("localhost:8484", None).is_err());
    }
}
