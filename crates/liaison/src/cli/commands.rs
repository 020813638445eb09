//! What each subcommand does. Errors leave here as `anyhow` with a sentence the
//! operator can act on.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::status::status_error;
use anyhow::{bail, Context, Result};

use super::output;
use super::{Cli, ClientCommand, Command, IdentityCommand, PublishArgs, RunArgs, SearchArgs};
use crate::client::NodeClient;
use liaison_core::proto;
use liaison_identity::identity::{issue_client_cert, Bundle, NodeDir};
use liaison_node::node::Shutdown;
use liaison_server::config::Config;
use liaison_server::config::NodeDirSetup;

pub async fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => return crate::demo::run(args).await,
        Command::Bench(args) => return crate::bench::run(args).await,
        Command::Completions { shell } => return super::reference::completions(shell),
        Command::Man { out } => return super::reference::man(out.as_deref()),
        Command::Console(args) => return crate::console::run(cli.dir, *args).await,
        _ => {}
    }
    let dir = NodeDir::new(
        cli.dir
            .clone()
            .context("--dir DIR is required (or set LIAISON_DIR)")?,
    );
    match cli.command {
        Command::Init {
            name,
            listen,
            endpoints,
            country,
            json,
        } => init(&dir, &name, &listen, endpoints, &country, json),
        Command::Run(args) => run(dir, args).await,
        Command::Client(ClientCommand::Issue {
            name,
            role,
            out,
            json,
        }) => issue(&dir, &name, role, &out, json),
        Command::Client(ClientCommand::Revoke { cert, sha256, json }) => {
            revoke_client(&dir, cert, sha256, json).await
        }
        Command::Client(ClientCommand::Renew(args)) => super::rotate::renew_client(&dir, *args),
        Command::Identity(IdentityCommand::Renewal(command)) => {
            super::rotate::run(&dir, command).await
        }
        Command::Backup(args) => super::backup::backup(&dir, *args).await,
        Command::Restore(args) => super::backup::restore(&dir, *args),
        Command::Doctor(args) => super::doctor::doctor(&dir, args).await,
        Command::Migrate => super::migrate::command(&dir),
        Command::Warninglist(command) => super::warninglist::warninglist(&dir, command).await,
        Command::Bulletin(command) => super::bulletin::bulletin(&dir, command).await,
        Command::Publish(args) => publish(&dir, *args).await,
        Command::Search(args) => search(&dir, *args).await,
        Command::Lookup(args) => super::lookup::lookup(&dir, *args).await,
        Command::Revoke {
            record_id,
            reason,
            json,
        } => revoke(&dir, record_id, reason, json).await,
        Command::Sight {
            record_id,
            note,
            kind,
            json,
        } => sight(&dir, record_id, note, kind, json).await,
        Command::Get { record_id, json } => get(&dir, record_id, json).await,
        Command::List(args) => super::records::list(&dir, *args).await,
        Command::Export(args) => super::export::export(&dir, *args).await,
        Command::Import(args) => super::import::import(&dir, *args).await,
        Command::Identity(command) => identity(&dir, command).await,
        Command::Partner(command) => super::partner::partner(&dir, command).await,
        Command::Audit(command) => super::audit::run(&dir, command),
        Command::Demo(_)
        | Command::Bench(_)
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Console(_) => Ok(()),
    }
}

fn init(
    dir: &NodeDir,
    name: &str,
    listen: &str,
    endpoints: Vec<String>,
    country: &str,
    json: bool,
) -> Result<()> {
    let mut config = Config::new(name, listen);
    if !endpoints.is_empty() {
        config.node.endpoints = endpoints;
    }
    config.node.default_country = country.to_uppercase();
    // The same checks `run` applies when it loads the file.
    Config::from_toml(&config.to_toml()).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let identity = dir.init(&config)?;
    if json {
        return output::print_json(&proto::InitResult {
            name: name.to_string(),
            dir: dir.root.display().to_string(),
            node_id: identity.node_id().to_hex(),
            fingerprint: identity.fingerprint(),
            listen: listen.to_string(),
        });
    }
    out!("Created node {:?} in {}", name, dir.root.display());
    out!("  node id:     {}", identity.node_id());
    out!("  fingerprint: {}", identity.fingerprint());
    out!("  listen:      {listen}");
    out!("Start it with: liaison run --dir {}", dir.root.display());
    Ok(())
}

async fn run(dir: NodeDir, args: RunArgs) -> Result<()> {
    let config = dir.load_config()?;
    // Before anything listens: a migration shows its progress here, and a
    // database this build refuses stops the start with the store's reason.
    let cache_bytes = config.node.cache_mb * 1024 * 1024;
    tokio::task::block_in_place(|| super::migrate::migrate(&dir, cache_bytes, &config.node.store))?;
    let metrics =
        liaison_server::metrics::bind(args.metrics_listen.as_deref(), &config.metrics).await?;
    let listener = tokio::net::TcpListener::bind(&config.node.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.node.listen))?;
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        trigger.trigger();
    });
    liaison_server::server::run_with_metrics(dir, listener, shutdown, metrics).await?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn issue(
    dir: &NodeDir,
    name: &str,
    role: liaison_identity::identity::Role,
    out: &Path,
    json: bool,
) -> Result<()> {
    let sha256 = issue_files(dir, name, role, out)?;
    if json {
        return output::print_json(&proto::ClientIssued {
            name: name.to_string(),
            role: format!("{role:?}").to_lowercase(),
            out: out.display().to_string(),
            cert_sha256: sha256,
            server_name: liaison_identity::identity::NODE_CERT_NAME.to_string(),
        });
    }
    let role_name = match role {
        liaison_identity::identity::Role::Analyst => "an analyst",
        liaison_identity::identity::Role::Admin => "an admin",
    };
    out!(
        "Issued {role_name} certificate for {name:?} in {}:",
        out.display()
    );
    out!("  client.crt, client.key (mode 0600), node.crt (the node's certificate to trust)");
    out!(
        "  TLS server name to expect: {}",
        liaison_identity::identity::NODE_CERT_NAME
    );
    out!("  certificate SHA-256 (keep it; `client revoke --sha256` refuses it): {sha256}");
    Ok(())
}

/// `client issue`'s work without its output: the certificate signed by the
/// node's local CA, logged, written to `out` (client.crt, client.key 0600,
/// node.crt) and registered; returns its SHA-256. Also `demo --console`'s.
pub(crate) fn issue_files(
    dir: &NodeDir,
    name: &str,
    role: liaison_identity::identity::Role,
    out: &Path,
) -> Result<String> {
    let ca_cert = std::fs::read_to_string(dir.ca_cert())
        .with_context(|| format!("reading {}", dir.ca_cert().display()))?;
    let ca_key = zeroize::Zeroizing::new(
        std::fs::read_to_string(dir.ca_key())
            .with_context(|| format!("reading {}", dir.ca_key().display()))?,
    );
    let cert = issue_client_cert(&ca_cert, &ca_key, name, role)?;
    // Logged before the key is handed out, under the audit log's file lock
    // (safe whether or not the node is running).
    let config = dir.load_config()?;
    let identity = dir.load_identity(&config)?;
    let detail = serde_json::json!({
        "name": name,
        "role": role.unit(),
        "cert_sha256": liaison_identity::identity::cert_pin(&cert.cert_der),
        "os_user": std::env::var("USER").unwrap_or_default(),
    });
    liaison_store::audit::append_offline(
        &dir.audit_log(),
        &identity.signing_key,
        "cli",
        "client.issue",
        detail,
    )?;
    liaison_identity::identity::write_private(&out.join("client.key"), cert.key_pem.as_bytes())?;
    liaison_identity::identity::write_public(&out.join("client.crt"), cert.cert_pem.as_bytes())?;
    super::rotate::register_issued(dir, &cert.cert_der, &cert.cert_pem)?;
    // The node's certificate, for clients that pin it or use it as their root.
    std::fs::create_dir_all(out)?;
    std::fs::copy(dir.tls_cert(), out.join("node.crt")).context("copying the node certificate")?;
    Ok(liaison_identity::identity::cert_pin(&cert.cert_der))
}

async fn revoke_client(
    dir: &NodeDir,
    cert: Option<PathBuf>,
    sha256: Option<String>,
    json: bool,
) -> Result<()> {
    let cert_sha256 = match (cert, sha256) {
        (Some(path), _) => {
            liaison_identity::identity::cert_pin(&liaison_identity::identity::read_pem_cert(&path)?)
        }
        (None, Some(hex)) => hex,
        (None, None) => bail!("give --cert PATH or --sha256 HEX"),
    };
    let client = NodeClient::for_dir(dir).await?;
    let request = proto::RevokeClientRequest {
        cert_sha256: cert_sha256.clone(),
    };
    let already_revoked = client
        .admin()
        .revoke_client(request)
        .await
        .map_err(status_error)?
        .into_inner()
        .already_revoked;
    if json {
        return output::print_json(&proto::ClientRevoked {
            cert_sha256,
            already_revoked,
        });
    }
    match already_revoked {
        // A no-op, not a failure: the certificate is refused either way.
        true => out!("Client certificate {cert_sha256} was already revoked; nothing changed."),
        false => out!(
            "Revoked client certificate {cert_sha256}: refused from the next handshake and call."
        ),
    }
    Ok(())
}

async fn publish(dir: &NodeDir, args: PublishArgs) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    let handling = args
        .handling
        .iter()
        .map(|&h| liaison_core::record::handling_to_wire(h) as i32)
        .collect();
    let request = proto::PublishRequest {
        source: args.source,
        first_seen_unix_ms: args.first_seen.unwrap_or(0),
        kind: i32::from(args.kind.code()),
        value: args.value,
        default_country: args.country.unwrap_or_default(),
        labels: args.labels.iter().map(|l| l.to_string()).collect(),
        tlp: liaison_core::record::tlp_to_wire(args.tlp) as i32,
        handling,
        handling_note: args.handling_note,
        evaluation: args.evaluation.unwrap_or_default(),
        valid_days: args.valid_days.unwrap_or(0),
        description: args.description,
        case_reference: args.case_reference,
        recipients: super::ids::resolve_all(&client, "--recipient", &args.recipients).await?,
        supersedes: args.supersedes.unwrap_or_default(),
        valid_until_unix_ms: 0,
        strict: args.strict,
    };
    let response = client
        .analyst()
        .publish(request)
        .await
        .map_err(status_error)?
        .into_inner();
    match args.json {
        true => output::print_json(&response)?,
        false => output::print_published(&response),
    }
    Ok(())
}

async fn search(dir: &NodeDir, args: SearchArgs) -> Result<()> {
    let request = proto::SearchRequest {
        value: args.value,
        kind: args.kind.map(|k| i32::from(k.code())).unwrap_or(0),
        default_country: args.country.unwrap_or_default(),
        federated: args.federated,
        justification: args.justification,
        case_reference: args.case_reference,
        deadline_ms: args.deadline_ms,
    };
    let client = NodeClient::for_dir(dir).await?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    if super::search_live::live(args.federated, args.json, terminal) {
        return super::search_live::print_streamed(&client, request).await;
    }
    let response = client
        .analyst()
        .search(request)
        .await
        .map_err(status_error)?
        .into_inner();
    match args.json {
        true => output::print_json(&response)?,
        false => output::print_search(&response),
    }
    Ok(())
}

async fn revoke(dir: &NodeDir, record_id: String, reason: String, json: bool) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    let request = proto::RevokeRequest {
        record_id: record_id.clone(),
        reason,
    };
    let response = client
        .analyst()
        .revoke(request)
        .await
        .map_err(status_error)?
        .into_inner();
    if json {
        return output::print_json(&response);
    }
    out!(
        "Revoked {record_id}; the revocation {} travels to every partner that may hold it.",
        response.revocation_id
    );
    Ok(())
}

async fn sight(
    dir: &NodeDir,
    record_id: String,
    note: String,
    kind: liaison_core::record::SightingType,
    json: bool,
) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    let request = proto::SightRequest {
        record_id: record_id.clone(),
        note,
        r#type: kind.as_str().to_string(),
    };
    let response = client
        .analyst()
        .sight(request)
        .await
        .map_err(status_error)?
        .into_inner();
    if json {
        return output::print_json(&response);
    }
    out!(
        "Recorded a {kind} sighting of {record_id} as record {}.",
        response.sighting_id
    );
    Ok(())
}

async fn get(dir: &NodeDir, record_id: String, json: bool) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    let view = client
        .analyst()
        .get(proto::GetRequest { record_id })
        .await
        .map_err(status_error)?
        .into_inner();
    match json {
        true => output::print_json(&view)?,
        false => output::print_record(&view),
    }
    Ok(())
}

async fn identity(dir: &NodeDir, command: IdentityCommand) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    match command {
        IdentityCommand::Show { json } => {
            let info = client
                .admin()
                .show_identity(proto::ShowIdentityRequest {})
                .await
                .map_err(status_error)?
                .into_inner();
            match json {
                true => output::print_json(&info)?,
                false => output::print_identity(&info),
            }
        }
        IdentityCommand::Renewal(command) => super::rotate::run(dir, command).await?,
        IdentityCommand::Export { out, json } => {
            let response = client
                .admin()
                .export_identity(proto::ExportIdentityRequest {})
                .await
                .map_err(status_error)?
                .into_inner();
            let bundle = Bundle::from_signed(&response.bundle)?;
            write_new_file(&out, bundle.to_pem().as_bytes())?;
            if json {
                return output::print_json(&proto::IdentityExported {
                    out: out.display().to_string(),
                    name: bundle.name.clone(),
                    node_id: bundle.node_id.to_hex(),
                    fingerprint: bundle.fingerprint(),
                });
            }
            out!(
                "Wrote the enrollment bundle of {:?} to {}",
                bundle.name,
                out.display()
            );
            out!(
                "Fingerprint to read to the partner: {}",
                bundle.fingerprint()
            );
        }
    }
    Ok(())
}

fn write_new_file(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}
