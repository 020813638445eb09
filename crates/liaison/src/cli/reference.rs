//! `liaison completions SHELL` and `liaison man`: shell completion scripts and
//! man pages generated from the same clap command tree as `--help`, so they can
//! never disagree with it.
//!
//! This module only writes text; it must never need a node directory.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `text` to stdout; a reader that closed the pipe early (`| head`) is
/// not an error.
fn print(text: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = super::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "liaison", &mut script);
    print(&script)
}

/// Writes the top-level man page to stdout, or every page into `out`.
pub fn man(out: Option<&Path>) -> Result<()> {
    let command = super::command();
    match out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .context("rendering the man page")?;
            print(&page)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--out: cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("--out: cannot write the pages into {}", dir.display()))?;
            out!(
                "Wrote the man pages into {} (liaison.1 and one per subcommand).",
                dir.display()
            );
        }
    }
    Ok(())
}
