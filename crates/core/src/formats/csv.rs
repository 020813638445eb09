//! CSV (RFC 4180, via the `csv` crate): one indicator per row under a header.
//!
//! Header columns, in any order: `kind` and `value` (required), `labels`,
//! `tlp`, `evaluation`, `handling` (lists separated by `;` or `|`),
//! `valid_until` (RFC 3339 date or UTC date-time, or `N` days as `90d`),
//! `description`, `case`, `default_country`, `handling_note` (the H3 text),
//! `source` (who first reported it) and `first_seen` (RFC 3339 date or UTC
//! date-time). An unknown or repeated column ends the read with one
//! [`Entry::Fatal`] naming it: a misspelt column must not silently lose a
//! restriction.
//!
//! Line ends may be LF or CRLF (what Excel and Python write); a reported row
//! is the file's line number either way.
//!
//! Owns reading rows into [`Entry`]s and writing records as rows. Must never
//! normalise values (the node does) nor read the whole file at once: one row at a
//! time, so memory is bounded by the longest row.

use std::io::{BufRead, BufReader, Read, Write};

use super::time::{format_ms, parse_ms};
use super::{
    split_list, Entry, ExportRecord, FormatError, ImportItem, Location, RowError, Validity,
};
use crate::record::Body;
use crate::untrusted::quote;

/// The columns, in the order the writer puts them.
pub const COLUMNS: [&str; 13] = [
    "kind",
    "value",
    "labels",
    "tlp",
    "evaluation",
    "handling",
    "valid_until",
    "description",
    "case",
    "default_country",
    "handling_note",
    "source",
    "first_seen",
];

/// Reads CSV rows as [`Entry`]s, one row at a time.
pub struct CsvReader<R: Read> {
    records: ::csv::StringRecordsIntoIter<CrLfToLf<R>>,
    /// For each file column, its index in [`COLUMNS`]; `None` until the header is read.
    columns: Option<Vec<usize>>,
    done: bool,
}

/// Starts reading CSV from `input`.
pub fn read<R: Read>(input: R) -> CsvReader<R> {
    let records = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(CrLfToLf(BufReader::new(input)))
        .into_records();
    CsvReader {
        records,
        columns: None,
        done: false,
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if self.done {
            return None;
        }
        let record = match self.records.next() {
            None => {
                self.done = true;
                return self.columns.is_none().then(|| {
                    Entry::Fatal(RowError::new(Location::File, "header", "the file is empty"))
                });
            }
            Some(Err(err)) => return Some(self.read_error(err)),
            Some(Ok(record)) => record,
        };
        let line = record.position().map_or(0, |p| p.line());
        match &self.columns {
            None => match parse_header(&record) {
                Ok(columns) => {
                    self.columns = Some(columns);
                    self.next()
                }
                Err(reason) => {
                    self.done = true;
                    Some(Entry::Fatal(RowError::new(
                        Location::Line(line),
                        "header",
                        reason,
                    )))
                }
            },
            Some(columns) => Some(match parse_row(columns, &record, line) {
                Ok(item) => Entry::Item(item),
                Err(err) => Entry::Error(err),
            }),
        }
    }
}

impl<R: Read> CsvReader<R> {
    /// A row the csv crate could not read: bad UTF-8 is one row's error, an I/O
    /// error (or truncation inside quotes) ends the read.
    fn read_error(&mut self, err: ::csv::Error) -> Entry {
        let line = err.position().map_or(0, |p| p.line());
        let location = match line {
            0 => Location::File,
            line => Location::Line(line),
        };
        match err.kind() {
            ::csv::ErrorKind::Utf8 { .. } => {
                Entry::Error(RowError::new(location, "row", "is not valid UTF-8"))
            }
            _ => {
                self.done = true;
                Entry::Fatal(RowError::new(location, "row", format!("unreadable: {err}")))
            }
        }
    }
}

/// Reads CRLF line ends as LF. The csv crate ends a record at the `\r` and
/// counts the line at the `\n`, so every row after a CRLF was numbered one line
/// too low; with LF only, its line count is the file's. A lone `\r` stays; a
/// CRLF inside a quoted field is read as LF.
pub(crate) struct CrLfToLf<R: Read>(pub(crate) BufReader<R>);

impl<R: Read> Read for CrLfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            let available = self.0.fill_buf()?;
            let Some(&first) = available.first() else {
                break;
            };
            if first == b'\r' {
                self.0.consume(1);
                if self.0.fill_buf()?.first() != Some(&b'\n') {
                    buf[written] = b'\r';
                    written += 1;
                }
                continue;
            }
            let run = available
                .iter()
                .position(|&b| b == b'\r')
                .unwrap_or(available.len())
                .min(buf.len() - written);
            buf[written..written + run].copy_from_slice(&available[..run]);
            self.0.consume(run);
            written += run;
            // Hand back what is there rather than wait for more input.
            if self.0.buffer().is_empty() {
                break;
            }
        }
        Ok(written)
    }
}

fn parse_header(record: &::csv::StringRecord) -> Result<Vec<usize>, String> {
    let mut columns = Vec::with_capacity(record.len());
    for (position, name) in record.iter().enumerate() {
        let wanted = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        let index = COLUMNS.iter().position(|c| *c == wanted).ok_or_else(|| {
            format!(
                "unknown column {} (column {}); the columns are {}",
                quote(name),
                position + 1,
                COLUMNS.join(", ")
            )
        })?;
        if columns.contains(&index) {
            return Err(format!("column {} appears twice", quote(name)));
        }
        columns.push(index);
    }
    for required in [0, 1] {
        if !columns.contains(&required) {
            return Err(format!(
                "the required column {} is missing",
                COLUMNS[required]
            ));
        }
    }
    Ok(columns)
}

fn parse_row(
    columns: &[usize],
    record: &::csv::StringRecord,
    line: u64,
) -> Result<ImportItem, RowError> {
    let location = Location::Line(line);
    let error = |field: &str, reason: String| RowError::new(location.clone(), field, reason);
    if record.len() != columns.len() {
        return Err(error(
            "row",
            format!(
                "has {} fields; the header has {}",
                record.len(),
                columns.len()
            ),
        ));
    }
    let mut cells: [&str; COLUMNS.len()] = [""; COLUMNS.len()];
    for (&index, cell) in columns.iter().zip(record.iter()) {
        cells[index] = cell;
    }
    let kind = cells[0]
        .parse()
        .map_err(|_| error("kind", format!("{} is not a known kind", quote(cells[0]))))?;
    if cells[1].trim().is_empty() {
        return Err(error("value", "is empty".to_string()));
    }
    let mut item = ImportItem::new(location.clone(), kind, cells[1]);
    let field_error = |e: crate::record::RecordError| match e {
        crate::record::RecordError::InvalidField { field, reason } => error(field, reason),
        other => error("row", other.to_string()),
    };
    item.labels = split_list(cells[2])
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(field_error)?;
    item.tlp = non_empty(cells[3])
        .map(str::parse)
        .transpose()
        .map_err(field_error)?;
    item.evaluation = non_empty(cells[4])
        .map(str::parse)
        .transpose()
        .map_err(field_error)?;
    item.handling = split_list(cells[5])
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(field_error)?;
    item.validity = non_empty(cells[6])
        .map(parse_validity)
        .transpose()
        .map_err(|reason| error("valid_until", reason))?;
    item.description = cells[7].to_string();
    item.case_reference = cells[8].to_string();
    item.default_country = non_empty(cells[9]).map(str::to_string);
    item.handling_note = cells[10].to_string();
    if let Some(source) = non_empty(cells[11]) {
        item.set_source(source);
    }
    item.first_seen_ms = non_empty(cells[12])
        .map(parse_ms)
        .transpose()
        .map_err(|reason| error("first_seen", reason))?;
    Ok(item)
}

fn non_empty(cell: &str) -> Option<&str> {
    Some(cell.trim()).filter(|c| !c.is_empty())
}

/// `90d` is a number of days; anything else a date or date-time.
fn parse_validity(cell: &str) -> Result<Validity, String> {
    if let Some(days) = cell.strip_suffix('d') {
        if let Ok(days) = days.trim().parse::<u32>() {
            return Ok(Validity::Days(days));
        }
    }
    parse_ms(cell).map(Validity::UntilMs)
}

/// Writes records as CSV rows under the import header.
pub struct CsvWriter<W: Write> {
    out: ::csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Writes the header.
    pub fn begin(out: W) -> Result<Self, FormatError> {
        let mut out = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(out);
        out.write_record(COLUMNS)?;
        Ok(CsvWriter { out })
    }

    /// Writes one record; `Ok(false)` when it is left out: CSV carries live
    /// indicators only (no revocations, sightings or revoked indicators).
    pub fn write(&mut self, export: &ExportRecord<'_>) -> Result<bool, FormatError> {
        let Body::Indicator(indicator) = &export.record.payload.body else {
            return Ok(false);
        };
        if export.revoked {
            return Ok(false);
        }
        let join = |parts: Vec<String>| parts.join(";");
        let row: [String; COLUMNS.len()] = [
            indicator.kind.as_str().to_string(),
            indicator.value.clone(),
            join(indicator.labels.iter().map(|l| l.to_string()).collect()),
            indicator.tlp.as_str().to_string(),
            indicator.evaluation.to_string(),
            join(indicator.handling.iter().map(|h| h.to_string()).collect()),
            format_ms(indicator.valid_until_ms),
            indicator.description.clone(),
            indicator.case_reference.clone(),
            String::new(),
            indicator.handling_note.clone(),
            indicator.source.clone(),
            indicator.first_seen_ms.map(format_ms).unwrap_or_default(),
        ];
        self.out.write_record(&row)?;
        Ok(true)
    }

    /// Flushes and hands back the output.
    pub fn finish(self) -> Result<W, FormatError> {
        self.out
            .into_inner()
            .map_err(|e| FormatError::Io(std::io::Error::other(e.to_string())))
    }
}
