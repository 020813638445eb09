//! The Import page's work: an uploaded CSV, MISP event or STIX bundle read and
//! sent to the node by the CLI's own [`importer::run`], as a job in the console
//! process, one running per session, with its progress (the bar and
//! `/import/job.json`), its summary and its rejected rows (table and CSV).
//!
//! The job is the analyst's own `Analyst.PublishBatch` with the console's
//! certificate; the node normalises, validates, signs and audits. This module
//! must never import another way than `importer::run`, keep an upload after
//! its job, or show one session's job to another.

use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::form::Fields;
use super::job::KEPT_REJECTS;
pub use super::job::{Job, Jobs, Progress, Reject, UPLOAD_BODY_LIMIT, UPLOAD_LIMIT};
use super::routes::Csrf;
use super::upload::Upload;
use super::view::import as view;
use super::Console;
use crate::cli::importer::{self, Observer, Tally};
use liaison_core::formats::{Format, Location};
use liaison_core::record::{Label, Tlp};

/// The job's observer: the rejected rows and the counts go to its shared state.
struct Shared(Arc<Job>);

impl Observer for Shared {
    fn reject(
        &mut self,
        location: &Location,
        field: &str,
        value: &str,
        reason: &str,
    ) -> Result<()> {
        let mut progress = self.0.progress();
        match progress.rejects.len() < KEPT_REJECTS {
            true => progress.rejects.push(Reject {
                location: location.to_string(),
                field: field.to_string(),
                value: value.to_string(),
                reason: reason.to_string(),
            }),
            false => progress.rejects_not_kept += 1,
        }
        Ok(())
    }

    fn progress(&mut self, tally: &Tally) {
        let mut progress = self.0.progress();
        progress.imported = tally.imported;
        progress.already_present = tally.already_present;
        progress.rejected = tally.rejected;
        progress.skipped = tally.skipped;
    }
}

/// The form's choices as the importer takes them, or the field's error.
fn choices(fields: &Fields) -> Result<(Option<Format>, importer::Options), String> {
    let format = match fields.get("format") {
        "" | "auto" => None,
        given => Some(Format::from_str(given).map_err(|e| format!("format: {e}"))?),
    };
    let tlp = Tlp::from_str(match fields.get("tlp") {
        "" => "amber",
        t => t,
    })
    .map_err(|e| format!("tlp: {e}"))?;
    let labels = fields
        .all("labels")
        .iter()
        .map(|l| Label::from_str(l).map_err(|e| format!("labels: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let given = |name: &str| Some(fields.get(name).trim().to_string()).filter(|s| !s.is_empty());
    Ok((
        format,
        importer::Options {
            tlp,
            labels,
            default_country: given("country"),
            case_reference: given("case"),
            strict: fields.flag("strict"),
            dry_run: fields.flag("dry_run"),
        },
    ))
}

pub async fn form_handler(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
) -> Html<String> {
    let last = console.jobs.of(&csrf);
    Html(
        view::import_page(
            &console.who,
            &csrf,
            &Fields::default(),
            None,
            last.as_deref(),
        )
        .into_string(),
    )
}

/// `POST /import`: starts the job, then shows its progress (a redirect, so a
/// reload does not upload again).
pub async fn submit_handler(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
    upload: Option<axum::Extension<Upload>>,
) -> Response {
    // The guard reads multipart bodies into an Upload; any other body has no file.
    let Some(axum::Extension(upload)) = upload else {
        return (
            StatusCode::BAD_REQUEST,
            "The import form is sent as multipart/form-data, with the file. Nothing was imported.\n",
        )
            .into_response();
    };
    let refuse = |status: StatusCode, message: String| {
        let last = console.jobs.of(&csrf);
        let page = view::import_page(
            &console.who,
            &csrf,
            &upload.fields,
            Some(&message),
            last.as_deref(),
        );
        (status, Html(page.into_string())).into_response()
    };
    let (format, options) = match choices(&upload.fields) {
        Ok(chosen) => chosen,
        Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, message),
    };
    if upload.file_name.is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "file: choose the file to import".to_string(),
        );
    }
    let format = match importer::detect(
        &upload.file,
        format,
        &liaison_core::untrusted::quote(&upload.file_name),
        "choose its format",
    ) {
        Ok(format) => format,
        Err(e) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let job = Arc::new(Job {
        file_name: upload.file_name.clone(),
        format,
        dry_run: options.dry_run,
        total_bytes: upload.file.len() as u64,
        read_bytes: Arc::new(AtomicU64::new(0)),
        progress: Mutex::new(Progress::default()),
    });
    if let Err(running) = console.jobs.start(&csrf, job.clone()) {
        let message = format!(
            "An import is already running in this session ({}); wait for it to finish.",
            liaison_core::untrusted::quote(&running.file_name)
        );
        return refuse(StatusCode::CONFLICT, message);
    }
    let working = console.clone();
    let file = upload.file.clone();
    let started = Instant::now();
    let running = job.clone();
    let work = tokio::spawn(async move {
        let mut observer = Shared(running.clone());
        importer::run(
            Some(&working.client),
            importer::Input::Memory(file),
            running.format,
            &options,
            running.read_bytes.clone(),
            &mut observer,
        )
        .await
    });
    // The job ends with an outcome even if its task panicked, or the
    // session's Import page would wait for it forever.
    tokio::spawn(async move {
        let outcome = match work.await {
            Ok(outcome) => outcome,
            Err(e) => Err(anyhow::anyhow!("the import task ended unexpectedly: {e}")),
        };
        let mut progress = job.progress();
        if let Ok(tally) = &outcome {
            progress.imported = tally.imported;
            progress.already_present = tally.already_present;
            progress.rejected = tally.rejected;
            progress.skipped = tally.skipped;
        }
        progress.seconds = started.elapsed().as_secs_f64();
        progress.outcome = Some(outcome.map_err(|e| format!("{e:#}")));
    });
    Redirect::to("/import/job").into_response()
}

/// `/import/job`: the session's import, running (the bar; the page reloads
/// itself without JavaScript) or done (the summary and the rejects).
pub async fn job_handler(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
) -> Response {
    match console.jobs.of(&csrf) {
        Some(job) => Html(view::job_page(&console.who, &job).into_string()).into_response(),
        None => Redirect::to("/import").into_response(),
    }
}

/// `/import/job.json`: how far the session's import is, for console.js.
pub async fn progress_handler(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
) -> Response {
    let Some(job) = console.jobs.of(&csrf) else {
        return (StatusCode::NOT_FOUND, "no import in this session\n").into_response();
    };
    let read = job.read();
    let progress = job.progress();
    let state = match &progress.outcome {
        None => "running",
        Some(Ok(_)) => "done",
        Some(Err(_)) => "failed",
    };
    let body = serde_json::json!({
        "state": state,
        "read_bytes": read,
        "total_bytes": job.total_bytes,
        "imported": progress.imported,
        "already_present": progress.already_present,
        "rejected": progress.rejected,
        "skipped": progress.skipped,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `/import/rejects.csv`: every kept rejected or skipped row of the session's
/// import, outside text escaped as the audit CSV escapes it.
pub async fn rejects_handler(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
) -> Response {
    let Some(job) = console.jobs.of(&csrf) else {
        return (StatusCode::NOT_FOUND, "no import in this session\n").into_response();
    };
    let csv = match rejects_csv(&job.progress().rejects) {
        Ok(csv) => csv,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"liaison-import-rejects.csv\""),
    );
    response
}

fn rejects_csv(rejects: &[Reject]) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let escape = liaison_core::untrusted::escape;
    writer
        .write_record(["location", "field", "value", "reason"])
        .map_err(|e| e.to_string())?;
    for r in rejects {
        writer
            .write_record([
                escape(&r.location),
                escape(&r.field),
                escape(&r.value),
                escape(&r.reason),
            ])
            .map_err(|e| e.to_string())?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_gives_the_cli_defaults() {
        let (format, options) = choices(&Fields::parse("csrf=x")).expect("defaults");
        assert_eq!(format, None);
        assert_eq!(options.tlp, Tlp::Amber);
        assert!(!options.dry_run && options.labels.is_empty());
        let (format, options) = choices(&Fields::parse(
            "format=stix&tlp=green&labels=fraud&dry_run=1&case=OP-1",
        ))
        .expect("given");
        assert_eq!(format, Some(Format::Stix));
        assert_eq!(options.tlp, Tlp::Green);
        assert!(options.dry_run);
        assert_eq!(options.case_reference.as_deref(), Some("OP-1"));
        assert!(choices(&Fields::parse("tlp=purple"))
            .expect_err("bad tlp")
            .starts_with("tlp: "));
    }

    fn job(outcome: Option<Result<Tally, String>>) -> Job {
        let job = Job {
            file_name: "<b>odd</b>.csv".into(),
            format: Format::Csv,
            dry_run: false,
            total_bytes: 200,
            read_bytes: Arc::new(AtomicU64::new(50)),
            progress: Mutex::new(Progress::default()),
        };
        job.progress().outcome = outcome;
        job
    }

    #[test]
    fn a_running_job_reloads_without_script_and_a_finished_one_does_not() {
        let running = view::job_page("me", &job(None)).into_string();
        assert!(
            running.contains("<noscript><meta http-equiv=\"refresh\" content=\"1\"></noscript>"),
            "{running}"
        );
        assert!(running.contains("data-state=\"running\"") && running.contains("25% read"));
        assert!(
            !running.contains("<b>odd"),
            "the file name is escaped: {running}"
        );
        let done = view::job_page("me", &job(Some(Ok(Tally::default())))).into_string();
        assert!(!done.contains("http-equiv"), "{done}");
        assert!(done.contains("data-state=\"done\""), "{done}");
        let failed = view::job_page("me", &job(Some(Err("the node closed".into())))).into_string();
        assert!(
            failed.contains("The import stopped: the node closed"),
            "{failed}"
        );
    }

    #[test]
    fn one_running_import_per_session() {
        let jobs = Jobs::default();
        let first = Arc::new(job(None));
        assert!(jobs.start("session-a", first.clone()).is_ok());
        let refused = jobs.start("session-a", Arc::new(job(None)));
        assert!(refused.is_err_and(|running| Arc::ptr_eq(&running, &first)));
        assert!(
            jobs.start("session-b", Arc::new(job(None))).is_ok(),
            "another session's own"
        );
        first.progress().outcome = Some(Ok(Tally::default()));
        let next = Arc::new(job(None));
        assert!(
            jobs.start("session-a", next.clone()).is_ok(),
            "after the first ended"
        );
        assert!(Arc::ptr_eq(&jobs.of("session-a").expect("a job"), &next));
    }

    #[test]
    fn rejects_csv_quotes_and_escapes() {
        let csv = rejects_csv(&[Reject {
            location: "line 3".into(),
            field: "value".into(),
            value: "a,\"b\"\u{202E}".into(),
            reason: "not a phone number".into(),
        }])
        .expect("csv");
        let text = String::from_utf8(csv).expect("utf-8");
        assert_eq!(
            text,
            "location,field,value,reason\nline 3,value,\"a,\"\"b\"\"\\u202e\",not a phone number\n"
        );
    }
}
