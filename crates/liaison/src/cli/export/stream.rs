//! The same export as `liaison export`, written to a channel of byte chunks
//! instead of a file: the console's "Export this set" download. Each page of
//! `Analyst.List` is verified and written through the format's writer exactly
//! as for a file (the decisions stay in `super`); the bytes it produced are
//! then sent, and the next page is fetched only once the receiver took them,
//! so a slow browser holds back the listing instead of filling memory.
//!
//! [`one_record`] is the same path for a single record, as one file.
//!
//! Must never: send a record whose signature does not verify, or hold more
//! than one page of records and its output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use tokio::sync::mpsc::Sender;

use super::{export_one, fetch, verify_page, Counts, Writer, PAGE};
use crate::cli::records::RecordFilter;
use crate::client::NodeClient;
use liaison_core::formats::Format;
use liaison_core::proto;

/// Where the writers put their bytes; taken after each page.
#[derive(Clone, Default)]
struct Chunks(Arc<Mutex<Vec<u8>>>);

impl Chunks {
    fn take(&self) -> Vec<u8> {
        match self.0.lock() {
            Ok(mut bytes) => std::mem::take(&mut *bytes),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut bytes) => bytes.extend_from_slice(buf),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Exports the records `filter` selects (its origin already a full node id) as
/// `format`, sending the output in chunks to `sink`. `me` names the export
/// (bundle / event id and title). Records that fail verification are left out
/// and counted; an error (the node refusing, the receiver gone) ends the stream
/// early, so the receiver sees a truncated file, never a wrong one.
pub(crate) async fn export_to_channel(
    client: &NodeClient,
    filter: &RecordFilter,
    format: Format,
    me: &proto::IdentityInfo,
    sink: Sender<Vec<u8>>,
) -> Result<()> {
    let mut request = proto::ListRequest {
        limit: PAGE,
        include_revoked: true,
        ..filter.list_request()?
    };
    let chunks = Chunks::default();
    let mut writer = Writer::begin(format, chunks.clone(), me, &names(filter))?;
    let mut counts = Counts::default();
    let analyst = client.analyst();
    loop {
        let page = fetch(analyst.clone(), request.clone()).await?;
        for (view, record) in page.records.iter().zip(verify_page(&page.records)) {
            if let Err(reason) = export_one(&mut writer, view, record, None, &mut counts)? {
                tracing::warn!(record = %liaison_core::untrusted::escape(&view.record_id), reason = %liaison_core::untrusted::escape(&reason), "console export: record left out");
            }
        }
        send(&sink, chunks.take()).await?;
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    if let Writer::Stix(stix) = &mut writer {
        super::bulletins::export_reports(stix, analyst, None, &mut counts).await?;
    }
    writer.finish()?;
    send(&sink, chunks.take()).await
}

/// One record the node sent, as a whole file in `format` (the console's
/// `/record/ID/stix`): verified again and written by the same writer as a
/// full export. Refused when its signature does not verify or the format
/// cannot carry it.
pub(crate) fn one_record(
    view: &proto::RecordView,
    format: Format,
    me: &proto::IdentityInfo,
) -> Result<Vec<u8>> {
    let chunks = Chunks::default();
    let mut writer = Writer::begin(
        format,
        chunks.clone(),
        me,
        &format!("record={};", view.record_id),
    )?;
    let mut counts = Counts::default();
    let verified = verify_page(std::slice::from_ref(view))
        .pop()
        .unwrap_or_else(|| Err("envelope: not verified".into()));
    if let Err(reason) = export_one(&mut writer, view, verified, None, &mut counts)? {
        anyhow::bail!("record {}: not exported: {reason}", view.record_id);
    }
    if counts.exported == 0 {
        anyhow::bail!("record {}: this format cannot carry it", view.record_id);
    }
    writer.finish()?;
    Ok(chunks.take())
}

async fn send(sink: &Sender<Vec<u8>>, bytes: Vec<u8>) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    sink.send(bytes)
        .await
        .map_err(|_| anyhow::anyhow!("the browser stopped the download"))
}

/// The record filters as one stable string (part of the bundle/event id).
pub(super) fn names(filter: &RecordFilter) -> String {
    let part = |name: &str, value: Option<String>| match value {
        Some(v) => format!("{name}={v};"),
        None => String::new(),
    };
    [
        part("kind", filter.kind.map(|k| k.to_string())),
        part("label", filter.label.map(|l| l.to_string())),
        part("origin", filter.origin.clone()),
        part("case", filter.case_reference.clone()),
        part("since", filter.since.clone()),
    ]
    .concat()
}
