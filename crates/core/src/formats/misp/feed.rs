//! MISP feed directories: `manifest.json` names the events, one `{uuid}.json`
//! file each. Owns only listing the files (each is read with [`super::read`]);
//! must never open a path the manifest could steer outside the directory.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::formats::{Location, RowError};
use crate::untrusted::quote;

/// The event files of a MISP feed directory, from its `manifest.json` (whose
/// keys are event uuids; anything else is refused, so a manifest can never
/// name a file outside the directory).
pub fn feed_files(dir: &Path) -> Result<Vec<PathBuf>, RowError> {
    let manifest = dir.join("manifest.json");
    let error = |reason: String| RowError::new(Location::File, "manifest.json", reason);
    let text = std::fs::read(&manifest).map_err(|e| error(format!("unreadable: {e}")))?;
    let entries: serde_json::Map<String, Value> = serde_json::from_slice(&text)
        .map_err(|e| error(format!("not a MISP feed manifest: {e}")))?;
    entries
        .keys()
        .map(|uuid| match uuid::Uuid::try_parse(uuid) {
            Ok(parsed) if parsed.hyphenated().to_string() == uuid.to_ascii_lowercase() => {
                Ok(dir.join(format!("{uuid}.json")))
            }
            _ => Err(error(format!("{} is not an event uuid", quote(uuid)))),
        })
        .collect()
}
