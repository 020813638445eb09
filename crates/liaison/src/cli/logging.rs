//! Where the node's log lines go and how they look: human text on stderr, with
//! colour only when stderr is a terminal and `NO_COLOR` is unset, or one JSON
//! object per line (`--log-format json`) for log shippers.
//!
//! This module must never write to stdout (command output goes there) and never
//! emit escape codes into a file or a pipe.

use std::io::IsTerminal;

/// How log lines are written (`--log-format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One line of text per event (colour only on a terminal without NO_COLOR).
    #[default]
    Text,
    /// One JSON object per line, with timestamp, level, target and fields.
    Json,
}

/// Whether colour may be used: stderr is a terminal and `NO_COLOR` is unset or
/// empty (<https://no-color.org>).
pub fn colour_allowed(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// Installs the global subscriber. `default` is the filter when `LIAISON_LOG`
/// is unset (`info`, `warn` …).
pub fn init(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIAISON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
        LogFormat::Text => {
            let colour = colour_allowed(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            );
            builder.with_ansi(colour).try_init()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_allowed(true, None));
        assert!(colour_allowed(true, Some(OsStr::new(""))));
        assert!(!colour_allowed(true, Some(OsStr::new("1"))));
        assert!(!colour_allowed(false, None));
    }
}
