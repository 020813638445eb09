//! The `liaison` command line: node lifecycle (init, run), certificates, and the
//! analyst/admin commands, which are gRPC calls to the running node with the
//! admin certificate from the node directory (the CLI never opens the database
//! behind a running node's back).

pub(crate) mod audit;
mod backup;
mod bulletin;
pub(crate) mod commands;
mod doctor;
pub(crate) mod export;
pub(crate) mod ids;
mod import;
pub mod importer;
pub mod logging;
mod lookup;
mod migrate;
pub(crate) mod output;
mod partner;
pub(crate) mod records;
mod reference;
mod rotate;
mod search_live;
pub(crate) mod status;
mod warninglist;

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use liaison_core::indicator::Kind;
use liaison_core::record::{HandlingCode, Label, Tlp};

#[derive(Parser, Debug)]
#[command(
    name = "liaison",
    version = version_line(),
    about = "Federated, signed indicator sharing between law-enforcement agencies"
)]
pub struct Cli {
    /// The node directory (keys, certificates, config, database).
    #[arg(long, global = true, env = "LIAISON_DIR")]
    pub dir: Option<PathBuf>,
    /// How log lines on stderr look: text (colour only on a terminal without
    /// NO_COLOR) or json (one object per line, for log shippers).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "LIAISON_LOG_FORMAT"
    )]
    pub log_format: logging::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// What `liaison --version` prints after the name: the release, the commit it
/// was built from (build.rs), and the wire and store versions it speaks.
pub fn version_line() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| {
        format!(
            "{} (commit {}, protocol {}, store layout {})",
            env!("CARGO_PKG_VERSION"),
            env!("LIAISON_GIT_COMMIT"),
            liaison_proto::PROTOCOL_VERSION,
            liaison_store::store::STORE_LAYOUT_VERSION,
        )
    })
}

/// The whole command tree (for completions, the man page and the help test).
pub fn command() -> clap::Command {
    Cli::command()
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
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Serve the node until SIGINT/SIGTERM.
    Run(RunArgs),
    /// Client certificates for the agency's analysts, admins and tools.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Sign and publish an indicator.
    Publish(Box<PublishArgs>),
    /// Search the node's records for a value (and, with --federated, every enrolled partner's).
    Search(Box<SearchArgs>),
    /// Ask every partner privately whether it holds a value (hit / no hit),
    /// without sending the value (VOPRF and signed filters).
    Lookup(Box<lookup::LookupArgs>),
    /// Withdraw one of this agency's records everywhere it travelled.
    Revoke {
        /// The record to withdraw: an indicator or a bulletin (its 64-hex id, as
        /// `publish`, `list` and `bulletin list` print).
        record_id: String,
        /// Why it is withdrawn; travels with the signed revocation to every partner.
        #[arg(long)]
        reason: String,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Record that this agency saw an indicator too.
    Sight {
        /// The record seen (its 64-hex id; any agency's record).
        record_id: String,
        /// Free text about the sighting (where, when), signed with it.
        #[arg(long, default_value = "")]
        note: String,
        /// What the sighting asserts: seen (strengthens the record), false-positive
        /// (it is wrong; the origin is told) or expired (no longer in use).
        #[arg(long = "type", value_enum, default_value = "seen")]
        kind: liaison_core::record::SightingType,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Import indicators from a CSV, MISP or STIX 2.1 file into the running node, as
    /// records signed by this agency (progress, summary, rejects file).
    Import(Box<import::ImportArgs>),
    /// List what the node holds (live indicators, own and partners'), newest first.
    List(Box<records::ListArgs>),
    /// Show one record by id.
    Get {
        /// The record's 64-hex id.
        record_id: String,
        /// Print the record as one JSON object instead of text.
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
    Demo(crate::demo::DemoArgs),
    /// Measure signing, verification, publish and search on this machine.
    Bench(crate::bench::BenchArgs),
    /// Write the node's indicators to a STIX 2.1 bundle, a MISP event or CSV.
    Export(Box<export::ExportArgs>),
    /// Print a shell completion script (e.g. `liaison completions bash > /etc/bash_completion.d/liaison`).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man page (roff): to stdout, or with --out into a directory as liaison.1
    /// and one page per subcommand (liaison-publish.1 …).
    Man {
        /// Directory to write the pages into (created if missing).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a consistent backup file (database, cursors, partners, audit log,
    /// config, certificates; keys only with --include-keys, encrypted), whether
    /// the node runs or not.
    Backup(Box<backup::BackupArgs>),
    /// Rebuild a node in a new --dir from a backup file; it resumes sync from its cursors.
    Restore(Box<backup::RestoreArgs>),
    /// Move the database to the store layout this build writes (`run` does it
    /// too): resumable after a kill, with progress. Take a backup first.
    Migrate,
    /// Check permissions, certificate expiry, database, audit chain, partners'
    /// clocks and reachability; exits non-zero on any error.
    Doctor(doctor::DoctorArgs),
    /// This node's warninglists: values known to be harmless or shared, flagged
    /// at publish and in search results (add, list, remove, import MISP JSON).
    #[command(subcommand)]
    Warninglist(warninglist::WarninglistCommand),
    /// The analyst console: search, record view and publish in a browser, served
    /// on loopback and calling the node with your certificate (--client DIR
    /// --node HOST:PORT) or --dir's admin certificate.
    Console(Box<crate::console::ConsoleArgs>),
    /// Signed bulletins grouping indicators into a case or campaign (publish,
    /// list, show); partners see only the members they may receive.
    #[command(subcommand)]
    Bulletin(bulletin::BulletinCommand),
}

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Serve Prometheus metrics over plain HTTP on this address, e.g. 127.0.0.1:9464
    /// (overrides `[metrics] listen` in config.toml). Bind it to loopback or a
    /// monitoring network only: it has no TLS and no authentication.
    #[arg(long, value_name = "ADDRESS")]
    pub metrics_listen: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Issue a client certificate and key (offline, with the local CA in --dir).
    Issue {
        /// Whom the certificate is for (a person or a tool); it appears in the audit log.
        #[arg(long)]
        name: String,
        /// What the holder may do.
        #[arg(long, value_enum, ignore_case = true)]
        role: liaison_identity::identity::Role,
        /// Directory to write client.crt, client.key and node.crt into.
        #[arg(long)]
        out: PathBuf,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client certificate (a lost laptop, a departed analyst), by its file
    /// or by the SHA-256 that `client issue` printed. Needs the node running.
    Revoke {
        /// The client certificate file (PEM) to revoke.
        #[arg(long, conflicts_with = "sha256", required_unless_present = "sha256")]
        cert: Option<PathBuf>,
        /// The certificate's SHA-256 (hex), as `client issue` printed it.
        #[arg(long)]
        sha256: Option<String>,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Reissue a client certificate under the same name and role (an expiring
    /// or lost one), offline, with the local CA in --dir.
    Renew(Box<rotate::RenewArgs>),
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// What the value is; it is normalised and checked for this kind.
    #[arg(long, value_enum, ignore_case = true)]
    pub kind: Kind,
    /// The indicator itself, e.g. "+44 7700 900123" or scam.example.org.
    #[arg(long)]
    pub value: String,
    /// TLP 2.0 marking: who may receive the record.
    #[arg(long, value_enum, ignore_case = true, default_value = "green")]
    pub tlp: Tlp,
    /// Crime-area label (repeatable).
    #[arg(long = "label", value_enum, ignore_case = true)]
    pub labels: Vec<Label>,
    /// 4x4 evaluation, e.g. B2.
    #[arg(long)]
    pub evaluation: Option<String>,
    /// Handling code (repeatable).
    #[arg(long = "handling", value_enum, ignore_case = true)]
    pub handling: Vec<HandlingCode>,
    /// The H3 restriction text.
    #[arg(long, default_value = "")]
    pub handling_note: String,
    /// Days the record stays valid (default: `default_valid_days` in config.toml).
    #[arg(long)]
    pub valid_days: Option<u32>,
    /// Free text for the receiving analyst, signed with the record.
    #[arg(long, default_value = "")]
    pub description: String,
    /// This agency's case reference, signed with the record.
    #[arg(long = "case", default_value = "")]
    pub case_reference: String,
    /// Node id (or a unique prefix of 8+ hex digits) of a RED record's recipient (repeatable).
    #[arg(long = "recipient")]
    pub recipients: Vec<String>,
    /// Id of this agency's earlier record that this one replaces.
    #[arg(long)]
    pub supersedes: Option<String>,
    /// Country for a phone number in national format.
    #[arg(long)]
    pub country: Option<String>,
    /// Who first reported the indicator, when not this agency (e.g. a vendor's
    /// name): signed with the record; one line, at most 200 characters.
    #[arg(long, default_value = "")]
    pub source: String,
    /// When the indicator was first seen: an RFC 3339 date or UTC date-time, not
    /// in the future. Signed with the record.
    #[arg(long, value_parser = first_seen_arg)]
    pub first_seen: Option<i64>,
    /// Print the result as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Refuse to publish a value that is on one of this node's warninglists
    /// (without it, the value is published and the warninglist named as a warning).
    #[arg(long)]
    pub strict: bool,
}

/// `--first-seen`: a date or date-time, in ms since the epoch.
fn first_seen_arg(text: &str) -> std::result::Result<i64, String> {
    liaison_core::formats::time::parse_ms(text)
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The value to look up, in any spelling the kind accepts.
    pub value: String,
    /// Read the value as this kind only (default: every kind it could be).
    #[arg(long, value_enum, ignore_case = true)]
    pub kind: Option<Kind>,
    /// Country for a phone number in national format.
    #[arg(long)]
    pub country: Option<String>,
    /// Also ask every enrolled partner, in parallel.
    #[arg(long)]
    pub federated: bool,
    /// Why you search (sent to partners, who log it). Required with --federated,
    /// unless the node's config.toml sets require_justification = false.
    #[arg(long, default_value = "")]
    pub justification: String,
    /// The case this search is for (sent to partners, who log it).
    #[arg(long = "case", default_value = "")]
    pub case_reference: String,
    /// Federated deadline in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub deadline_ms: u32,
    /// Print the answer as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum IdentityCommand {
    /// Name, node id, fingerprint, endpoints and record counts of this node.
    Show {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the signed enrollment bundle for partners.
    Export {
        /// The bundle file to create (it must not exist yet).
        #[arg(long)]
        out: PathBuf,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    #[command(flatten)]
    Renewal(rotate::RenewalCommand),
}

#[derive(Subcommand, Debug)]
pub enum PartnerCommand {
    /// Enroll a partner from its bundle, after comparing fingerprints.
    Add {
        /// The partner's enrollment bundle (from its `identity export`).
        bundle: PathBuf,
        /// Highest marking the partner may receive.
        #[arg(long, value_enum, ignore_case = true)]
        max_tlp: Tlp,
        /// Relay rights in both directions (see docs/PROTOCOL.md).
        #[arg(long)]
        relay: bool,
        /// What sort of partner: agency (full partner), ngo (CLEAR/GREEN only, no
        /// federated search) or platform (submit-only, held until endorsed).
        #[arg(long, value_enum, default_value = "agency")]
        kind: liaison_core::policy::PartnerKind,
        /// For a platform: the best evaluation its records are shown with, e.g. C3
        /// (default X4).
        #[arg(long, value_name = "EVALUATION")]
        max_evaluation: Option<String>,
        /// For scripts: the fingerprint the partner gave you (spaces, colons and case
        /// ignored); enrollment is refused if the bundle's differs. Replaces the
        /// interactive check.
        #[arg(long, value_name = "FINGERPRINT")]
        expect_fingerprint: Option<String>,
        /// Skip the interactive fingerprint confirmation without checking it
        /// (prefer --expect-fingerprint).
        #[arg(long)]
        yes: bool,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Enrolled partners (terms, connection, cursor, counts) and origins known via relays.
    List {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a partner: its open streams end and new connections fail.
    Revoke {
        /// The partner's node id, or a unique prefix of 8+ hex digits (as `partner list` prints).
        node_id: String,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Refuse from now on the records of an origin known via a relay.
    Block {
        /// The origin's node id, or a unique prefix of 8+ hex digits.
        node_id: String,
        /// Print the result as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Parses arguments and runs the command; the binary's whole `main`.
pub fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    logging::init(cli.log_format, default_log_level(&cli.command));
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
            eprintln!(
                "error: {}",
                liaison_core::untrusted::escape(&format!("{e:#}"))
            );
            match e.downcast_ref::<import::RowsRejected>() {
                Some(_) => std::process::ExitCode::from(import::REJECTED_EXIT),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}

/// Prints a command-line error as clap words it, but with every value the user
/// gave cut to [`liaison_core::untrusted::shorten`]'s length and escaped: a
/// 20,000-character `--label` gets a two-line error, not a 20 KB one.
fn usage_error(error: clap::Error) -> std::process::ExitCode {
    use clap::error::{ContextValue, ErrorKind};
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        error.exit();
    }
    let mut text = error.render().to_string();
    for (_, value) in error.context() {
        let given: Vec<&String> = match value {
            ContextValue::String(s) => vec![s],
            ContextValue::Strings(list) => list.iter().collect(),
            _ => continue,
        };
        for given in given {
            let short = liaison_core::untrusted::shorten(given);
            if short.len() < given.len() {
                text = text.replace(given.as_str(), &short);
            }
        }
    }
    eprint!("{}", liaison_core::untrusted::escape(&text));
    std::process::ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

fn default_log_level(command: &Command) -> &'static str {
    match command {
        Command::Run(_) => "info",
        // Their throwaway nodes are revoked and stopped on purpose: the warnings
        // that would cause are expected, and would break up the walk-through.
        Command::Demo(_) | Command::Bench(_) => "error",
        Command::Console(_) => "info",
        _ => "warn",
    }
}
