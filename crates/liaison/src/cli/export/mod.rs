//! `liaison export`: the node's indicators as a STIX 2.1 bundle, a MISP event or
//! CSV, streamed page by page from `Analyst.List` through the format's writer.
//!
//! Owns: paging (1,000 records at a time, revoked ones included so consumers can
//! withdraw them), re-verifying every record's signature before it is written,
//! the client-side `--max-tlp` filter, and the atomic output file (a temporary
//! file beside `--out`, fsynced, then renamed into place).
//!
//! Must never: write a record whose signature does not verify (it is reported and
//! counted as failed), leave a half-written file at `--out`, replace an existing
//! file without `--force`, or hold more than one page of records in memory.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

mod bulletins;
mod output_file;
pub(crate) mod stream;

use output_file::{commit, temp_beside};

use crate::cli::records::RecordFilter;
use crate::cli::status::status_error;
use crate::client::NodeClient;
use liaison_core::formats::csv::CsvWriter;
use liaison_core::formats::misp::MispWriter;
use liaison_core::formats::stix::StixWriter;
use liaison_core::formats::{ExportRecord, Format, FormatError};
use liaison_core::proto;
use liaison_core::record::{Body, Envelope, Tlp, VerifiedRecord};
use liaison_identity::identity::NodeDir;

/// Records asked for per `Analyst.List` call (the server's maximum).
const PAGE: u32 = 1_000;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format: stix (a STIX 2.1 bundle), misp (one MISP event JSON) or csv
    /// (the import header, so export → import round-trips).
    #[arg(long, value_enum, ignore_case = true)]
    pub format: Format,
    /// The file to write. Written to a temporary file beside it and renamed into
    /// place when complete, so it is never half-written.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace --out if it already exists (otherwise the export refuses).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub filter: RecordFilter,
    /// Leave out records marked more restrictively than this TLP. Default: every
    /// record the node holds.
    #[arg(long, value_enum, ignore_case = true)]
    pub max_tlp: Option<Tlp>,
    /// Print the summary as JSON: {"exported": n, "skipped": n, "failed": n,
    /// "filtered": n, "out": path}.
    #[arg(long)]
    pub json: bool,
}

/// What happened to the records the node listed.
#[derive(Debug, Default)]
struct Counts {
    /// Written to the file.
    exported: u64,
    /// Verified, but the format cannot carry them (the writer declined).
    skipped: u64,
    /// Signature or envelope did not verify: reported, never written.
    failed: u64,
    /// Above `--max-tlp`.
    filtered: u64,
}

/// The three writers behind one `write` (the CSV one boxed: its buffers make it
/// several times the size of the others).
enum Writer<W: Write> {
    Csv(Box<CsvWriter<W>>),
    Misp(MispWriter<W>),
    Stix(StixWriter<W>),
}

impl<W: Write> Writer<W> {
    fn begin(format: Format, out: W, me: &proto::IdentityInfo, filters: &str) -> Result<Self> {
        // The name makes the bundle/event id: same node and filters, same id.
        let name = format!("{}:{filters}", me.node_id);
        Ok(match format {
            Format::Csv => Writer::Csv(Box::new(CsvWriter::begin(out)?)),
            Format::Misp => {
                let info = format!("Liaison export from {}", me.name);
                Writer::Misp(MispWriter::begin(
                    out,
                    &name,
                    &info,
                    liaison_core::now_ms(),
                )?)
            }
            Format::Stix => Writer::Stix(StixWriter::begin(out, &name)?),
        })
    }

    fn write(&mut self, record: &ExportRecord<'_>) -> Result<bool, FormatError> {
        match self {
            Writer::Csv(w) => w.write(record),
            Writer::Misp(w) => w.write(record),
            Writer::Stix(w) => w.write(record),
        }
    }

    fn finish(self) -> Result<W, FormatError> {
        match self {
            Writer::Csv(w) => (*w).finish(),
            Writer::Misp(w) => w.finish(),
            Writer::Stix(w) => w.finish(),
        }
    }
}

pub async fn export(dir: &NodeDir, args: ExportArgs) -> Result<()> {
    let mut request = list_request(&args)?;
    if args.out.exists() && !args.force {
        bail!(
            "--out: {} already exists; pass --force to replace it",
            args.out.display()
        );
    }
    let client = NodeClient::for_dir(dir).await?;
    request.origin = args.filter.resolved_origin(&client).await?;
    let me = client
        .admin()
        .show_identity(proto::ShowIdentityRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    let temp = temp_beside(&args.out)?;
    let file = temp
        .as_file()
        .try_clone()
        .context("--out: temporary file")?;
    let mut writer = Writer::begin(
        args.format,
        BufWriter::with_capacity(1 << 16, file),
        &me,
        &filters(&args),
    )?;
    let progress = progress_bar(me.records);
    let mut counts = Counts::default();
    // The next page is fetched while this one is verified and written: the node
    // and the exporter work at the same time, and at most two pages are held.
    let analyst = client.analyst();
    let mut next = Some(tokio::spawn(fetch(analyst.clone(), request.clone())));
    while let Some(fetching) = next.take() {
        let page = fetching.await.context("listing task")??;
        if !page.next_page_token.is_empty() {
            request.page_token = page.next_page_token.clone();
            next = Some(tokio::spawn(fetch(analyst.clone(), request.clone())));
        }
        let verified = verify_page(&page.records);
        for (view, record) in page.records.iter().zip(verified) {
            if let Err(reason) = export_one(&mut writer, view, record, args.max_tlp, &mut counts)? {
                // Above the progress line, not through it.
                progress.suspend(|| report_failure(view, &reason));
            }
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    match &mut writer {
        Writer::Stix(stix) => {
            bulletins::export_reports(stix, analyst, args.max_tlp, &mut counts).await?
        }
        Writer::Misp(_) => bulletins::note_misp_feed(analyst).await?,
        Writer::Csv(_) => {}
    }
    let out = writer.finish()?;
    out.into_inner()
        .map_err(|e| e.into_error())
        .context("--out: writing")?;
    commit(temp, &args.out, args.force)?;
    summary(&counts, &args)?;
    Ok(())
}

/// One page of `Analyst.List`.
async fn fetch(
    mut analyst: proto::analyst_client::AnalystClient<tonic::transport::Channel>,
    request: proto::ListRequest,
) -> Result<proto::ListResponse> {
    Ok(analyst
        .list(request)
        .await
        .map_err(status_error)?
        .into_inner())
}

/// The `Analyst.List` request for the filters the server applies.
fn list_request(args: &ExportArgs) -> Result<proto::ListRequest> {
    Ok(proto::ListRequest {
        limit: PAGE,
        include_revoked: true,
        ..args.filter.list_request()?
    })
}

/// The filters as one stable string (part of the bundle/event id). `--since` is
/// kept as typed: an age such as 24h names "the last day" whenever it is run.
fn filters(args: &ExportArgs) -> String {
    let max_tlp = match args.max_tlp {
        Some(t) => format!("max_tlp={};", t.as_str()),
        None => String::new(),
    };
    format!("{}{max_tlp}", stream::names(&args.filter))
}

/// Writes one listed record once verified (or counts why not). The inner
/// `Err` is a record that failed verification (counted; the caller reports it);
/// the outer one a failure to write the output, which ends the export.
fn export_one<W: Write>(
    writer: &mut Writer<W>,
    view: &proto::RecordView,
    verified: Result<VerifiedRecord, String>,
    max_tlp: Option<Tlp>,
    counts: &mut Counts,
) -> Result<Result<(), String>> {
    let record = match verified {
        Ok(record) => record,
        Err(reason) => {
            counts.failed += 1;
            return Ok(Err(reason));
        }
    };
    if let (Some(max), Body::Indicator(indicator)) = (max_tlp, &record.payload.body) {
        if indicator.tlp > max {
            counts.filtered += 1;
            return Ok(Ok(()));
        }
    }
    let export = ExportRecord {
        record: &record,
        origin_name: &view.origin_name,
        revoked: view.revoked,
        // The view carries no arrival time; the writers use it for nothing the
        // record's own creation time would not do.
        received_ms: record.payload.created_ms,
        // Nor when a revocation was made: a file export is a snapshot, not a
        // feed a consumer resumes (TAXII and the MISP feed carry it).
        changed_ms: None,
    };
    match writer.write(&export)? {
        true => counts.exported += 1,
        false => counts.skipped += 1,
    }
    Ok(Ok(()))
}

/// One line on stderr per record left out for a bad signature or envelope; the
/// record id and reason come from the node, so they are quoted and escaped.
fn report_failure(view: &proto::RecordView, reason: &str) {
    eprintln!(
        "record {}: not exported: {}",
        liaison_core::untrusted::quote(&view.record_id),
        liaison_core::untrusted::escape(reason)
    );
}

/// The records a page's envelopes sign, checked again here (one result per
/// view, in order): the export never trusts the node's word for a signature,
/// and each envelope must sign the id that was listed. One batch equation per
/// page; on failure [`Envelope::verify_many`] falls back to one by one, so
/// exactly the bad records fail.
fn verify_page(views: &[proto::RecordView]) -> Vec<Result<VerifiedRecord, String>> {
    let shapes: Vec<Result<Envelope, String>> = views.iter().map(envelope_of).collect();
    let well_formed: Vec<Envelope> = shapes.iter().filter_map(|s| s.clone().ok()).collect();
    let mut verified = Envelope::verify_many(well_formed).into_iter();
    views
        .iter()
        .zip(shapes)
        .map(|(view, shape)| {
            shape?;
            let record = verified
                .next()
                .ok_or_else(|| "envelope: not verified".to_string())?
                .map_err(|e| e.to_string())?;
            match record.id.to_hex() == view.record_id {
                true => Ok(record),
                false => Err(format!(
                    "record_id: the envelope signs record {}",
                    record.id.to_hex()
                )),
            }
        })
        .collect()
}

/// The envelope of a view, its shape checked (not yet its signature).
fn envelope_of(view: &proto::RecordView) -> Result<Envelope, String> {
    let wire = view
        .envelope
        .clone()
        .ok_or_else(|| "envelope: missing".to_string())?;
    Envelope::from_wire(wire).map_err(|e| e.to_string())
}

/// A progress line on a terminal (hidden otherwise). The node's record count is
/// an upper bound (it includes sightings and revocations), good enough for an ETA.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{spinner} exporting {pos}/~{len} records  {per_sec}  eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn summary(counts: &Counts, args: &ExportArgs) -> Result<()> {
    let out = args.out.display().to_string();
    match args.json {
        true => super::output::print_json(&liaison_core::proto::ExportSummary {
            exported: counts.exported,
            skipped: counts.skipped,
            failed: counts.failed,
            filtered: counts.filtered,
            out,
        })?,
        false => {
            out!(
                "Exported {} record(s) as {} to {out}",
                counts.exported,
                args.format
            );
            if counts.skipped > 0 {
                out!(
                    "  skipped  {} (the format cannot carry them)",
                    counts.skipped
                );
            }
            if counts.filtered > 0 {
                out!("  filtered {} (above --max-tlp)", counts.filtered);
            }
            if counts.failed > 0 {
                out!(
                    "  failed   {} (signature did not verify; see above)",
                    counts.failed
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
