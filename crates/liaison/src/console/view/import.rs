//! The Import page: the upload form (file, format, the TLP, labels, country
//! and case for rows that carry none, strict, dry run), the running job's
//! progress bar (polled by console.js; without JavaScript the page reloads
//! itself), and the finished job's summary in the CLI's words, its file error
//! if any, and the rejects table with its CSV download.
//!
//! Rendering only: it must never call the node or read the file; every string
//! from the file or the node goes through [`Shown`].

use maud::{html, Markup};

use super::{error_box, page_with_head, Nav, Shown};
use crate::cli::importer;
use crate::console::form::Fields;
use crate::console::job::{Job, UPLOAD_LIMIT};
use liaison_core::formats::Format;
use liaison_core::record::{Label, Tlp};

/// Rejected rows shown in the table; the CSV has all that were kept.
const SHOWN_REJECTS: usize = 1_000;

pub fn import_page(
    who: &str,
    csrf: &str,
    given: &Fields,
    error: Option<&str>,
    last: Option<&Job>,
) -> Markup {
    let tlp = match given.get("tlp") {
        "" => "amber",
        t => t,
    };
    let format = given.get("format");
    let body = html! {
        h1 { "Import" }
        p { "A CSV file, a MISP event (JSON) or a STIX 2.1 bundle, up to "
            (UPLOAD_LIMIT / (1024 * 1024)) " MiB (larger files: " code { "liaison import" } "). "
            "Each row is published with your certificate; the node checks and signs it." }
        @if let Some(e) = error { (error_box(e)) }
        @if let Some(job) = last {
            p { "Your last import: " a href="/import/job" { (Shown(&job.file_name)) } }
        }
        form.import method="post" action="/import" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            div.field {
                label for="file" { "File" }
                input #file type="file" name="file" required accept=".csv,.json,text/csv,application/json" data-limit=(UPLOAD_LIMIT);
            }
            div.field {
                label for="format" { "Format" }
                select #format name="format" {
                    option value="" selected[format.is_empty()] { "detect from the content" }
                    @for f in [Format::Csv, Format::Misp, Format::Stix] {
                        option value=(f.as_str()) selected[format == f.as_str()] { (f.as_str()) }
                    }
                }
            }
            div.field {
                label for="tlp" { "TLP for rows that carry none" }
                select #tlp name="tlp" {
                    @for t in Tlp::ALL { option value=(t.as_str()) selected[t.as_str() == tlp] { "TLP:" (t) } }
                }
            }
            fieldset { legend { "Labels added to every row" }
                @for l in Label::ALL {
                    label.check { input type="checkbox" name="labels" value=(l.as_str()) checked[given.all("labels").iter().any(|g| g == l.as_str())]; " " (l.as_str()) }
                }
            }
            div.field {
                label for="country" { "Country for national phone numbers (ISO code)" }
                input #country type="text" name="country" maxlength="2" value=(super::visible(given.get("country")));
            }
            div.field {
                label for="case" { "Case reference for rows that carry none" }
                input #case type="text" name="case" value=(super::visible(given.get("case")));
            }
            label.check { input #strict type="checkbox" name="strict" value="1" checked[given.flag("strict")]; " refuse values on a warninglist" }
            label.check { input #dry_run type="checkbox" name="dry_run" value="1" checked[given.flag("dry_run")]; " dry run: check every row, send and store nothing" }
            p.field-error #file-too-large hidden { "This file is larger than the console's upload limit; use " code { "liaison import" } "." }
            button type="submit" { "Import" }
        }
    };
    page_with_head("Import", Nav::Import, who, html! {}, body)
}

/// The job: its progress while it runs, then its outcome.
pub fn job_page(who: &str, job: &Job) -> Markup {
    let read = job.read();
    let progress = job.progress();
    let running = progress.outcome.is_none();
    let max = job.total_bytes.max(1);
    let shown = if running { read } else { max };
    let percent = shown * 100 / max;
    let state = match &progress.outcome {
        None => "running",
        Some(Ok(_)) => "done",
        Some(Err(_)) => "failed",
    };
    // Without JavaScript the page reloads itself until the job is done;
    // console.js polls instead (a <noscript> refresh is ignored when it runs).
    let head = html! {
        @if running { noscript { meta http-equiv="refresh" content="1"; } }
    };
    let verb = if job.dry_run {
        "would import"
    } else {
        "imported"
    };
    let body = html! {
        h1 { @if job.dry_run { "Dry run: import of " } @else { "Import of " } (Shown(&job.file_name)) " (" (job.format) ")" }
        @if job.dry_run {
            p.note { "A dry run: every row was read and checked here; nothing was sent to the node or stored." }
        }
        div.import-progress {
            progress #import-progress max=(max) value=(shown) data-poll="/import/job.json" data-state=(state) { (percent) "%" }
            p #import-counts aria-live="polite" data-verb=(verb) {
                (progress.imported) " " (verb) ", " (progress.already_present) " already present, "
                (progress.rejected) " rejected, " (progress.skipped) " skipped"
                @if running { " — " (percent) "% read" }
            }
        }
        @match &progress.outcome {
            None => { p { a href="/import/job" { "Refresh" } } }
            Some(Err(message)) => { (error_box(&format!("The import stopped: {message}"))) }
            Some(Ok(tally)) => {
                @if !tally.file_errors.is_empty() {
                    (error_box(&format!("{}: {}", job.file_name, tally.file_errors.join("; "))))
                }
                p #summary-line { (Shown(&importer::summary_line(&job.file_name, job.format, job.dry_run, tally, progress.seconds))) }
                table.summary #summary {
                    tr { th scope="row" { (verb) } td { (tally.imported) } }
                    tr { th scope="row" { "already present" } td { (tally.already_present) } }
                    tr { th scope="row" { "rejected" } td { (tally.rejected)
                        @if !tally.rejected_by_field.is_empty() {
                            " (" @for (i, (field, count)) in tally.rejected_by_field.iter().enumerate() {
                                @if i > 0 { ", " } (Shown(field)) ": " (count)
                            } ")"
                        } } }
                    tr { th scope="row" { "skipped" } td { (tally.skipped) } }
                    tr { th scope="row" { "on a warninglist" } td { (tally.warninglisted) } }
                }
                @if !tally.not_carried.is_empty() {
                    h2 { "Not carried" }
                    p { "The records have no field for these; rows that lost one:" }
                    ul #not-carried {
                        @for (kind, count, example) in tally.not_carried.iter() {
                            li { (Shown(&importer::not_carried_line(kind, count, example))) }
                        }
                    }
                }
                @if let Some((location, note)) = &tally.normalised_example {
                    p { "Normalised " (tally.normalised) " value(s) as read, e.g. " (Shown(location)) ": " (Shown(note)) }
                }
            }
        }
        @if !progress.rejects.is_empty() {
            h2 { "Rejected and skipped rows" }
            p {
                a.button href="/import/rejects.csv" download="liaison-import-rejects.csv" { "Download the rejects (CSV)" }
                @if progress.rejects.len() > SHOWN_REJECTS { " The first " (SHOWN_REJECTS) " of " (progress.rejects.len()) " are shown." }
                @if progress.rejects_not_kept > 0 { " " (progress.rejects_not_kept) " more were counted but not kept." }
            }
            table #rejects {
                thead { tr { th { "Row / item" } th { "Field" } th { "Value" } th { "Reason" } } }
                tbody {
                    @for r in progress.rejects.iter().take(SHOWN_REJECTS) {
                        tr { td { (Shown(&r.location)) } td { (Shown(&r.field)) } td { (Shown(&r.value)) } td { (Shown(&r.reason)) } }
                    }
                }
            }
        }
        @if !running { p { a href="/import" { "Import another file" } } }
    };
    page_with_head("Import", Nav::Import, who, head, body)
}
