//! `liaison import`: a CSV file, a MISP event export (file or feed directory) or
//! a STIX 2.1 bundle, streamed into the running node through
//! `Analyst.PublishBatch`, with progress and a summary.
//!
//! A reader thread parses the file (bounded channel: memory stays bounded
//! whatever the file size); the items go to the node in chunks, and each answer
//! is matched back to the rows it came from. Every row ends up counted as
//! imported, already present, rejected or skipped; each rejected or skipped row
//! is written to `--rejects` with its location and reason, and every field or
//! tag the records do not carry is counted (the readers list them, see
//! `liaison_core::formats::loss`). Nothing is dropped silently. The node, not
//! this command, normalises, validates and signs.
//!
//! Exit status: 0 when the file was read to its end (rows rejected or skipped
//! are counted, not failures); 1 when the file itself could not be read (an
//! [`Entry::Fatal`]: not the format, empty, an unknown CSV column, truncated),
//! after the summary; [`REJECTED_EXIT`] with `--fail-on-reject` when any row
//! was rejected.

use std::collections::VecDeque;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::formats::{
    self, Entry, Format, ImportItem, Location, NotCarried, ReadOptions, RowError, Validity,
};
use liaison_core::proto;
use liaison_identity::identity::NodeDir;

/// Items per `PublishBatchRequest` (the node accepts at most 1,000).
const CHUNK: usize = 500;
/// Chunks sent and not yet answered: enough that the node always has the next
/// chunk to prepare while it writes one (issue 26), few enough that the node's
/// pace still sets ours and memory stays bounded.
const WINDOW: usize = 4;
/// Entries buffered between the reader thread and the sender.
const ENTRY_QUEUE: usize = 2 * CHUNK;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file to import: CSV (docs/INTEROP.md lists the columns), a MISP event JSON
    /// export, a STIX 2.1 bundle, or a MISP feed directory (with manifest.json).
    pub file: PathBuf,
    /// The file's format; guessed from the content when omitted.
    #[arg(long, value_enum, ignore_case = true)]
    pub format: Option<Format>,
    /// Marking for rows that carry none (amber by default: the careful choice for
    /// data whose marking is unknown).
    #[arg(long, value_enum, ignore_case = true, default_value = "amber")]
    pub tlp: liaison_core::record::Tlp,
    /// Crime-area label added to every row (repeatable).
    #[arg(long = "label", value_enum, ignore_case = true)]
    pub labels: Vec<liaison_core::record::Label>,
    /// Country (ISO 3166 alpha-2) for phone numbers in national format and MISP bank
    /// accounts, in rows that name none.
    #[arg(long)]
    pub default_country: Option<String>,
    /// Case reference for rows that carry none.
    #[arg(long = "case")]
    pub case_reference: Option<String>,
    /// Read every row and check its value and labels here; send and store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write every rejected or skipped row here (tab-separated: location, field, reason).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Print the summary as JSON: {"imported", "already_present", "rejected", "skipped",
    /// "warninglisted", "warnings": [{"location", "value", "warninglists"}], "not_carried":
    /// [{"field", "count", "example"}], "file_error", ...}.
    #[arg(long)]
    pub json: bool,
    /// Refuse rows whose value is on one of this node's warninglists (without it,
    /// they are imported and counted and listed as warnings).
    #[arg(long)]
    pub strict: bool,
    /// Exit with status 3 when any row was rejected (without it, rejected rows
    /// are counted and the exit status is 0), for scripts that must not go on.
    #[arg(long)]
    pub fail_on_reject: bool,
}

/// The exit status of `--fail-on-reject` when rows were rejected: apart from 1
/// (the file could not be read, or the node not reached).
pub const REJECTED_EXIT: u8 = 3;

/// `--fail-on-reject` and rows were rejected: `main` exits with [`REJECTED_EXIT`].
#[derive(Debug)]
pub struct RowsRejected(pub u64);

impl std::fmt::Display for RowsRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} row(s) were rejected (--fail-on-reject); see the summary",
            self.0
        )
    }
}

impl std::error::Error for RowsRejected {}

/// Warninglisted rows listed in the summary at most (the count is always exact).
const MAX_WARNINGS: usize = 1_000;
/// Warninglisted rows shown in the plain-text summary.
const SHOWN_WARNINGS: usize = 5;

/// A row imported although its value is on a warninglist.
struct Warned {
    location: String,
    value: String,
    warninglists: Vec<String>,
}

/// What became of the rows.
#[derive(Default)]
struct Tally {
    imported: u64,
    already_present: u64,
    rejected: u64,
    skipped: u64,
    /// Imported or already present rows whose value is warninglisted.
    warninglisted: u64,
    warnings: Vec<Warned>,
    /// What the rows read did not carry.
    not_carried: NotCarried,
    /// The first file-level problem of each file that had one.
    file_errors: Vec<String>,
    /// Rows whose value the reader normalised (e.g. a scheme-less MISP url
    /// read as http://), and the first one: location and what was done.
    normalised: u64,
    normalised_example: Option<(String, String)>,
}

impl Tally {
    fn rows(&self) -> u64 {
        self.imported + self.already_present + self.rejected + self.skipped
    }

    /// Counts an item the reader normalised.
    fn note(&mut self, item: &liaison_core::formats::ImportItem) {
        if let Some(first) = item.notes.first() {
            self.normalised += 1;
            self.normalised_example
                .get_or_insert_with(|| (item.location.to_string(), first.clone()));
        }
    }
}

pub async fn import(dir: &NodeDir, args: ImportArgs) -> Result<()> {
    let format = resolve_format(&args.file, args.format)?;
    let defaults = Defaults::from_args(&args)?;
    let (files, total_bytes) = input_files(&args.file, format)?;
    let mut rejects = Rejects::open(args.rejects.as_deref())?;
    let read_bytes = Arc::new(AtomicU64::new(0));
    let entries = spawn_reader(files, format, defaults.read_options(), read_bytes.clone());
    let progress = Progress::start(total_bytes, read_bytes);
    let started = Instant::now();
    let tally = match args.dry_run {
        true => check_only(entries, &defaults, &mut rejects, &progress).await?,
        false => {
            let client = NodeClient::for_dir(dir).await?;
            send(client, entries, &defaults, &mut rejects, &progress).await?
        }
    };
    progress.finish();
    rejects.finish()?;
    report(&args, format, &tally, started.elapsed())?;
    if !tally.file_errors.is_empty() {
        bail!("{}: {}", args.file.display(), tally.file_errors.join("; "));
    }
    if args.fail_on_reject && tally.rejected > 0 {
        return Err(RowsRejected(tally.rejected).into());
    }
    Ok(())
}

fn resolve_format(path: &Path, given: Option<Format>) -> Result<Format> {
    if let Some(given) = given {
        return Ok(given);
    }
    if path.is_dir() {
        return Ok(Format::Misp);
    }
    let mut head = vec![0; 8192];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let n = file
        .read(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    match formats::sniff(&head[..n]) {
        Some(format) => Ok(format),
        None => bail!(
            "cannot tell whether {} is CSV, MISP or STIX; give --format csv|misp|stix",
            path.display()
        ),
    }
}

/// The files to read (a MISP feed directory names several) and their total size.
fn input_files(path: &Path, format: Format) -> Result<(Vec<PathBuf>, u64)> {
    let files = match path.is_dir() {
        true if format == Format::Misp => formats::misp::feed_files(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        true => bail!("{} is a directory; only a MISP feed may be", path.display()),
        false => vec![path.to_path_buf()],
    };
    let mut total = 0;
    for file in &files {
        total += std::fs::metadata(file)
            .with_context(|| format!("cannot read {}", file.display()))?
            .len();
    }
    Ok((files, total))
}

/// What the command line sets for rows that do not say.
struct Defaults {
    tlp: i32,
    labels: Vec<String>,
    country: String,
    case_reference: String,
    strict: bool,
}

impl Defaults {
    fn from_args(args: &ImportArgs) -> Result<Defaults> {
        Ok(Defaults {
            tlp: liaison_core::record::tlp_to_wire(args.tlp) as i32,
            labels: args.labels.iter().map(|l| l.to_string()).collect(),
            country: args.default_country.clone().unwrap_or_default(),
            case_reference: args.case_reference.clone().unwrap_or_default(),
            strict: args.strict,
        })
    }

    fn read_options(&self) -> ReadOptions {
        ReadOptions {
            default_country: Some(self.country.clone()).filter(|c| !c.is_empty()),
        }
    }

    /// The publish request for one row.
    fn request(&self, mut item: ImportItem) -> proto::PublishRequest {
        item.first_seen_not_after(liaison_core::now_ms());
        let mut labels: Vec<String> = item.labels.iter().map(|l| l.as_str().to_string()).collect();
        labels.extend(self.labels.iter().cloned());
        let (valid_days, valid_until_unix_ms) = match item.validity {
            Some(Validity::Days(days)) => (days, 0),
            Some(Validity::UntilMs(ms)) => (0, ms),
            None => (0, 0),
        };
        proto::PublishRequest {
            source: item.source,
            first_seen_unix_ms: item.first_seen_ms.unwrap_or(0),
            kind: i32::from(item.kind.code()),
            value: item.value,
            default_country: item.default_country.unwrap_or_else(|| self.country.clone()),
            labels,
            tlp: item
                .tlp
                .map(|t| liaison_core::record::tlp_to_wire(t) as i32)
                .unwrap_or(self.tlp),
            handling: item
                .handling
                .iter()
                .map(|&h| liaison_core::record::handling_to_wire(h) as i32)
                .collect(),
            handling_note: item.handling_note,
            evaluation: item.evaluation.map(|e| e.to_string()).unwrap_or_default(),
            valid_days,
            description: item.description,
            case_reference: match item.case_reference.is_empty() {
                true => self.case_reference.clone(),
                false => item.case_reference,
            },
            recipients: Vec::new(),
            supersedes: String::new(),
            strict: self.strict,
            valid_until_unix_ms,
        }
    }
}

/// Reads every file on its own thread; entries arrive in file order.
fn spawn_reader(
    files: Vec<PathBuf>,
    format: Format,
    options: ReadOptions,
    read_bytes: Arc<AtomicU64>,
) -> mpsc::Receiver<Entry> {
    let (tx, rx) = mpsc::channel(ENTRY_QUEUE);
    std::thread::spawn(move || {
        for path in files {
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) => {
                    let error = formats::RowError::new(
                        Location::File,
                        path.display().to_string(),
                        format!("cannot open: {e}"),
                    );
                    let _ = tx.blocking_send(Entry::Fatal(error));
                    continue;
                }
            };
            let input = Counting {
                inner: std::io::BufReader::with_capacity(1 << 16, file),
                read: read_bytes.clone(),
            };
            let entries: Box<dyn Iterator<Item = Entry>> = match format {
                Format::Csv => Box::new(formats::csv::read(input)),
                Format::Misp => Box::new(formats::misp::read(input, options.clone())),
                Format::Stix => Box::new(formats::stix::read(input)),
            };
            for entry in entries {
                if tx.blocking_send(entry).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Streams the items to the node and matches each answer to its rows.
async fn send(
    client: NodeClient,
    mut entries: mpsc::Receiver<Entry>,
    defaults: &Defaults,
    rejects: &mut Rejects,
    progress: &Progress,
) -> Result<Tally> {
    let (requests, outgoing) = mpsc::channel::<proto::PublishBatchRequest>(WINDOW);
    let mut answers = client
        .analyst()
        .publish_batch(ReceiverStream::new(outgoing))
        .await
        .map_err(status_error)?
        .into_inner();
    let mut tally = Tally::default();
    let mut in_flight: VecDeque<Vec<Location>> = VecDeque::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut locations = Vec::with_capacity(CHUNK);
    let mut reading = true;
    let mut requests = Some(requests);
    while reading || !in_flight.is_empty() {
        let can_send = in_flight.len() < WINDOW;
        tokio::select! {
            entry = entries.recv(), if reading && can_send => match entry {
                Some(Entry::Item(item)) => {
                    tally.not_carried.add_all(&item.not_carried);
                    tally.note(&item);
                    locations.push(item.location.clone());
                    chunk.push(defaults.request(item));
                }
                Some(other) => tally.read_problem(other, rejects)?,
                None => reading = false,
            },
            answer = answers.message(), if !in_flight.is_empty() => {
                let answer = answer.map_err(status_error)?.context("the node ended the import stream early")?;
                let rows = in_flight.pop_front().unwrap_or_default();
                settle(&answer, &rows, &mut tally, rejects)?;
                progress.show(&tally);
            }
        }
        if chunk.len() == CHUNK || (!reading && !chunk.is_empty()) {
            let items = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            in_flight.push_back(std::mem::take(&mut locations));
            if let Some(requests) = &requests {
                requests
                    .send(proto::PublishBatchRequest { items })
                    .await
                    .context("the node closed the import stream")?;
            }
        }
        if !reading && chunk.is_empty() {
            requests = None; // end of our side of the stream
        }
    }
    Ok(tally)
}

/// Counts one chunk's answers and writes its refused rows to the rejects file.
fn settle(
    answer: &proto::PublishBatchResponse,
    rows: &[Location],
    tally: &mut Tally,
    rejects: &mut Rejects,
) -> Result<()> {
    if answer.results.len() != rows.len() {
        bail!(
            "the node answered {} items for a chunk of {}",
            answer.results.len(),
            rows.len()
        );
    }
    for (result, location) in answer.results.iter().zip(rows) {
        if !result.error.is_empty() {
            tally.rejected += 1;
            rejects.write(location, &result.error_field, &result.error)?;
            continue;
        } else if result.already_present {
            tally.already_present += 1;
        } else {
            tally.imported += 1;
        }
        if !result.warninglists.is_empty() {
            tally.warn(location, result);
        }
    }
    Ok(())
}

impl Tally {
    /// Counts an entry that is not an item: a rejected row, a skipped row, or
    /// the file-level problem that ended a file's read.
    fn read_problem(&mut self, entry: Entry, rejects: &mut Rejects) -> Result<()> {
        match entry {
            Entry::Item(_) => {}
            Entry::Error(error) => {
                self.rejected += 1;
                rejects.write(&error.location, &error.field, &error.reason)?;
            }
            Entry::Skipped(skipped) => {
                self.skipped += 1;
                rejects.write(&skipped.location, "skipped", &skipped.what)?;
            }
            Entry::Fatal(error) => {
                rejects.write(&error.location, &error.field, &error.reason)?;
                self.file_errors.push(file_error(&error));
            }
        }
        Ok(())
    }

    fn warn(&mut self, location: &Location, result: &proto::PublishResult) {
        self.warninglisted += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(Warned {
                location: location.to_string(),
                value: result.normalized_value.clone(),
                warninglists: result.warninglists.clone(),
            });
        }
    }
}

/// `--dry-run`: every row normalised and its markings checked here, nothing sent.
async fn check_only(
    mut entries: mpsc::Receiver<Entry>,
    defaults: &Defaults,
    rejects: &mut Rejects,
    progress: &Progress,
) -> Result<Tally> {
    let mut tally = Tally::default();
    while let Some(entry) = entries.recv().await {
        match entry {
            Entry::Item(item) => {
                tally.not_carried.add_all(&item.not_carried);
                tally.note(&item);
                let location = item.location.clone();
                match check_locally(defaults.request(item)) {
                    Ok(()) => tally.imported += 1,
                    Err((field, reason)) => {
                        tally.rejected += 1;
                        rejects.write(&location, &field, &reason)?;
                    }
                }
            }
            other => tally.read_problem(other, rejects)?,
        }
        if tally.rows() % 1000 == 0 {
            progress.show(&tally);
        }
    }
    Ok(tally)
}

/// A file-level problem as the error names it: where, what, and that the rest
/// of the file was not read.
fn file_error(error: &RowError) -> String {
    let place = match error.location {
        Location::File => String::new(),
        ref at => format!(" at {at}"),
    };
    format!(
        "the file cannot be read{place}: {}: {}; nothing after it was imported",
        error.field, error.reason
    )
}

/// The checks that need no node: the value normalises, the labels are known.
fn check_locally(request: proto::PublishRequest) -> std::result::Result<(), (String, String)> {
    let kind = u8::try_from(request.kind)
        .ok()
        .and_then(liaison_core::indicator::Kind::from_code)
        .ok_or_else(|| ("kind".to_string(), "unknown kind".to_string()))?;
    let context = liaison_core::indicator::Context {
        default_country: Some(request.default_country).filter(|c| !c.is_empty()),
    };
    liaison_core::indicator::normalize(kind, &request.value, &context)
        .map_err(|e| (e.field().to_string(), e.to_string()))?;
    for label in &request.labels {
        label
            .parse::<liaison_core::record::Label>()
            .map_err(|e| ("labels".to_string(), e.to_string()))?;
    }
    Ok(())
}

/// The rejects file: one tab-separated line per refused or skipped row.
struct Rejects {
    out: Option<std::io::BufWriter<std::fs::File>>,
}

impl Rejects {
    fn open(path: Option<&Path>) -> Result<Rejects> {
        let out = match path {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                let mut out = std::io::BufWriter::new(file);
                writeln!(out, "location\tfield\treason")?;
                Some(out)
            }
            None => None,
        };
        Ok(Rejects { out })
    }

    fn write(&mut self, location: &Location, field: &str, reason: &str) -> Result<()> {
        if let Some(out) = &mut self.out {
            let clean = |text: &str| text.replace(['\t', '\n', '\r'], " ");
            writeln!(
                out,
                "{}\t{}\t{}",
                clean(&location.to_string()),
                clean(field),
                clean(reason)
            )?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        if let Some(mut out) = self.out {
            out.flush()?;
        }
        Ok(())
    }
}

/// A progress bar with rate and ETA on a terminal; a plain line every few
/// seconds otherwise (logs, CI).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    read: Arc<AtomicU64>,
    started: Instant,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    fn start(total: u64, read: Arc<AtomicU64>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            total,
            read,
            started: Instant::now(),
            last_line: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn show(&self, tally: &Tally) {
        let read = self.read.load(Ordering::Relaxed);
        let summary = format!(
            "{} imported, {} already present, {} rejected, {} skipped",
            tally.imported, tally.already_present, tally.rejected, tally.skipped
        );
        if let Some(bar) = &self.bar {
            bar.set_position(read);
            bar.set_message(summary);
            return;
        }
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        if last.elapsed() >= Duration::from_secs(5) {
            *last = Instant::now();
            let seconds = self.started.elapsed().as_secs_f64().max(0.001);
            let percent = (read as f64 * 100.0 / self.total.max(1) as f64).min(100.0);
            eprintln!(
                "import: {percent:.0}% read, {} rows, {:.0} rows/s; {summary}",
                tally.rows(),
                tally.rows() as f64 / seconds
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn report(args: &ImportArgs, format: Format, tally: &Tally, elapsed: Duration) -> Result<()> {
    let seconds = elapsed.as_secs_f64();
    let rate = tally.rows() as f64 / seconds.max(0.001);
    if args.json {
        return super::output::print_json(&liaison_core::proto::ImportSummary {
            imported: tally.imported,
            already_present: tally.already_present,
            rejected: tally.rejected,
            skipped: tally.skipped,
            rows: tally.rows(),
            format: format.as_str().to_string(),
            dry_run: args.dry_run,
            seconds: (seconds * 1000.0).round() / 1000.0,
            rows_per_second: rate.round(),
            rejects: args
                .rejects
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            warninglisted: tally.warninglisted,
            warnings: tally
                .warnings
                .iter()
                .map(|w| liaison_core::proto::ImportWarning {
                    location: w.location.clone(),
                    value: w.value.clone(),
                    warninglists: w.warninglists.clone(),
                })
                .collect(),
            not_carried: tally
                .not_carried
                .iter()
                .map(
                    |(kind, count, example)| liaison_core::proto::ImportNotCarried {
                        field: kind.as_str().to_string(),
                        description: kind.describe().to_string(),
                        count,
                        example: example.to_string(),
                    },
                )
                .collect(),
            file_error: tally.file_errors.join("; "),
        });
    }
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    out!(
        "{} ({format}): {verb} {}, already present {}, rejected {}, skipped {} — {} rows in {seconds:.1} s ({rate:.0} rows/s)",
        args.file.display(),
        tally.imported,
        tally.already_present,
        tally.rejected,
        tally.skipped,
        tally.rows()
    );
    if tally.warninglisted > 0 {
        out!(
            "warning: {} imported row(s) are on this node's warninglists (known harmless or shared; --strict refuses them), e.g.:",
            tally.warninglisted
        );
        for w in tally.warnings.iter().take(SHOWN_WARNINGS) {
            out!(
                "  {}: {} on warninglist {}",
                w.location,
                w.value,
                w.warninglists.join(", ")
            );
        }
    }
    if !tally.not_carried.is_empty() {
        out!("not carried (the records have no field for these; rows that lost one):");
        for (kind, count, example) in tally.not_carried.iter() {
            out!(
                "  {count} × {} ({}), e.g. {}",
                kind.describe(),
                kind.as_str(),
                liaison_core::untrusted::quote(example)
            );
        }
    }
    if let Some((location, note)) = &tally.normalised_example {
        out!(
            "normalised {} value(s) as read, e.g. {location}: {note}",
            tally.normalised
        );
    }
    if tally.rejected + tally.skipped > 0 {
        match &args.rejects {
            Some(path) => out!(
                "every rejected or skipped row, with its reason: {}",
                path.display()
            ),
            None => out!("give --rejects FILE to see each rejected or skipped row and why"),
        }
    }
    Ok(())
}
