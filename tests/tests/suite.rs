//! The black-box suite as one test binary: every file beside this one is a module
//! here, so the shared harness (`common`) is compiled and linked once instead of
//! once per file. Run one file's tests with `cargo test -p liaison-tests --test
//! suite FILE::` (e.g. `--test suite taxii::`).

mod common;

mod analyst;
mod audit;
mod bench;
mod bulk;
mod bulletin_exports;
mod bulletins;
mod cli_help;
mod console;
mod console_browser;
mod console_http;
mod console_pages;
mod crash;
mod disclosure;
mod evidence;
mod faults;
mod federation;
mod foundation;
mod hardening;
mod heads_flood;
mod hostile;
mod hostile_relay;
mod http_access;
mod idle_flood;
mod import;
mod import_fidelity;
mod import_pipeline;
mod indicator_kinds;
mod interop;
mod interop_readers;
mod json_mapping;
mod justification;
mod limits;
mod lookup;
mod lookup_ahead;
mod metrics;
mod misp_feed_state;
mod mixed_version;
mod operations_cli;
mod operator_clarity;
mod ops;
mod packaging;
mod partner_state;
mod python_client;
mod receive;
mod revocation_feeds;
mod revoked_client;
mod revoked_open_connection;
mod revoked_restart;
mod rotation_grace;
mod seams;
mod taxii;
mod taxii_paging;
mod upgrade;
mod versions;
mod walk;
mod workflows;
