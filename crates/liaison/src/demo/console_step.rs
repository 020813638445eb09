//! `liaison demo --console`: after the scenario, the federation keeps running
//! and a console serves Agency A to the newcomer's browser, as an analyst
//! would see it (a client certificate issued for the demo, not the admin's),
//! until Ctrl-C; the demo then stops the nodes and cleans up as without it.
//!
//! This module must never give the console more than an analyst's
//! certificate, nor leave a node running after Ctrl-C.

use std::path::Path;

use anyhow::{Context, Result};

use crate::lab::LabNode;
use liaison_identity::identity::Role;

pub(super) async fn serve(a: &LabNode, root: &Path, args: &super::DemoArgs) -> Result<()> {
    let folder = root.join("demo-analyst");
    crate::cli::commands::issue_files(&a.dir, "Demo Analyst", Role::Analyst, &folder)?;
    let node = std::fs::read_to_string(a.dir.bound_address())
        .context("Agency A's address")?
        .trim()
        .to_string();
    let folder_text = folder.display().to_string();
    let mut line = vec![
        "--client",
        &folder_text,
        "--node",
        &node,
        "--listen",
        &args.listen,
    ];
    if args.open {
        line.push("--open");
    }
    let console_args = crate::console::args_from(&line)?;
    let address = crate::console::listen_address(&console_args.listen, None)?;
    let (client, who) = crate::console::connect(None, &console_args).await?;
    out!(
        "\n== The federation keeps running; a console on {} as an analyst:",
        a.name
    );
    out!(
        "   try searching +44 7700 900123 (federated, with a justification), Records and Partners."
    );
    crate::console::serve(
        client,
        who,
        address,
        &console_args,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        None,
    )
    .await
}
