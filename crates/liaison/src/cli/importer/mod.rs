//! The one import path: a CSV file, MISP event export or STIX 2.1 bundle (on
//! disk, or an upload held in memory) read by `liaison_core::formats` on its
//! own thread and streamed to the node through `Analyst.PublishBatch`, or with
//! a dry run checked here and sent nowhere. `liaison import` and the console's
//! Import page both call [`run`]; each only chooses where the rejected rows
//! and the progress go ([`Observer`]).
//!
//! Every row ends up counted as imported, already present, rejected or
//! skipped, and each rejected or skipped row is handed to the observer with
//! its location and reason; nothing is dropped silently. This module must
//! never normalise, validate or sign for the node (the node does), nor hold
//! more than a few chunks of the file in memory.

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::formats::{
    self, Entry, Format, ImportItem, Location, ReadOptions, RowError, Validity,
};
use liaison_core::proto;

mod tally;
pub use tally::{not_carried_line, summary_line, Tally, Warned};

/// Items per `PublishBatchRequest` (the node accepts at most 1,000).
const CHUNK: usize = 500;
/// Chunks sent and not yet answered: enough that the node always has the next
/// chunk to prepare while it writes one (issue 26), few enough that the node's
/// pace still sets ours and memory stays bounded.
const WINDOW: usize = 4;
/// Entries buffered between the reader thread and the sender.
const ENTRY_QUEUE: usize = 2 * CHUNK;
/// Bytes of a file's start that [`detect`] looks at.
pub const SNIFF_BYTES: usize = 8192;

/// What is read: files on disk (a MISP feed directory names several), or one
/// upload already in memory.
pub enum Input {
    Files(Vec<PathBuf>),
    Memory(axum::body::Bytes),
}

/// What the caller sets for rows that do not say, and whether to send.
#[derive(Debug, Clone)]
pub struct Options {
    pub tlp: liaison_core::record::Tlp,
    pub labels: Vec<liaison_core::record::Label>,
    pub default_country: Option<String>,
    pub case_reference: Option<String>,
    pub strict: bool,
    pub dry_run: bool,
}

/// Where rejected rows and progress go: a file and a terminal bar for the
/// CLI, a job's shared state for the console.
pub trait Observer: Send {
    /// A row refused (by the reader, the dry run's checks or the node) or
    /// skipped; `value` is the row's value when it was read, else "".
    fn reject(&mut self, location: &Location, field: &str, value: &str, reason: &str)
        -> Result<()>;
    /// Called as rows are settled, often; the observer decides how often to show.
    fn progress(&mut self, tally: &Tally);
}

/// The format as given, or guessed from the file's first bytes; `name` is how
/// the error names the file, `choose` how the caller's user gives a format.
pub fn detect(head: &[u8], given: Option<Format>, name: &str, choose: &str) -> Result<Format> {
    if let Some(given) = given {
        return Ok(given);
    }
    match formats::sniff(&head[..head.len().min(SNIFF_BYTES)]) {
        Some(format) => Ok(format),
        None => bail!("cannot tell whether {name} is CSV, MISP or STIX; {choose}"),
    }
}

/// Reads `input` as `format` and imports it: through `client` unless
/// `options.dry_run` (then `client` may be None and nothing is sent).
/// `read_bytes` counts the bytes read so far, for a progress bar.
pub async fn run(
    client: Option<&NodeClient>,
    input: Input,
    format: Format,
    options: &Options,
    read_bytes: Arc<AtomicU64>,
    observer: &mut dyn Observer,
) -> Result<Tally> {
    let defaults = Defaults::from_options(options);
    let entries = spawn_reader(input, format, defaults.read_options(), read_bytes);
    match (options.dry_run, client) {
        (true, _) => check_only(entries, &defaults, observer).await,
        (false, Some(client)) => send(client, entries, &defaults, observer).await,
        (false, None) => bail!("an import that is not a dry run needs a node connection"),
    }
}

/// What the caller sets for rows that do not say, on the wire.
struct Defaults {
    tlp: i32,
    labels: Vec<String>,
    country: String,
    case_reference: String,
    strict: bool,
}

impl Defaults {
    fn from_options(options: &Options) -> Defaults {
        Defaults {
            tlp: liaison_core::record::tlp_to_wire(options.tlp) as i32,
            labels: options.labels.iter().map(|l| l.to_string()).collect(),
            country: options.default_country.clone().unwrap_or_default(),
            case_reference: options.case_reference.clone().unwrap_or_default(),
            strict: options.strict,
        }
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

/// Reads the input on its own thread; entries arrive in file order.
fn spawn_reader(
    input: Input,
    format: Format,
    options: ReadOptions,
    read_bytes: Arc<AtomicU64>,
) -> mpsc::Receiver<Entry> {
    let (tx, rx) = mpsc::channel(ENTRY_QUEUE);
    std::thread::spawn(move || {
        // Each file is opened only when its turn comes, as the CLI always did.
        let sources: Vec<Option<PathBuf>> = match &input {
            Input::Memory(_) => vec![None],
            Input::Files(files) => files.iter().cloned().map(Some).collect(),
        };
        for source in sources {
            let inner: Box<dyn Read> = match (source, &input) {
                (None, Input::Memory(bytes)) => Box::new(std::io::Cursor::new(bytes.clone())),
                (Some(path), _) => match std::fs::File::open(&path) {
                    Ok(file) => Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
                    Err(e) => {
                        let error = RowError::new(
                            Location::File,
                            path.display().to_string(),
                            format!("cannot open: {e}"),
                        );
                        let _ = tx.blocking_send(Entry::Fatal(error));
                        continue;
                    }
                },
                (None, Input::Files(_)) => continue,
            };
            let input = Counting {
                inner,
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
    client: &NodeClient,
    mut entries: mpsc::Receiver<Entry>,
    defaults: &Defaults,
    observer: &mut dyn Observer,
) -> Result<Tally> {
    let (requests, outgoing) = mpsc::channel::<proto::PublishBatchRequest>(WINDOW);
    let mut answers = client
        .analyst()
        .publish_batch(ReceiverStream::new(outgoing))
        .await
        .map_err(status_error)?
        .into_inner();
    let mut tally = Tally::default();
    // Each chunk's rows: where they are in the file, and the value sent.
    let mut in_flight: VecDeque<Vec<(Location, String)>> = VecDeque::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut rows = Vec::with_capacity(CHUNK);
    let mut reading = true;
    let mut requests = Some(requests);
    while reading || !in_flight.is_empty() {
        let can_send = in_flight.len() < WINDOW;
        tokio::select! {
            entry = entries.recv(), if reading && can_send => match entry {
                Some(Entry::Item(item)) => {
                    tally.not_carried.add_all(&item.not_carried);
                    tally.note(&item);
                    rows.push((item.location.clone(), item.value.clone()));
                    chunk.push(defaults.request(item));
                }
                Some(other) => tally.read_problem(other, observer)?,
                None => reading = false,
            },
            answer = answers.message(), if !in_flight.is_empty() => {
                let answer = answer.map_err(status_error)?.context("the node ended the import stream early")?;
                let settled = in_flight.pop_front().unwrap_or_default();
                settle(&answer, &settled, &mut tally, observer)?;
                observer.progress(&tally);
            }
        }
        if chunk.len() == CHUNK || (!reading && !chunk.is_empty()) {
            let items = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            in_flight.push_back(std::mem::take(&mut rows));
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

/// Counts one chunk's answers and hands its refused rows to the observer.
fn settle(
    answer: &proto::PublishBatchResponse,
    rows: &[(Location, String)],
    tally: &mut Tally,
    observer: &mut dyn Observer,
) -> Result<()> {
    if answer.results.len() != rows.len() {
        bail!(
            "the node answered {} items for a chunk of {}",
            answer.results.len(),
            rows.len()
        );
    }
    for (result, (location, value)) in answer.results.iter().zip(rows) {
        if !result.error.is_empty() {
            tally.reject(
                observer,
                location,
                &result.error_field,
                value,
                &result.error,
            )?;
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

/// A dry run: every row normalised and its markings checked here, nothing sent.
async fn check_only(
    mut entries: mpsc::Receiver<Entry>,
    defaults: &Defaults,
    observer: &mut dyn Observer,
) -> Result<Tally> {
    let mut tally = Tally::default();
    while let Some(entry) = entries.recv().await {
        match entry {
            Entry::Item(item) => {
                tally.not_carried.add_all(&item.not_carried);
                tally.note(&item);
                let (location, value) = (item.location.clone(), item.value.clone());
                match check_locally(defaults.request(item)) {
                    Ok(()) => tally.imported += 1,
                    Err((field, reason)) => {
                        tally.reject(observer, &location, &field, &value, &reason)?;
                    }
                }
            }
            other => tally.read_problem(other, observer)?,
        }
        if tally.rows() % 1000 == 0 {
            observer.progress(&tally);
        }
    }
    observer.progress(&tally);
    Ok(tally)
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
