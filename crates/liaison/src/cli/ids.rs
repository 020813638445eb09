//! Node ids on the command line: the full 64 hex digits, or any unique prefix of
//! at least 8 (the 16-digit form `partner list` prints included), resolved
//! against the agencies this node knows (itself, its partners, origins known via
//! a relay). The node itself still receives and checks the full id.
//!
//! This module must never guess: an ambiguous or unknown prefix is an error that
//! names the flag and the candidates.

use anyhow::{bail, Result};

use super::status::status_error;
use crate::client::NodeClient;
use liaison_core::proto;

/// Fewest hex digits accepted as a node id prefix.
pub const MIN_PREFIX: usize = 8;
/// Digits of a full node id (an Ed25519 key, hex).
const FULL: usize = 64;
/// How ids are shown: enough digits to be unique in any real federation.
pub const SHOWN: usize = 16;

/// The first [`SHOWN`] digits of an id (the whole text if shorter).
pub fn short(id: &str) -> &str {
    id.get(..SHOWN).unwrap_or(id)
}

/// `given` in lower case if it can be a node id or a prefix of one.
fn well_formed(field: &str, given: &str) -> Result<String> {
    let wanted = given.trim().to_ascii_lowercase();
    if wanted.len() < MIN_PREFIX
        || wanted.len() > FULL
        || !wanted.bytes().all(|b| b.is_ascii_hexdigit())
    {
        bail!(
            "{field}: {} is not a node id (64 hex digits) or a prefix of at least {MIN_PREFIX}",
            liaison_core::untrusted::quote(given)
        );
    }
    Ok(wanted)
}

/// Resolves `given` (a full id or a prefix) among `known` (name, full id) pairs.
/// `field` names the flag or argument in errors.
pub fn resolve_among(field: &str, given: &str, known: &[(String, String)]) -> Result<String> {
    let wanted = well_formed(field, given)?;
    let mut matches: Vec<&(String, String)> = known
        .iter()
        .filter(|(_, id)| id.starts_with(&wanted))
        .collect();
    matches.sort_by(|a, b| a.1.cmp(&b.1));
    matches.dedup_by(|a, b| a.1 == b.1);
    match matches.as_slice() {
        [(_, id)] => Ok(id.clone()),
        [] if wanted.len() == FULL => Ok(wanted),
        [] => bail!(
            "{field}: no known agency's node id starts with {wanted} (see `liaison partner list`)"
        ),
        many => {
            let names: Vec<String> = many
                .iter()
                .map(|(name, id)| format!("{name} ({})", short(id)))
                .collect();
            bail!(
                "{field}: {wanted} matches {} agencies: {}; give more digits",
                many.len(),
                names.join(", ")
            )
        }
    }
}

/// Every agency this node knows: itself, its partners and origins known via relays.
async fn known(client: &NodeClient) -> Result<Vec<(String, String)>> {
    let identity = client
        .admin()
        .show_identity(proto::ShowIdentityRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    let list = client
        .admin()
        .list_partners(proto::ListPartnersRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    let mut known = vec![(identity.name, identity.node_id)];
    known.extend(list.partners.into_iter().map(|p| (p.name, p.node_id)));
    known.extend(list.known_origins.into_iter().map(|k| (k.name, k.node_id)));
    Ok(known)
}

/// Resolves one id given on the command line; a full 64-digit id is taken as
/// it is, without asking the node.
pub async fn resolve(client: &NodeClient, field: &str, given: &str) -> Result<String> {
    let ids = resolve_all(client, field, std::slice::from_ref(&given.to_string())).await?;
    Ok(ids.into_iter().next().unwrap_or_default())
}

/// Resolves several ids (repeatable flags), asking the node at most once.
pub async fn resolve_all(
    client: &NodeClient,
    field: &str,
    given: &[String],
) -> Result<Vec<String>> {
    let wanted = given
        .iter()
        .map(|id| well_formed(field, id))
        .collect::<Result<Vec<_>>>()?;
    if wanted.iter().all(|id| id.len() == FULL) {
        return Ok(wanted);
    }
    let known = known(client).await?;
    given
        .iter()
        .map(|id| resolve_among(field, id, &known))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<(String, String)> {
        vec![
            ("Agency A".into(), format!("abcdef01{}", "0".repeat(56))),
            ("Agency B".into(), format!("abcdef02{}", "1".repeat(56))),
            ("Agency C".into(), format!("12345678{}", "2".repeat(56))),
        ]
    }

    #[test]
    fn a_unique_prefix_of_eight_or_more_resolves() {
        let id = resolve_among("node_id", "12345678", &known()).unwrap();
        assert_eq!(id, known()[2].1);
        let sixteen = &known()[0].1[..16].to_uppercase();
        assert_eq!(
            resolve_among("node_id", sixteen, &known()).unwrap(),
            known()[0].1
        );
    }

    #[test]
    fn short_unknown_and_non_hex_are_refused_naming_the_field() {
        let short = resolve_among("node_id", "abcdef0", &known()).unwrap_err();
        assert!(short.to_string().starts_with("node_id:"), "{short}");
        let unknown = resolve_among("--recipient", "abcdef00", &known()).unwrap_err();
        assert!(
            unknown
                .to_string()
                .starts_with("--recipient: no known agency"),
            "{unknown}"
        );
        assert!(resolve_among("node_id", "zzzzzzzz", &known()).is_err());
    }

    #[test]
    fn a_prefix_shared_by_two_agencies_names_both() {
        let mut both = known();
        both.push(("Agency D".into(), format!("abcdef01{}", "f".repeat(56))));
        let error = resolve_among("node_id", "abcdef01", &both)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("Agency A") && error.contains("Agency D"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_full_id_passes_through_for_the_node_to_judge() {
        let full = "9".repeat(64);
        assert_eq!(resolve_among("node_id", &full, &known()).unwrap(), full);
    }
}
