//! The asking side: per partner, fetch (or refresh) its signed filter, verify
//! it, blind the value, have the partner evaluate it, verify the proof,
//! finalise, and check the filter here. Partners are asked in parallel.
//!
//! Filters are cached per partner for their epoch; each lookup asks for the
//! current header with the digest it holds, and the bytes travel again only
//! when the filter changed. This module must never send a value unblinded,
//! nor answer "hit" from a filter or proof that did not verify.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::filter::{self, LookupFilter, MAX_FILTER_BYTES};
use super::state::Cached;
use super::{oprf, LookupError};
use crate::node::Node;
use liaison_core::indicator::Normalized;
use liaison_core::proto;
use liaison_core::proto::federation_client::FederationClient;
use liaison_core::record::NodeId;

/// The whole lookup ends by then, whoever has not answered.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// Readings of one value asked at most (a value without --kind may parse as several).
pub const MAX_READINGS: usize = 4;

/// One partner's answer.
#[derive(Debug, Clone)]
pub struct PartnerAnswer {
    pub partner: NodeId,
    pub hit: bool,
    pub quota_left: u32,
    pub status: String,
    pub detail: String,
}

/// Asks every enrolled partner whether it holds any of `candidates` (the
/// readings of one value; usually one).
pub async fn lookup(node: &Arc<Node>, candidates: &[Normalized]) -> Vec<PartnerAnswer> {
    let mut asks = JoinSet::new();
    let partners = node.partner_ids();
    for partner in partners.iter().copied() {
        let node = node.clone();
        let candidates = candidates.to_vec();
        asks.spawn(async move { (partner, ask(&node, partner, &candidates).await) });
    }
    let mut answers = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, async {
        while let Some(Ok((partner, result))) = asks.join_next().await {
            answers.push(match result {
                Ok((hit, quota_left)) => PartnerAnswer {
                    partner,
                    hit,
                    quota_left,
                    status: "answered".into(),
                    detail: String::new(),
                },
                Err((status, detail)) => PartnerAnswer {
                    partner,
                    hit: false,
                    quota_left: 0,
                    status: status.into(),
                    detail,
                },
            });
        }
    })
    .await;
    asks.abort_all();
    for partner in partners {
        if !answers.iter().any(|a| a.partner == partner) {
            answers.push(PartnerAnswer {
                partner,
                hit: false,
                quota_left: 0,
                status: "timed out".into(),
                detail: String::new(),
            });
        }
    }
    answers
}

type Failure = (&'static str, String);

/// The partner state's word (`partner_state`), except that a lookup's
/// rate limit is its daily evaluation quota.
fn rpc_failure(status: tonic::Status) -> Failure {
    let named = crate::partner_state::diagnose_status(&status);
    let kind = match named.state {
        crate::partner_state::PartnerState::RateLimited => "quota exhausted",
        state => state.search_status(),
    };
    (kind, named.to_string())
}

fn untrusted(e: LookupError) -> Failure {
    ("invalid filter", e.to_string())
}

async fn ask(
    node: &Arc<Node>,
    partner: NodeId,
    candidates: &[Normalized],
) -> Result<(bool, u32), Failure> {
    let channel = node
        .partner_channel(&partner)
        .await
        .map_err(|e| ("unreachable", e.to_string()))?;
    let mut client =
        FederationClient::new(channel).max_decoding_message_size(MAX_FILTER_BYTES + 64 * 1024);
    let (mut cached, mut quota_left) = fresh_filter(node, partner, &mut client).await?;
    let mut hit = false;
    for candidate in candidates {
        let blinded = oprf::blind(candidate).map_err(untrusted)?;
        let answer = match evaluate(&mut client, &cached, &blinded).await {
            // The partner's epoch turned between the filter and the evaluation:
            // the new epoch's filter, then the same blinded element once more.
            Err(status) if is_epoch_turn(&status) => {
                (cached, _) = fresh_filter(node, partner, &mut client).await?;
                evaluate(&mut client, &cached, &blinded).await
            }
            other => other,
        }
        .map_err(rpc_failure)?;
        quota_left = answer.quota_left;
        if answer.epoch != cached.header.epoch {
            return Err(untrusted(LookupError::Untrusted(
                "epoch: the evaluation is not for the filter's epoch".into(),
            )));
        }
        let key = blinded
            .finalize(
                &answer.evaluated_element,
                &answer.proof,
                &cached.header.public_key,
            )
            .map_err(untrusted)?;
        hit |= cached.filter.contains(key);
    }
    Ok((hit, quota_left))
}

async fn evaluate(
    client: &mut FederationClient<tonic::transport::Channel>,
    cached: &Cached,
    blinded: &oprf::Blinded,
) -> Result<proto::EvaluateResponse, tonic::Status> {
    let request = proto::EvaluateRequest {
        epoch: cached.header.epoch,
        blinded_element: blinded.message.clone(),
    };
    Ok(client.evaluate(request).await?.into_inner())
}

fn is_epoch_turn(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::InvalidArgument && status.message().starts_with("epoch:")
}

/// The partner's current filter: the cached one if its digest is still
/// current, else the new bytes, verified against the signed header.
async fn fresh_filter(
    node: &Arc<Node>,
    partner: NodeId,
    client: &mut FederationClient<tonic::transport::Channel>,
) -> Result<(Arc<Cached>, u32), Failure> {
    let cache = &node.lookup.querier;
    let held = cache
        .filters
        .lock()
        .ok()
        .and_then(|f| f.get(&partner).cloned());
    let known_digest = held
        .as_ref()
        .map(|c| c.header.digest.to_vec())
        .unwrap_or_default();
    let wire = client
        .get_lookup_filter(proto::LookupFilterRequest { known_digest })
        .await
        .map_err(rpc_failure)?
        .into_inner();
    let quota_left = wire.quota_left;
    let cached = accept_filter(node, partner, wire, held).map_err(untrusted)?;
    if let Ok(mut filters) = cache.filters.lock() {
        filters.insert(partner, cached.clone());
    }
    Ok((cached, quota_left))
}

/// Verifies a received filter: signature over the header, epoch current and not
/// older than the one held, bytes matching the signed digest.
pub fn accept_filter(
    node: &Node,
    partner: NodeId,
    wire: proto::LookupFilter,
    held: Option<Arc<Cached>>,
) -> Result<Arc<Cached>, LookupError> {
    let skew_ms = i64::try_from(node.config.max_clock_skew_seconds)
        .unwrap_or(0)
        .saturating_mul(1000);
    let seen = held.as_ref().map(|c| c.header.epoch);
    let header = filter::verify_header(
        &wire,
        partner.as_bytes(),
        liaison_core::now_ms(),
        skew_ms,
        seen,
    )?;
    if wire.filter.is_empty() {
        if let Some(held) = held.filter(|h| h.header.digest == header.digest) {
            return Ok(Arc::new(Cached {
                header,
                filter: held.filter.clone(),
            }));
        }
    }
    if filter::digest(&wire.filter) != header.digest {
        return Err(LookupError::Untrusted(
            "filter: bytes do not match the signed digest".into(),
        ));
    }
    let filter = LookupFilter::from_bytes(&wire.filter)?;
    Ok(Arc::new(Cached {
        header,
        filter: Arc::new(filter),
    }))
}
