//! The demo's platform step (issue 15): a platform partner (a tech company that
//! found scam accounts) submits them to Agency A; A shows them as "reported by
//! platform …" with the evaluation A's admin capped them at, and holds them back
//! from B until an analyst at A endorses one with a "seen" sighting.
//!
//! Self-contained: it starts its own platform node and stops it. It must never
//! shortcut a check: everything goes through the nodes' real gRPC API.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::{ms, step, wait_for, PATIENCE};
use crate::lab::{request, LabNode};
use liaison_core::proto::{IndicatorKind as K, SightRequest, Tlp};

/// The accounts the platform found (fictional: drama-range numbers, example handles).
const ACCOUNTS: [(K, &str, &str); 3] = [
    (
        K::Handle,
        "telegram:@easy_job_thailand_example",
        "telegram:easy_job_thailand_example",
    ),
    (K::Phone, "+44 7700 900601", "+447700900601"),
    (K::Phone, "+44 7700 900602", "+447700900602"),
];

/// Runs the step as number `n`; `a` has `b` as a full partner that syncs from it.
/// Returns how many things went differently from the rules (0 when all held).
pub(super) async fn platform_submits(
    root: &Path,
    n: u32,
    a: &LabNode,
    b: &LabNode,
) -> Result<usize> {
    step(
        n,
        "a platform reports scam accounts to Agency A; A holds them back from B until an analyst endorses one",
    );
    let p = LabNode::start(root, "Platform-P (example social network)").await?;
    a.enroll_as(&p, "green", "platform", "C3").await?;
    p.enroll(a, "green", false).await?;
    out!("  A enrolls {} as a PLATFORM partner: submit-only, evaluation capped at C3, never relayed until endorsed", p.name);

    let mut submitted = Vec::new();
    for (kind, raw, value) in ACCOUNTS {
        let mut r = request(kind, raw, Tlp::Green);
        r.labels = vec!["scam-centre".into()];
        r.description = "account found advertising fake jobs (platform trust & safety)".into();
        r.evaluation = "A1".into();
        let published = p.publish(r).await?;
        submitted.push((kind, value, published.record_id));
    }
    let since = Instant::now();
    for (_, value, id) in &submitted {
        if wait_for(a, value, id, since).await?.is_none() {
            bail!("the platform's {value} did not reach A within {PATIENCE:?}");
        }
    }
    out!("  at A (the platform signed A1; A shows its cap):");
    for (kind, value, id) in &submitted {
        let view = a.view(*kind, value, id).await?;
        let evaluation = view
            .indicator
            .as_ref()
            .and_then(|i| i.evaluation.as_ref())
            .map(|e| format!("{}{}", e.source_reliability, e.information_accuracy))
            .unwrap_or_default();
        out!(
            "    {value:<38} reported by platform {}  evaluation {evaluation}  {}",
            view.reported_by_platform,
            if view.held_until_endorsed {
                "held"
            } else {
                "released"
            }
        );
    }

    // B is in sync once it has a record A published after the submissions.
    let marker = a
        .publish(super::with(
            request(K::Phone, "+44 7700 900609", Tlp::Green),
            "scam-centre",
            "A's own record, published after the platform's",
        ))
        .await?;
    if wait_for(b, "+447700900609", &marker.record_id, Instant::now())
        .await?
        .is_none()
    {
        bail!("B did not sync A's record within {PATIENCE:?}");
    }
    let mut surprises = 0;
    for (kind, value, id) in &submitted {
        let leaked = b.holds_kind(*kind, value, id).await?;
        surprises += usize::from(leaked);
        out!(
            "  B (synced with A) holds {value}: {}",
            if leaked {
                "YES (unexpected!)"
            } else {
                "no, held at A"
            }
        );
    }

    let (_, value, endorsed) = &submitted[0];
    a.client
        .analyst()
        .sight(SightRequest {
            record_id: endorsed.clone(),
            note: "confirmed in a victim statement (fictional)".into(),
            r#type: "seen".into(),
        })
        .await?;
    out!("  an analyst at A endorses {value} (sight --type seen)");
    let started = Instant::now();
    match wait_for(b, value, endorsed, started).await? {
        Some(t) => out!(
            "  B now holds {value} after {:.1} ms (still signed by the platform)",
            ms(t)
        ),
        None => {
            out!("  B holds {value}: NO (unexpected!)");
            surprises += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (kind, value, id) in &submitted[1..] {
        let leaked = b.holds_kind(*kind, value, id).await?;
        surprises += usize::from(leaked);
        out!(
            "  B holds the unendorsed {value}: {}",
            if leaked { "YES (unexpected!)" } else { "no" }
        );
    }
    p.stop().await?;
    Ok(surprises)
}
