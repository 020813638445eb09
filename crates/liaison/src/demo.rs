//! `liaison demo`: three agencies on loopback, each a real node with real
//! certificates on a real socket, showing enrollment, propagation with measured
//! latency, relay, the TLP rules, a platform partner's held submissions, and
//! revocation, then cleaning up.
//!
//! All data is fictional: UK drama-range numbers, BIP-173 test-vector wallets,
//! example.org names.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::lab::{request, LabNode};

mod bulletin_step;
use liaison_core::proto::{IndicatorKind as K, PublishRequest, Tlp};

mod console_step;
mod platform;

/// `liaison demo` without flags runs the scenario and cleans up.
#[derive(clap::Args, Debug, Default)]
pub struct DemoArgs {
    /// Afterwards, keep the federation running with a console on Agency A (an
    /// analyst's certificate) until Ctrl-C.
    #[arg(long)]
    pub console: bool,
    /// With --console: where the console listens (port 0 picks a free port).
    #[arg(
        long,
        default_value = "127.0.0.1:8484",
        value_name = "ADDRESS",
        requires = "console"
    )]
    pub listen: String,
    /// With --console: open the console in the desktop's browser.
    #[arg(long, requires = "console")]
    pub open: bool,
}

const PATIENCE: Duration = Duration::from_secs(10);

fn step(n: u32, title: &str) {
    out!("\n== Step {n}: {title}");
}

/// Polls until `node` holds the record; returns how long that took.
async fn wait_for(
    node: &LabNode,
    value: &str,
    id: &str,
    since: Instant,
) -> Result<Option<Duration>> {
    while since.elapsed() < PATIENCE {
        if node.holds(value, id).await? {
            return Ok(Some(since.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(None)
}

struct Item {
    what: &'static str,
    value: &'static str,
    request: PublishRequest,
    expect_b: bool,
    expect_c: bool,
    rule: &'static str,
}

fn with(mut r: PublishRequest, label: &str, description: &str) -> PublishRequest {
    r.labels = vec![label.to_string()];
    r.description = description.to_string();
    r.evaluation = "B2".into();
    r
}

fn data_set(b_id: &str) -> Vec<Item> {
    let mut red = with(
        request(K::Handle, "telegram:@hr_recruit_example", Tlp::Red),
        "human-trafficking",
        "recruiter handle, for Agency B only",
    );
    red.recipients = vec![b_id.to_string()];
    let mut h2 = with(
        request(K::Email, "payroll@example.org", Tlp::Green),
        "money-laundering",
        "payroll contact",
    );
    h2.handling = vec![liaison_core::proto::Handling::H2 as i32];
    vec![
        Item {
            what: "phone (GREEN)",
            value: "+447700900123",
            request: with(
                request(K::Phone, "07700 900123", Tlp::Green),
                "scam-centre",
                "number in three victim statements",
            ),
            expect_b: true,
            expect_c: true,
            rule: "GREEN: partners, relayed",
        },
        Item {
            what: "BTC wallet (GREEN)",
            value: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            request: with(
                request(
                    K::Wallet,
                    "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
                    Tlp::Green,
                ),
                "money-laundering",
                "test-vector wallet",
            ),
            expect_b: true,
            expect_c: true,
            rule: "GREEN: partners, relayed",
        },
        Item {
            what: "job advert (CLEAR)",
            value: "Customer service job in Bangkok, high salary, free flight, no experience",
            request: with(
                request(
                    K::Jobad,
                    "CUSTOMER SERVICE JOB IN BANGKOK,  high salary, free flight, no experience",
                    Tlp::Clear,
                ),
                "human-trafficking",
                "fake job advert",
            ),
            expect_b: true,
            expect_c: true,
            rule: "CLEAR: everyone",
        },
        Item {
            what: "domain (AMBER)",
            value: "recruit-jobs.example.org",
            request: with(
                request(K::Domain, "Recruit-Jobs.Example.ORG", Tlp::Amber),
                "fraud",
                "recruitment site",
            ),
            expect_b: true,
            expect_c: false,
            rule: "AMBER: direct partners only",
        },
        Item {
            what: "handle (RED for B)",
            value: "telegram:hr_recruit_example",
            request: red,
            expect_b: true,
            expect_c: false,
            rule: "RED: named recipient only",
        },
        Item {
            what: "e-mail (GREEN, H2)",
            value: "payroll@example.org",
            request: h2,
            expect_b: true,
            expect_c: false,
            rule: "H2: never relayed",
        },
    ]
}

fn mark(held: bool, expected: bool) -> &'static str {
    match (held, expected) {
        (true, true) => "yes",
        (false, false) => "no ",
        (true, false) => "YES (unexpected!)",
        (false, true) => "NO (unexpected!)",
    }
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let root = tempfile::Builder::new().prefix("liaison-demo-").tempdir()?;
    out!(
        "Liaison demo: three agencies on 127.0.0.1, in {}",
        root.path().display()
    );
    let outcome = match scenario(root.path()).await {
        Ok((nodes, verdict)) => {
            let served = match (args.console, &verdict) {
                (true, Ok(())) => console_step::serve(&nodes[0], root.path(), &args).await,
                _ => Ok(()),
            };
            out!("\nStopping the three nodes (graceful: in-flight writes finish, databases flushed).");
            let mut stopped = Ok(());
            for node in nodes {
                if let Err(e) = node.stop().await {
                    stopped = Err(e);
                }
            }
            verdict.and(served).and(stopped)
        }
        Err(e) => Err(e),
    };
    out!("\nCleaning up {} ...", root.path().display());
    drop(root);
    outcome
}

/// The scenario; the three nodes still run when it returns, with its verdict.
async fn scenario(root: &std::path::Path) -> Result<(Vec<LabNode>, Result<()>)> {
    step(
        1,
        "three agencies create their nodes (Ed25519 signing key, TLS certificate, local CA)",
    );
    let a = LabNode::start(root, "Agency-A (example police bureau)").await?;
    let b = LabNode::start(root, "Agency-B (example national police)").await?;
    let c = LabNode::start(root, "Agency-C (example anti-trafficking NGO)").await?;
    for node in [&a, &b, &c] {
        out!(
            "  {:<42} node {}…  fingerprint {}",
            node.name,
            &node.node_id[..16],
            node.fingerprint().await?
        );
    }

    step(2, "admins enroll partners after comparing fingerprints: A<->B (A allows B up to RED, relay), B<->C (GREEN, relay); C and A do not know each other");
    a.enroll(&b, "red", true).await?;
    b.enroll(&a, "red", true).await?;
    b.enroll(&c, "green", true).await?;
    c.enroll(&b, "green", true).await?;
    out!("  enrolled; each node pins its partners' certificates and pulls over mutual TLS 1.3");

    step(
        3,
        "Agency A publishes a small scam-centre data set (signed by A)",
    );
    let items = data_set(&b.node_id);
    let mut ids = Vec::new();
    for item in &items {
        let published = a.publish(item.request.clone()).await?;
        out!(
            "  {:<20} {}  -> record {}…",
            item.what,
            published.normalized_value,
            &published.record_id[..12]
        );
        ids.push(published);
    }

    step(
        4,
        "propagation, measured: a new GREEN number published at A",
    );
    let started = Instant::now();
    let fresh = a
        .publish(with(
            request(K::Phone, "+44 7700 900789", Tlp::Green),
            "romance-scam",
            "new number",
        ))
        .await?;
    let to_b = wait_for(&b, "+447700900789", &fresh.record_id, started).await?;
    let to_c = wait_for(&c, "+447700900789", &fresh.record_id, started).await?;
    match (to_b, to_c) {
        (Some(b_time), Some(c_time)) => out!(
            "  A -> B in {:.1} ms; A -> B -> C (relayed, still signed by A) in {:.1} ms",
            ms(b_time),
            ms(c_time)
        ),
        _ => bail!("the record did not propagate within {PATIENCE:?}"),
    }

    step(
        5,
        "who holds what (the serving node enforces TLP and handling; C never talks to A)",
    );
    out!("  {:<20} {:<18} {:<18} rule", "record", "at B", "at C");
    let mut surprises = 0;
    for (item, published) in items.iter().zip(&ids) {
        let kind = K::try_from(item.request.kind).unwrap_or(K::Unspecified);
        let at_b = b.holds_kind(kind, item.value, &published.record_id).await?;
        let at_c = c.holds_kind(kind, item.value, &published.record_id).await?;
        surprises += usize::from(at_b != item.expect_b) + usize::from(at_c != item.expect_c);
        out!(
            "  {:<20} {:<18} {:<18} {}",
            item.what,
            mark(at_b, item.expect_b),
            mark(at_c, item.expect_c),
            item.rule
        );
    }
    let c_view = c.partners().await?;
    for known in &c_view.known_origins {
        out!(
            "  C knows {} via B (its signature is checked on every relayed record)",
            known.name
        );
    }

    step(
        6,
        "correlation and federated search: B also holds the number, C sighted it",
    );
    let phone_id = &ids[0].record_id;
    let from_b = b
        .publish(with(
            request(K::Phone, "+44 7700 900123", Tlp::Green),
            "scam-centre",
            "same number, B's own case",
        ))
        .await?;
    c.client
        .analyst()
        .sight(liaison_core::proto::SightRequest {
            record_id: phone_id.clone(),
            note: "seen in a new statement".into(),
            ..Default::default()
        })
        .await?;
    let since = Instant::now();
    wait_for(&a, "+447700900123", &from_b.record_id, since).await?;
    private_lookup(&a).await?;
    let query = liaison_core::proto::SearchRequest {
        value: "+44 7700 900123".into(),
        federated: true,
        justification: "victim statement (fictional)".into(),
        case_reference: "CASE-DEMO-1".into(),
        ..Default::default()
    };
    let mut agencies = 0;
    while since.elapsed() < PATIENCE && agencies < 3 {
        let answer = a.client.analyst().search(query.clone()).await?.into_inner();
        agencies = answer.correlations.first().map(|c| c.agencies).unwrap_or(0);
        if agencies >= 3 || since.elapsed() >= PATIENCE {
            out!("  A searches +44 7700 900123 across the federation:");
            for p in &answer.partners {
                out!(
                    "    partner {:<40} {} in {} ms, {} record(s)",
                    p.name,
                    p.status,
                    p.latency_ms,
                    p.records
                );
            }
            for h in answer.correlations.iter().flat_map(|c| &c.holdings) {
                let verb = if h.records > 0 {
                    "held by"
                } else {
                    "sighted by"
                };
                out!(
                    "    {verb:<10} {:<40} records {}  sightings {}  labels {}",
                    h.name,
                    h.records,
                    h.sightings,
                    h.labels.join(",")
                );
            }
            out!("    -> known to {agencies} agencies");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    step(
        7,
        "Agency A withdraws its record; the revocation follows it to C, through B",
    );
    let revoked_at = Instant::now();
    a.client
        .analyst()
        .revoke(liaison_core::proto::RevokeRequest {
            record_id: phone_id.clone(),
            reason: "attributed in error".into(),
        })
        .await?;
    let mut gone_after = None;
    while revoked_at.elapsed() < PATIENCE {
        if !c.holds("+447700900123", phone_id).await? && !b.holds("+447700900123", phone_id).await?
        {
            gone_after = Some(revoked_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    match gone_after {
        Some(t) => out!(
            "  gone from B and C search after {:.1} ms (kept only as a tombstone)",
            ms(t)
        ),
        None => bail!("the revocation did not reach C within {PATIENCE:?}"),
    }

    bulletin_step::run(8, &a, root).await?;

    let platform_surprises = platform::platform_submits(root, 9, &a, &b).await?;

    step(10, "Agency A revokes Agency B");
    a.revoke(&b).await?;
    let revoked_at = Instant::now();
    let mut state = String::new();
    while revoked_at.elapsed() < Duration::from_secs(2) {
        state = b
            .partners()
            .await?
            .partners
            .iter()
            .find(|p| p.node_id == a.node_id)
            .map(|p| p.connection.clone())
            .unwrap_or_default();
        // A stream cut by the revocation may read as unreachable for a moment
        // before the partner's refusal names it.
        if state != "connected" && !state.ends_with("unreachable") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    out!(
        "  B's stream from A after {:.0} ms: {state}",
        ms(revoked_at.elapsed())
    );
    let after = a
        .publish(with(
            request(K::Phone, "+44 7700 900999", Tlp::Green),
            "scam-centre",
            "published after revocation",
        ))
        .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let leaked = b.holds("+447700900999", &after.record_id).await?;
    out!(
        "  a record A publishes now reaches B: {}",
        if leaked { "YES (unexpected!)" } else { "no" }
    );

    let nodes = vec![a, b, c];
    if surprises + platform_surprises > 0 || leaked || state == "connected" || agencies < 3 {
        let verdict = Err(anyhow::anyhow!(
            "the demo saw {} unexpected deliveries; see above",
            surprises + platform_surprises
        ));
        return Ok((nodes, verdict));
    }
    out!("Done: every marking was enforced.");
    Ok((nodes, Ok(())))
}

/// Before a search that shows the value to partners, A asks privately (a
/// blinded VOPRF evaluation and each partner's signed filter) who holds it.
async fn private_lookup(a: &LabNode) -> Result<()> {
    out!("  First, privately (the value never leaves A; docs/PRIVATE_LOOKUP.md):");
    for value in ["+44 7700 900123", "+44 7700 900555"] {
        let answer = a
            .client
            .analyst()
            .lookup(liaison_core::proto::LookupRequest {
                value: value.into(),
                kind: K::Phone as i32,
                default_country: String::new(),
            })
            .await?
            .into_inner();
        for p in &answer.partners {
            let verdict = match (p.status.as_str(), p.hit) {
                ("answered", true) => "HIT".to_string(),
                ("answered", false) => "no hit".to_string(),
                (status, _) => status.to_string(),
            };
            out!(
                "    lookup {value}: {:<40} {verdict:<7} ({} evaluations left today)",
                p.name,
                p.quota_left
            );
        }
    }
    out!("  A hit, so A's analyst now searches with a justification, which B logs:");
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
