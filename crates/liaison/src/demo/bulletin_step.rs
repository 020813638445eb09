//! The demo's bulletin step (issue 15), self-contained: Agency A enrolls a
//! hotline NGO, publishes a bulletin grouping indicators of mixed TLP, and the
//! NGO receives it with only the CLEAR/GREEN members; the rest are counted as
//! withheld, their ids never sent.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::lab::{request, LabNode};
use liaison_core::proto::{self, IndicatorKind as K, Tlp};

const PATIENCE: Duration = Duration::from_secs(10);

/// Runs the step against A (running); starts and stops its own NGO node.
pub async fn run(step_no: u32, a: &LabNode, root: &std::path::Path) -> Result<()> {
    super::step(
        step_no,
        "Agency A warns a victim-hotline NGO of a campaign in a bulletin; the NGO sees only what it may",
    );
    let n = LabNode::start(root, "Hotline-N (example victim-support NGO)").await?;
    a.enroll_as(&n, "amber", "ngo", "").await?;
    n.enroll(a, "green", false).await?;
    out!(
        "  A enrolled {} as an NGO partner (receives CLEAR/GREEN only)",
        n.name
    );

    let members = [
        (K::Domain, "overseas-jobs.example.org", Tlp::Clear),
        (K::Phone, "+44 7700 900611", Tlp::Green),
        (K::Phone, "+44 7700 900612", Tlp::Amber),
        (K::Handle, "telegram:@compound_hr_example", Tlp::Amber),
    ];
    let mut ids = Vec::new();
    for (kind, value, tlp) in members {
        let published = a.publish(request(kind, value, tlp)).await?;
        out!(
            "  member {:<32} {:<6} record {}…",
            published.normalized_value,
            format!("{tlp:?}").to_uppercase(),
            &published.record_id[..12]
        );
        ids.push(published.record_id);
    }
    let published = a
        .client
        .analyst()
        .publish_bulletin(proto::PublishBulletinRequest {
            title: "Fake overseas job adverts recruiting for scam compounds (fictional)".into(),
            summary: "Adverts promise office work abroad; recruits are moved across the border and forced to run scams.".into(),
            modus_operandi: "Job advert, messenger interview, paid flight, passport confiscated on arrival.".into(),
            labels: vec!["human-trafficking".into(), "scam-centre".into()],
            countries: vec!["KE".into(), "MM".into(), "TH".into()],
            members: ids.clone(),
            tlp: Tlp::Green as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    out!(
        "  A published GREEN bulletin {}… grouping {} indicators (signed; members as salted commitments)",
        &published.record_id[..12],
        ids.len()
    );

    let started = Instant::now();
    let view = loop {
        let listed = n
            .client
            .analyst()
            .list_bulletins(proto::ListBulletinsRequest {})
            .await?
            .into_inner();
        let arrived = listed
            .bulletins
            .into_iter()
            .find(|b| b.record_id == published.record_id && b.members.len() == 2);
        if let Some(view) = arrived {
            break view;
        }
        if started.elapsed() > PATIENCE {
            bail!("the bulletin did not reach the NGO within {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    out!(
        "  at the NGO after {:.1} ms: \"{}\"",
        started.elapsed().as_secs_f64() * 1000.0,
        view.title
    );
    for m in &view.members {
        out!(
            "    visible: {:<32} record {}…",
            m.value,
            &m.record_id[..12]
        );
    }
    out!(
        "    {} of {} members withheld (AMBER: never sent to an NGO, not even their ids)",
        view.withheld,
        view.members_total
    );
    let leaked = view
        .members
        .iter()
        .any(|m| m.record_id == ids[2] || m.record_id == ids[3]);
    n.stop().await?;
    if leaked || view.withheld != 2 {
        bail!("the NGO saw a member it may not see");
    }
    Ok(())
}
