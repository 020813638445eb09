//! The handlers of the Bulletins and Private lookup pages. Each is the
//! analyst's own gRPC call, exactly as the CLI makes it: `Analyst.ListBulletins`,
//! `GetBulletin` and `PublishBulletin` as `liaison bulletin list|show|publish`,
//! `Analyst.Lookup` as `liaison lookup`, and `Analyst.Get` for each member
//! card, as the record page reads a record.
//!
//! This module must never decide which members a viewer may see, which
//! partner may be asked, or fall back to a clear-text search when a lookup gets
//! no answer: the node decides all of that, and the pages show what it said.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::form::Fields;
use super::routes::{http_status, split_list, Csrf, Markings};
use super::view::bulletins::{self, Member, Selected};
use super::view::lookup;
use super::view::publish::Refusal;
use super::Console;
use crate::cli::status::status_error;
use liaison_core::proto;

/// Members shown as full record cards (one `Analyst.Get` each); past this a
/// large bulletin's members are shown as the bulletin lists them.
const MEMBER_CARDS: usize = 100;

pub async fn bulletins_handler(State(console): State<Arc<Console>>) -> Response {
    let answer = console
        .client
        .analyst()
        .list_bulletins(proto::ListBulletinsRequest {})
        .await;
    let (code, answer) = match answer {
        Ok(list) => (StatusCode::OK, Ok(list.into_inner())),
        Err(status) => (http_status(&status), Err(status_error(status).to_string())),
    };
    (
        code,
        Html(bulletins::list_page(&console.who, answer).into_string()),
    )
        .into_response()
}

pub async fn bulletin_handler(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let published = Fields::parse(query.as_deref().unwrap_or("")).flag("published");
    let answer = console
        .client
        .analyst()
        .get_bulletin(proto::GetRequest {
            record_id: id.clone(),
        })
        .await;
    let view = match answer {
        Ok(view) => view.into_inner(),
        Err(status) => {
            let code = http_status(&status);
            let message = status_error(status).to_string();
            let page = bulletins::bulletin_error(&console.who, &id, &message);
            return (code, Html(page.into_string())).into_response();
        }
    };
    let mut members = Vec::with_capacity(view.members.len());
    for (n, member) in view.members.iter().enumerate() {
        members.push(match (member.held, n < MEMBER_CARDS) {
            (false, _) => Member::NotHeld(member.record_id.clone()),
            (true, false) => Member::Listed(
                member.clone(),
                format!("one of more than {MEMBER_CARDS} members: open it for its details"),
            ),
            (true, true) => match get_record(&console, &member.record_id).await {
                Ok(record) => Member::Card(Box::new(record)),
                Err(message) => Member::Listed(member.clone(), message),
            },
        });
    }
    let page = bulletins::bulletin_page(&console.who, &view, &members, published);
    Html(page.into_string()).into_response()
}

async fn get_record(console: &Console, id: &str) -> Result<proto::RecordView, String> {
    console
        .client
        .analyst()
        .get(proto::GetRequest {
            record_id: id.to_string(),
        })
        .await
        .map(|r| r.into_inner())
        .map_err(|status| status_error(status).to_string())
}

/// The records ticked (`members`) and typed (`member_ids`), in order, each once.
fn member_ids(fields: &Fields) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in fields
        .all("members")
        .into_iter()
        .chain(split_list(fields.get("member_ids")))
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The ticked records, each once, for the form: the first ones as the node
/// shows them to this analyst, every one kept ticked.
async fn selected(console: &Console, fields: &Fields) -> Vec<Selected> {
    let mut selected: Vec<Selected> = Vec::new();
    for id in fields.all("members") {
        if selected.iter().any(|s| s.id == id) {
            continue;
        }
        let view = match selected.len() < MEMBER_CARDS {
            true => Some(get_record(console, &id).await),
            false => None,
        };
        selected.push(Selected { id, view });
    }
    selected
}

/// `/bulletins/new?members=ID&members=ID…`: the compose form, the ticked
/// records listed (a GET: nothing is signed until the form is posted).
pub async fn compose_form(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
    RawQuery(query): RawQuery,
) -> Html<String> {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let chosen = selected(&console, &fields).await;
    Html(bulletins::compose_page(&console.who, &csrf, &fields, &chosen, None).into_string())
}

pub async fn compose_submit(
    State(console): State<Arc<Console>>,
    axum::Extension(Csrf(csrf)): axum::Extension<Csrf>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&String::from_utf8_lossy(&body));
    match publish_bulletin(&console, &fields).await {
        Ok(id) => Redirect::to(&format!("/bulletin/{id}?published=1")).into_response(),
        Err(message) => {
            let refusal = Refusal::for_form(message, bulletins::field_for);
            let chosen = selected(&console, &fields).await;
            let page =
                bulletins::compose_page(&console.who, &csrf, &fields, &chosen, Some(&refusal));
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response()
        }
    }
}

/// The analyst's bulletin, as `liaison bulletin publish` builds it.
async fn publish_bulletin(console: &Console, fields: &Fields) -> Result<String, String> {
    let markings = Markings::read(console, fields).await?;
    let request = proto::PublishBulletinRequest {
        title: fields.get("title").to_string(),
        summary: fields.get("summary").to_string(),
        modus_operandi: fields.get("modus_operandi").to_string(),
        labels: fields.all("labels"),
        countries: split_list(fields.get("countries")),
        members: member_ids(fields),
        tlp: markings.tlp,
        handling: markings.handling,
        handling_note: fields.get("handling_note").to_string(),
        recipients: markings.recipients,
        valid_days: markings.valid_days,
    };
    console
        .client
        .analyst()
        .publish_bulletin(request)
        .await
        .map(|r| r.into_inner().record_id)
        .map_err(|status| status_error(status).to_string())
}

/// `/lookup?q=…&kind=…&country=…`: the private lookup `liaison lookup` makes.
pub async fn lookup_handler(
    State(console): State<Arc<Console>>,
    RawQuery(query): RawQuery,
) -> Html<String> {
    let fields = Fields::parse(query.as_deref().unwrap_or(""));
    let query = lookup::Query {
        q: fields.get("q").to_string(),
        kind: fields.get("kind").trim().to_string(),
        country: fields.get("country").trim().to_string(),
    };
    let answer = match query.q.trim().is_empty() {
        true => None,
        false => Some(run_lookup(&console, &query).await),
    };
    Html(lookup::lookup_page(&console.who, &query, answer).into_string())
}

async fn run_lookup(
    console: &Console,
    query: &lookup::Query,
) -> Result<proto::LookupResponse, String> {
    let kind = super::form::kind_code(&query.kind)?;
    let request = proto::LookupRequest {
        value: query.q.clone(),
        kind,
        default_country: query.country.clone(),
    };
    console
        .client
        .analyst()
        .lookup(request)
        .await
        .map(|r| r.into_inner())
        .map_err(|status| status_error(status).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticked_and_typed_members_are_taken_once_in_order() {
        let fields = Fields::parse("members=aa&members=bb&member_ids=cc%2C+aa++dd");
        assert_eq!(member_ids(&fields), vec!["aa", "bb", "cc", "dd"]);
    }
}
