//! The export's output file: written beside `--out` and renamed into place.
//!
//! Owns the temporary file, its fsync, the rename and the directory fsync. Must
//! never leave a half-written file at `--out`, nor replace one without `force`.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};

/// A temporary file in `--out`'s directory, so the final rename stays on one
/// file system (and is atomic). Deleted on drop if the export fails.
pub(super) fn temp_beside(out: &Path) -> Result<tempfile::NamedTempFile> {
    let parent = parent_dir(out);
    tempfile::Builder::new()
        .prefix(".liaison-export-")
        .tempfile_in(parent)
        .with_context(|| format!("--out: cannot create a file in {}", parent.display()))
}

fn parent_dir(out: &Path) -> &Path {
    match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// fsync, rename into place, fsync the directory: after this returns the file
/// is complete at `out`, and before it nothing is there (or the old file is).
pub(super) fn commit(temp: tempfile::NamedTempFile, out: &Path, force: bool) -> Result<()> {
    temp.as_file().sync_all().context("--out: fsync")?;
    let persisted = match force {
        true => temp.persist(out),
        false => temp.persist_noclobber(out),
    };
    persisted.map_err(|e| {
        anyhow::anyhow!(
            "--out: cannot move the export to {}: {}",
            out.display(),
            e.error
        )
    })?;
    File::open(parent_dir(out))
        .and_then(|d| d.sync_all())
        .context("--out: fsync of its directory")?;
    Ok(())
}
