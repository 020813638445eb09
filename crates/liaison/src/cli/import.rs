//! `liaison import`: a CSV file, a MISP event export (file or feed directory) or
//! a STIX 2.1 bundle, streamed into the running node through
//! `Analyst.PublishBatch`, with progress and a summary.
//!
//! The reading and sending are [`importer::run`], shared with the console's
//! Import page; this module owns the command line, the `--rejects` file, the
//! terminal progress bar and the printed summary. A reader thread parses the
//! file (bounded channel: memory stays bounded
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

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::importer::{self, Tally};
use crate::client::NodeClient;
use liaison_core::formats::{self, Format, Location};
use liaison_identity::identity::NodeDir;

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

/// Warninglisted rows shown in the plain-text summary.
const SHOWN_WARNINGS: usize = 5;

pub async fn import(dir: &NodeDir, args: ImportArgs) -> Result<()> {
    let format = resolve_format(&args.file, args.format)?;
    let options = importer::Options {
        tlp: args.tlp,
        labels: args.labels.clone(),
        default_country: args.default_country.clone(),
        case_reference: args.case_reference.clone(),
        strict: args.strict,
        dry_run: args.dry_run,
    };
    let (files, total_bytes) = input_files(&args.file, format)?;
    let read_bytes = Arc::new(AtomicU64::new(0));
    let mut observer = Terminal {
        rejects: Rejects::open(args.rejects.as_deref())?,
        progress: Progress::start(total_bytes, read_bytes.clone()),
    };
    let started = Instant::now();
    let client = match args.dry_run {
        true => None,
        false => Some(NodeClient::for_dir(dir).await?),
    };
    let tally = importer::run(
        client.as_ref(),
        importer::Input::Files(files),
        format,
        &options,
        read_bytes,
        &mut observer,
    )
    .await?;
    observer.progress.finish();
    observer.rejects.finish()?;
    report(&args, format, &tally, started.elapsed())?;
    if !tally.file_errors.is_empty() {
        bail!("{}: {}", args.file.display(), tally.file_errors.join("; "));
    }
    if args.fail_on_reject && tally.rejected > 0 {
        return Err(RowsRejected(tally.rejected).into());
    }
    Ok(())
}

/// The CLI's observer: the `--rejects` file and the terminal's progress.
struct Terminal {
    rejects: Rejects,
    progress: Progress,
}

impl importer::Observer for Terminal {
    fn reject(
        &mut self,
        location: &Location,
        field: &str,
        _value: &str,
        reason: &str,
    ) -> Result<()> {
        self.rejects.write(location, field, reason)
    }

    fn progress(&mut self, tally: &Tally) {
        self.progress.show(tally);
    }
}

fn resolve_format(path: &Path, given: Option<Format>) -> Result<Format> {
    if given.is_none() && path.is_dir() {
        return Ok(Format::Misp);
    }
    let mut head = vec![0; importer::SNIFF_BYTES];
    let n = match given {
        Some(_) => 0,
        None => std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?
            .read(&mut head)
            .with_context(|| format!("cannot read {}", path.display()))?,
    };
    importer::detect(
        &head[..n],
        given,
        &path.display().to_string(),
        "give --format csv|misp|stix",
    )
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
    out!(
        "{}",
        importer::summary_line(
            &args.file.display().to_string(),
            format,
            args.dry_run,
            tally,
            seconds
        )
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
            out!("  {}", importer::not_carried_line(kind, count, example));
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
