//! What became of an import's rows ([`Tally`]) and the summary's sentences,
//! in the words `liaison import` prints and the console's Import page shows.
//!
//! Counting and wording only: it must never read a file or call the node.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Observer;
use liaison_core::formats::{self, Entry, Format, ImportItem, Location, NotCarried, RowError};
use liaison_core::proto;

/// Warninglisted rows listed in the summary at most (the count is always exact).
const MAX_WARNINGS: usize = 1_000;

/// The summary's first line, in the words `liaison import` prints and the
/// console shows.
pub fn summary_line(
    name: &str,
    format: Format,
    dry_run: bool,
    tally: &Tally,
    seconds: f64,
) -> String {
    let rate = tally.rows() as f64 / seconds.max(0.001);
    let verb = match dry_run {
        true => "would import",
        false => "imported",
    };
    format!(
        "{name} ({format}): {verb} {}, already present {}, rejected {}, skipped {} — {} rows in {seconds:.1} s ({rate:.0} rows/s)",
        tally.imported,
        tally.already_present,
        tally.rejected,
        tally.skipped,
        tally.rows()
    )
}

/// One line of the "not carried" list: how many rows lost what, and an example.
pub fn not_carried_line(kind: formats::loss::LossKind, count: u64, example: &str) -> String {
    format!(
        "{count} × {} ({}), e.g. {}",
        kind.describe(),
        kind.as_str(),
        liaison_core::untrusted::quote(example)
    )
}

/// A row imported although its value is on a warninglist.
pub struct Warned {
    pub location: String,
    pub value: String,
    pub warninglists: Vec<String>,
}

/// What became of the rows.
#[derive(Default)]
pub struct Tally {
    pub imported: u64,
    pub already_present: u64,
    pub rejected: u64,
    pub skipped: u64,
    /// Rejected rows per field named in the refusal (`value`, `labels`, …).
    pub rejected_by_field: BTreeMap<String, u64>,
    /// Imported or already present rows whose value is warninglisted.
    pub warninglisted: u64,
    pub warnings: Vec<Warned>,
    /// What the rows read did not carry.
    pub not_carried: NotCarried,
    /// The first file-level problem of each file that had one.
    pub file_errors: Vec<String>,
    /// Rows whose value the reader normalised (e.g. a scheme-less MISP url
    /// read as http://), and the first one: location and what was done.
    pub normalised: u64,
    pub normalised_example: Option<(String, String)>,
}

impl Tally {
    pub fn rows(&self) -> u64 {
        self.imported + self.already_present + self.rejected + self.skipped
    }

    /// Counts an item the reader normalised.
    pub(super) fn note(&mut self, item: &ImportItem) {
        if let Some(first) = item.notes.first() {
            self.normalised += 1;
            self.normalised_example
                .get_or_insert_with(|| (item.location.to_string(), first.clone()));
        }
    }

    pub(super) fn reject(
        &mut self,
        observer: &mut dyn Observer,
        location: &Location,
        field: &str,
        value: &str,
        reason: &str,
    ) -> Result<()> {
        self.rejected += 1;
        *self.rejected_by_field.entry(field.to_string()).or_default() += 1;
        observer.reject(location, field, value, reason)
    }

    /// Counts an entry that is not an item: a rejected row, a skipped row, or
    /// the file-level problem that ended a file's read.
    pub(super) fn read_problem(&mut self, entry: Entry, observer: &mut dyn Observer) -> Result<()> {
        match entry {
            Entry::Item(_) => {}
            Entry::Error(error) => {
                self.reject(observer, &error.location, &error.field, "", &error.reason)?;
            }
            Entry::Skipped(skipped) => {
                self.skipped += 1;
                observer.reject(&skipped.location, "skipped", "", &skipped.what)?;
            }
            Entry::Fatal(error) => {
                observer.reject(&error.location, &error.field, "", &error.reason)?;
                self.file_errors.push(file_error(&error));
            }
        }
        Ok(())
    }

    pub(super) fn warn(&mut self, location: &Location, result: &proto::PublishResult) {
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
