//! `liaison partner …`: enroll (after a fingerprint check, interactive or
//! `--expect-fingerprint`), list, revoke and block partner agencies.
//!
//! Node ids may be given as unique prefixes (see `ids`); the node always
//! receives the full id. This module must never enroll a bundle whose
//! fingerprint was neither confirmed nor matched.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::status::status_error;
use super::{ids, output, PartnerCommand};
use crate::client::NodeClient;
use liaison_core::proto;
use liaison_core::record::Tlp;
use liaison_identity::identity::{Bundle, NodeDir};

pub async fn partner(dir: &NodeDir, command: PartnerCommand) -> Result<()> {
    let client = NodeClient::for_dir(dir).await?;
    match command {
        PartnerCommand::Add {
            bundle,
            max_tlp,
            relay,
            kind,
            max_evaluation,
            expect_fingerprint,
            yes,
            json,
        } => {
            let check = match (expect_fingerprint, yes) {
                (Some(expected), _) => Check::Expect(expected),
                (None, true) => Check::Skip,
                (None, false) => Check::Ask,
            };
            let terms = (kind, max_evaluation.unwrap_or_default());
            add(&client, &bundle, max_tlp, relay, terms, check, json).await
        }
        PartnerCommand::List { json } => {
            let list = client
                .admin()
                .list_partners(proto::ListPartnersRequest {})
                .await
                .map_err(status_error)?
                .into_inner();
            match json {
                true => output::print_json(&list)?,
                false => output::print_partners(&list),
            }
            Ok(())
        }
        PartnerCommand::Block { node_id, json } => {
            let node_id = ids::resolve(&client, "node_id", &node_id).await?;
            let request = proto::BlockOriginRequest {
                node_id: node_id.clone(),
            };
            client
                .admin()
                .block_origin(request)
                .await
                .map_err(status_error)?;
            match json {
                true => output::print_json(&proto::OriginBlocked { node_id })?,
                false => out!("Blocked origin {node_id}: its records are refused from now on (those already stored stay)."),
            }
            Ok(())
        }
        PartnerCommand::Revoke { node_id, json } => {
            let node_id = ids::resolve(&client, "node_id", &node_id).await?;
            let response = client
                .admin()
                .revoke_partner(proto::RevokePartnerRequest {
                    node_id: node_id.clone(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let closed = response.was_connected;
            match json {
                true => output::print_json(&proto::PartnerRevoked {
                    node_id,
                    was_connected: closed,
                })?,
                false => out!(
                    "Revoked {node_id}{}.",
                    if closed {
                        "; its open streams were closed"
                    } else {
                        ""
                    }
                ),
            }
            Ok(())
        }
    }
}

/// How the bundle's fingerprint is checked before enrolling.
enum Check {
    /// Ask the admin at the terminal.
    Ask,
    /// Compare with the fingerprint given on the command line.
    Expect(String),
    /// `--yes`: the admin checked it some other way.
    Skip,
}

async fn add(
    client: &NodeClient,
    bundle: &Path,
    max_tlp: Tlp,
    relay: bool,
    (kind, max_evaluation): (liaison_core::policy::PartnerKind, String),
    check: Check,
    json: bool,
) -> Result<()> {
    let text =
        std::fs::read_to_string(bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let parsed = Bundle::from_pem(&text)?;
    let fingerprint = parsed.fingerprint();
    if !json {
        out!("Partner:     {}", parsed.name);
        out!("Node id:     {}", parsed.node_id);
        out!("Endpoints:   {}", parsed.endpoints.join(", "));
        out!("Fingerprint: {fingerprint}");
        out!(
            "Terms:       up to TLP:{max_tlp}{}",
            if relay { ", with relay rights" } else { "" }
        );
    }
    match check {
        Check::Expect(expected) => check_fingerprint(&expected, &fingerprint)?,
        Check::Skip => {}
        Check::Ask => {
            if !confirm("Does this fingerprint match the one the partner read to you? [y/N] ")? {
                bail!("not enrolled: fingerprint not confirmed");
            }
        }
    }
    let request = proto::AddPartnerRequest {
        bundle: parsed.signed.clone(),
        max_tlp: max_tlp.as_str().to_string(),
        relay,
        confirmed_fingerprint: fingerprint,
        kind: kind.as_str().to_string(),
        max_evaluation,
    };
    let info = client
        .admin()
        .add_partner(request)
        .await
        .map_err(status_error)?
        .into_inner();
    match json {
        true => output::print_json(&info)?,
        false => out!("Enrolled {} ({}).", info.name, ids::short(&info.node_id)),
    }
    Ok(())
}

/// `--expect-fingerprint`: the bundle's fingerprint must be the one given,
/// compared as digits only (spaces, colons, dashes and case as typed do not matter).
fn check_fingerprint(expected: &str, actual: &str) -> Result<()> {
    let digits = |text: &str| -> String {
        text.chars()
            .filter(|c| !matches!(c, ' ' | ':' | '-'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    if digits(expected).is_empty() {
        bail!("--expect-fingerprint: empty");
    }
    if digits(expected) != digits(actual) {
        bail!(
            "--expect-fingerprint: the bundle's fingerprint is {actual}, not {}; not enrolled",
            liaison_core::untrusted::quote(expected)
        );
    }
    Ok(())
}

fn confirm(prompt: &str) -> Result<bool> {
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::check_fingerprint;

    #[test]
    fn expected_fingerprint_ignores_spacing_and_case_and_refuses_a_mismatch() {
        let actual = "05750 62079 17936";
        check_fingerprint("057506207917936", actual).unwrap();
        check_fingerprint("05750:62079:17936", actual).unwrap();
        let wrong = check_fingerprint("05750 62079 17937", actual).unwrap_err();
        assert!(
            wrong.to_string().starts_with("--expect-fingerprint:"),
            "{wrong}"
        );
        assert!(check_fingerprint("  ", actual).is_err());
    }
}
