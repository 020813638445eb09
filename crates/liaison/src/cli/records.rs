//! `liaison list`: what the node holds, newest first, page by page through
//! `Analyst.List` (the CLI follows the page tokens up to `--limit` records).

use anyhow::{bail, Context, Result};
use clap::Args;

use super::output;
use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::indicator::Kind;
use liaison_core::proto;
use liaison_core::record::Label;
use liaison_identity::identity::NodeDir;

/// Which records: the filters `list` and `export` share.
#[derive(Args, Debug, Clone, Default)]
pub struct RecordFilter {
    /// Only this kind.
    #[arg(long, value_enum, ignore_case = true)]
    pub kind: Option<Kind>,
    /// Only records carrying this crime-area label.
    #[arg(long, value_enum, ignore_case = true)]
    pub label: Option<Label>,
    /// Only records with exactly this case reference.
    #[arg(long = "case")]
    pub case_reference: Option<String>,
    /// Only records of this origin agency: its node id or a unique prefix of 8+ hex
    /// digits (see `partner list`).
    #[arg(long)]
    pub origin: Option<String>,
    /// Only records stored since: a date (2026-11-20), an RFC 3339 time, or an age
    /// such as 24h or 7days.
    #[arg(long)]
    pub since: Option<String>,
}

impl RecordFilter {
    /// The first `Analyst.List` request for these filters.
    pub(crate) fn list_request(&self) -> Result<proto::ListRequest> {
        Ok(proto::ListRequest {
            kind: self.kind.map(|k| i32::from(k.code())).unwrap_or(0),
            label: self.label.map(|l| l.to_string()).unwrap_or_default(),
            case_reference: self.case_reference.clone().unwrap_or_default(),
            origin: self.origin.clone().unwrap_or_default(),
            since_unix_ms: self
                .since
                .as_deref()
                .map(since_ms)
                .transpose()?
                .unwrap_or(0),
            ..Default::default()
        })
    }
}

impl RecordFilter {
    /// `--origin` as a full node id (a prefix resolved against the agencies the
    /// node knows), or empty.
    pub(super) async fn resolved_origin(&self, client: &NodeClient) -> Result<String> {
        match &self.origin {
            Some(origin) => super::ids::resolve(client, "--origin", origin).await,
            None => Ok(String::new()),
        }
    }
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: RecordFilter,
    /// Most records to show.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// One JSON document, a ListResponse: {"records": [...], "nextPageToken": "..."}.
    #[arg(long)]
    pub json: bool,
}

pub async fn list(dir: &NodeDir, args: ListArgs) -> Result<()> {
    let mut request = args.filter.list_request()?;
    let client = NodeClient::for_dir(dir).await?;
    request.origin = args.filter.resolved_origin(&client).await?;
    let mut records = Vec::new();
    while records.len() < args.limit {
        request.limit = u32::try_from((args.limit - records.len()).min(1_000)).unwrap_or(1_000);
        let page = client
            .analyst()
            .list(request.clone())
            .await
            .map_err(status_error)?
            .into_inner();
        records.extend(page.records);
        request.page_token = page.next_page_token;
        if request.page_token.is_empty() {
            break;
        }
    }
    match args.json {
        true => output::print_json(&proto::ListResponse {
            records,
            next_page_token: request.page_token,
        })?,
        false => {
            for view in &records {
                output::print_record(view);
                out!();
            }
            out!("{} record(s)", records.len());
        }
    }
    Ok(())
}

/// `--since`: a date, an RFC 3339 time, or an age before now.
fn since_ms(text: &str) -> Result<i64> {
    let text = text.trim();
    let moment = if let Ok(age) = humantime::parse_duration(text) {
        std::time::SystemTime::now()
            .checked_sub(age)
            .context("--since: that age reaches before 1970")?
    } else {
        let full = match text.len() {
            10 => format!("{text}T00:00:00Z"),
            _ => text.to_string(),
        };
        match humantime::parse_rfc3339_weak(&full) {
            Ok(moment) => moment,
            Err(_) => bail!("--since: {text:?} is not a date (2026-11-20), an RFC 3339 time or an age (24h, 7days)"),
        }
    };
    let ms = moment
        .duration_since(std::time::UNIX_EPOCH)
        .context("--since: before 1970")?
        .as_millis();
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}
