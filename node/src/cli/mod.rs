//! The `liaison` command line: node lifecycle (init, run), certificates, and the
//! analyst/admin commands, which are gRPC calls to the running node with the
//! admin certificate from the node directory (the CLI never opens the database
//! behind a running node's back).

mod audit;
mod commands;
mod export;
mod import;
mod output;
mod records;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "liaison",
    version,
    about = "Federated, signed indicator sharing between law-enforcement agencies"
)]
pub struct Cli {
    /// The node directory (keys, certificates, config, database).
    #[arg(long, global = true, env = "LIAISON_DIR")]
    pub dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a node: signing key, TLS certificate, local CA, admin certificate, config, database.
    Init {
        /// The agency's name, as partners will see it.
        #[arg(long)]
        name: String,
        /// Address to listen on, e.g. 0.0.0.0:7400.
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: String,
        /// Address partners use to reach this node (repeatable); defaults to --listen.
        #[arg(long = "endpoint")]
        endpoints: Vec<String>,
        /// Country for phone numbers in national format (ISO 3166 alpha-2).
        #[arg(long, default_value = "")]
        country: String,
    },
    /// Serve the node until SIGINT/SIGTERM.
    Run,
    /// Client certificates for the agency's analysts, admins and tools.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Sign and publish an indicator.
    Publish(Box<PublishArgs>),
    /// Search the node's records for a value (and, with --federated, every enrolled partner's).
    Search(Box<SearchArgs>),
    /// Withdraw one of this agency's records everywhere it travelled.
    Revoke {
        record_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Record that this agency saw an indicator too.
    Sight {
        record_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Import indicators from a CSV, MISP or STIX 2.1 file into the running node, as
    /// records signed by this agency (progress, summary, rejects file).
    Import(Box<import::ImportArgs>),
    /// List what the node holds (live indicators, own and partners'), newest first.
    List(Box<records::ListArgs>),
    /// Show one record by id.
    Get {
        record_id: String,
        #[arg(long)]
        json: bool,
    },
    /// This node's identity and enrollment bundle.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Enroll, list and revoke partner agencies.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// The audit log: verify, list, per-partner report, export, signed log heads.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Run a three-agency federation on loopback and show it working.
    Demo,
    /// Measure signing, verification, publish and search on this machine.
    Bench(crate::bench::BenchArgs),
    /// Write the node's indicators to a STIX 2.1 bundle, a MISP event or CSV.
    Export(Box<export::ExportArgs>),
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Issue a client certificate and key (offline, with the local CA in --dir).
    Issue {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: crate::identity::Role,
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a client certificate (a lost laptop, a departed analyst), by its file
    /// or by the SHA-256 that `client issue` printed. Needs the node running.
    Revoke {
        #[arg(long, conflicts_with = "sha256", required_unless_present = "sha256")]
        cert: Option<PathBuf>,
        #[arg(long)]
        sha256: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    #[arg(long)]
    pub kind: String,
    #[arg(long)]
    pub value: String,
    #[arg(long, default_value = "green")]
    pub tlp: String,
    /// Crime-area label (repeatable).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// 4x4 evaluation, e.g. B2.
    #[arg(long)]
    pub evaluation: Option<String>,
    /// Handling code H0-H3 (repeatable).
    #[arg(long = "handling")]
    pub handling: Vec<String>,
    /// The H3 restriction text.
    #[arg(long, default_value = "")]
    pub handling_note: String,
    #[arg(long)]
    pub valid_days: Option<u32>,
    #[arg(long, default_value = "")]
    pub description: String,
    #[arg(long = "case", default_value = "")]
    pub case_reference: String,
    /// Node id of a RED record's recipient (repeatable).
    #[arg(long = "recipient")]
    pub recipients: Vec<String>,
    #[arg(long)]
    pub supersedes: Option<String>,
    /// Country for a phone number in national format.
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    pub value: String,
    #[arg(long)]
    pub kind: Option<String>,
    /// Country for a phone number in national format.
    #[arg(long)]
    pub country: Option<String>,
    /// Also ask every enrolled partner, in parallel.
    #[arg(long)]
    pub federated: bool,
    /// Why you search (sent to partners, who log it).
    #[arg(long, default_value = "")]
    pub justification: String,
    #[arg(long = "case", default_value = "")]
    pub case_reference: String,
    /// Federated deadline in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub deadline_ms: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum IdentityCommand {
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Write the signed enrollment bundle for partners.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum PartnerCommand {
    /// Enroll a partner from its bundle, after comparing fingerprints.
    Add {
        bundle: PathBuf,
        /// Highest marking the partner may receive: clear, green, amber, amber+strict, red.
        #[arg(long)]
        max_tlp: String,
        /// Relay rights in both directions (see docs/PROTOCOL.md).
        #[arg(long)]
        relay: bool,
        /// Skip the interactive fingerprint confirmation (scripts).
        #[arg(long)]
        yes: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a partner: its open streams end and new connections fail.
    Revoke { node_id: String },
    /// Refuse from now on the records of an origin known via a relay.
    Block { node_id: String },
}

/// Parses arguments and runs the command; the binary's whole `main`.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", crate::untrusted::escape(&format!("{e:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(command: &Command) {
    let default = match command {
        Command::Run => "info",
        // Their throwaway nodes are revoked and stopped on purpose: the warnings
        // that would cause are expected, and would break up the walk-through.
        Command::Demo | Command::Bench(_) => "error",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIAISON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
