//! TAXII 2.1 object endpoints: `objects`, `objects/{id}`, `objects/{id}/versions`
//! and `manifest`. Objects are exactly the STIX export's: each indicator
//! ([`liaison_core::formats::stix::indicator_object`], revoked ones `revoked: true`),
//! bulletins as `report`s ([`taxii_reports`]), each preceded in its page by its origin's identity, and the first page of a
//! collection by the fixed objects every export starts with (TLP markings,
//! extension definitions). `limit` counts indicators. `next` is the change-log
//! position of the last item served (or where the walk stopped), so it always
//! moves forward; `date_added` is when the item was logged at the position it
//! is served from ([`page::Item`]). Must never build a page any other way than
//! [`page::walk`] (O(page)) or a public-id lookup (O(log N)).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::{json, Value};

use super::errors::HttpError;
use super::page::{self, Item};
use super::query::{self, Query, VersionMatch};
use super::taxii::{admit, taxii_response, Collection, STIX_MEDIA};
use super::taxii_reports;
use liaison_core::formats::stix::{
    fixed_objects, indicator_object, origin_identity, report_object,
};
use liaison_core::formats::time::{format_ms, parse_ms};
use liaison_node::node::Node;

/// An object served, with the `date_added` its page reports for it.
struct Served {
    object: Value,
    date_added: i64,
}

/// What a request asks for, and the page it got.
struct Answer {
    served: Vec<Served>,
    next: Option<u64>,
    /// (first, last) receipt time of the indicators served.
    added: Option<(i64, i64)>,
}

pub async fn objects(
    State(node): State<Arc<Node>>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, HttpError> {
    let who = admit(&node, &request)?;
    let collection = Collection::find(&collection)?;
    let query = query::parse(raw.as_deref())?;
    let answer = answer(&node, &collection, query).await?;
    audit(&node, &who, &collection, "objects", answer.served.len()).await?;
    let objects: Vec<Value> = answer.served.iter().map(|s| s.object.clone()).collect();
    Ok(envelope(&answer, "objects", objects))
}

pub async fn manifest(
    State(node): State<Arc<Node>>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, HttpError> {
    let who = admit(&node, &request)?;
    let collection = Collection::find(&collection)?;
    let query = query::parse(raw.as_deref())?;
    let answer = answer(&node, &collection, query).await?;
    audit(&node, &who, &collection, "manifest", answer.served.len()).await?;
    let records: Vec<Value> = answer
        .served
        .iter()
        .map(|s| {
            json!({
                "id": s.object["id"],
                "date_added": format_ms(s.date_added),
                "version": version_of(&s.object),
                "media_type": STIX_MEDIA,
            })
        })
        .collect();
    Ok(envelope(&answer, "objects", records))
}

pub async fn object(
    State(node): State<Arc<Node>>,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, HttpError> {
    let who = admit(&node, &request)?;
    let answer = one_object(
        &node,
        &who,
        (&collection, &object),
        raw.as_deref(),
        "object",
    )
    .await?;
    let objects: Vec<Value> = answer.served.iter().map(|s| s.object.clone()).collect();
    Ok(envelope(&answer, "objects", objects))
}

pub async fn versions(
    State(node): State<Arc<Node>>,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, HttpError> {
    let who = admit(&node, &request)?;
    let answer = one_object(
        &node,
        &who,
        (&collection, &object),
        raw.as_deref(),
        "versions",
    )
    .await?;
    let versions: Vec<Value> = answer
        .served
        .iter()
        .map(|s| version_of(&s.object))
        .collect();
    Ok(envelope(&answer, "versions", versions))
}

/// One object by id (with the query's other filters), or 404: for the admitted
/// caller `who`, audited as a page of `what` ("object" or "versions").
async fn one_object(
    node: &Arc<Node>,
    who: &liaison_identity::tls::Principal,
    (collection, object): (&str, &str),
    raw: Option<&str>,
    what: &str,
) -> Result<Answer, HttpError> {
    let collection = Collection::find(collection)?;
    let mut query = query::parse(raw)?;
    if !query.ids.is_empty() || query.next.is_some() {
        return Err(HttpError::bad_request(
            "query",
            "match[id] and next do not apply to a single object",
        ));
    }
    query.ids = vec![object.to_string()];
    let answer = answer(node, &collection, query).await?;
    if answer.served.is_empty() {
        return Err(HttpError::not_found(format!(
            "object: no object {} in this collection",
            liaison_core::untrusted::quote(object)
        )));
    }
    audit(node, who, &collection, what, answer.served.len()).await?;
    Ok(answer)
}

async fn answer(
    node: &Arc<Node>,
    collection: &Collection,
    query: Query,
) -> Result<Answer, HttpError> {
    let node = node.clone();
    let scope = collection.scope;
    super::blocking(move || {
        let (items, next, with_fixed) = match query.ids.is_empty() {
            true => {
                let after = query.next.unwrap_or(0);
                let page = page::walk(&node, scope, after, query.added_after, query.limit)?;
                let first = query.next.is_none() && query.added_after.is_none();
                (page.items, page.next, first)
            }
            false => (by_id(&node, scope, &query.ids)?, None, true),
        };
        let limit = if query.ids.is_empty() {
            query.limit
        } else {
            usize::MAX
        };
        let (served, used) = build(&node, scope, &items, with_fixed, limit)?;
        let next = match used < items.len() {
            // Cut short by `limit`: go on after the last indicator served.
            true => items[..used].last().map(|i| i.position).or(next),
            false => next,
        };
        let items = &items[..used];
        let added = items
            .first()
            .zip(items.last())
            .map(|(f, l)| (f.added_ms, l.added_ms));
        let served = served
            .into_iter()
            .filter(|s| keep(&s.object, &query))
            .collect();
        Ok(Answer {
            served,
            next,
            added,
        })
    })
    .await
}

/// The indicators with these STIX ids, found through the public-id index.
fn by_id(node: &Node, scope: page::Scope, ids: &[String]) -> Result<Vec<Item>, HttpError> {
    let now = liaison_core::now_ms();
    let mut items = Vec::new();
    for id in ids {
        if let Some(uuid) = id
            .strip_prefix("report--")
            .and_then(|u| uuid::Uuid::try_parse(u).ok())
        {
            items.extend(taxii_reports::by_report_id(node, scope, &uuid)?);
            continue;
        }
        let Some(uuid) = id
            .strip_prefix("indicator--")
            .and_then(|u| uuid::Uuid::try_parse(u).ok())
        else {
            continue;
        };
        let Some(record) = node.store.record_for_public_id(uuid.as_bytes())? else {
            continue;
        };
        items.extend(page::served_by_id(node, scope, &record, now, true)?);
    }
    Ok(items)
}

/// The STIX objects of a page, in order: fixed objects (first page, when
/// `limit` leaves room), then per indicator its origin's identity (first time
/// in the page) and itself; at most `limit` objects, but always at least one
/// indicator, and never half of the items at one change-log position. Returns them and how many items they used.
fn build(
    node: &Node,
    scope: page::Scope,
    items: &[Item],
    with_fixed: bool,
    limit: usize,
) -> Result<(Vec<Served>, usize), HttpError> {
    let names = page::origin_names(node, items);
    let mut served = Vec::with_capacity(items.len().min(limit) + 2);
    let fixed = fixed_objects();
    if let (true, Some(first)) = (with_fixed && limit >= fixed.len() + 2, items.first()) {
        let date_added = first.added_ms;
        served.extend(
            fixed
                .into_iter()
                .map(|object| Served { object, date_added }),
        );
    }
    let mut origins = HashSet::new();
    let mut used = 0;
    let mut any = false;
    for item in items {
        let record = &item.stored.record;
        let origin = record.origin();
        let name = names.get(&origin).map(String::as_str).unwrap_or_default();
        let export = item.export(name);
        let object = match record.payload.bulletin() {
            Some(_) => {
                let members = taxii_reports::visible_members(node, scope, &record.id)?;
                report_object(record, &members).map(|mut report| {
                    // A revoked bulletin stays visible as withdrawn, like an indicator.
                    if item.revoked {
                        report["revoked"] = serde_json::json!(true);
                        report["modified"] = serde_json::json!(format_ms(export.modified_ms()));
                    }
                    report
                })
            }
            None => indicator_object(&export),
        };
        let Some(object) = object else {
            used += 1;
            continue;
        };
        let new_origin = !origins.contains(&origin);
        // Items at one position (a superseding indicator and the new version
        // of the one it withdraws) share a page: `next` is a position.
        let same_position = used > 0 && items[used - 1].position == item.position;
        if any && !same_position && served.len() + 1 + usize::from(new_origin) > limit {
            break;
        }
        let date_added = item.added_ms;
        if new_origin {
            origins.insert(origin);
            let object = origin_identity(&origin, name);
            served.push(Served { object, date_added });
        }
        served.push(Served { object, date_added });
        used += 1;
        any = true;
    }
    Ok((served, used))
}

/// The `match[…]` filters on one object.
fn keep(object: &Value, query: &Query) -> bool {
    let text = |key: &str| object[key].as_str().unwrap_or_default().to_string();
    let id_ok = query.ids.is_empty() || query.ids.contains(&text("id"));
    let type_ok = query.types.is_empty() || query.types.contains(&text("type"));
    let spec_ok =
        query.spec_versions.is_empty() || query.spec_versions.contains(&text("spec_version"));
    let version = version_of(object);
    let version_ms = version.as_str().and_then(|v| parse_ms(v).ok());
    let version_ok = query.versions.is_empty()
        || query.versions.iter().any(|v| match v {
            VersionMatch::Any => true,
            VersionMatch::At(ms) => version_ms == Some(*ms),
        });
    id_ok && type_ok && spec_ok && version_ok
}

/// An object's version: `modified`, or `created` for objects without one.
fn version_of(object: &Value) -> Value {
    match object.get("modified") {
        Some(modified) => modified.clone(),
        None => object["created"].clone(),
    }
}

/// A TAXII envelope (`more`, `next`, and `key`: the list) with the date headers.
fn envelope(answer: &Answer, key: &str, list: Vec<Value>) -> Response {
    let mut body = HashMap::new();
    body.insert("more", json!(answer.next.is_some()));
    if let Some(next) = answer.next {
        body.insert("next", json!(query::next_token(next)));
    }
    if !list.is_empty() {
        body.insert(key, Value::Array(list));
    }
    let mut response = taxii_response(&json!(body));
    if let Some((first, last)) = answer.added {
        for (name, ms) in [
            ("x-taxii-date-added-first", first),
            ("x-taxii-date-added-last", last),
        ] {
            if let Ok(value) = HeaderValue::from_str(&format_ms(ms)) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

async fn audit(
    node: &Arc<Node>,
    who: &liaison_identity::tls::Principal,
    collection: &Collection,
    endpoint: &str,
    objects: usize,
) -> Result<(), HttpError> {
    let detail = json!({ "collection": collection.id, "endpoint": endpoint, "objects": objects });
    super::audit_page(node, who, "taxii.page", detail).await
}
