//! A partner's connection state in words an administrator can act on: the one
//! place that turns a failed connection or call (a gRPC status, a TLS alert, a
//! refused TCP connection, a timeout) into "not yet enrolled by the partner",
//! "revoked by the partner", "certificate changed", "unreachable",
//! "rate-limited", "protocol mismatch" and the like. The puller's `partner list`
//! state, its warn-once log, federated search, `doctor` and the metrics all ask
//! here, so they never disagree and never show a raw transport text that flips
//! from one retry to the next.
//!
//! Why this reads the error's source chain: a partner that no longer pins our
//! certificate refuses it with a TLS alert. In TLS 1.3 the client's handshake
//! has already finished by then, so the alert arrives on the first read and
//! reaches tonic as `Unknown: transport error` or `Cancelled: operation was
//! canceled`; the alert itself is only found by walking `source()` (and
//! looking inside each `io::Error`, whose `source()` skips the error it wraps).
//! Typed errors win; when HTTP/2 has already turned the I/O error into kind
//! plus text, rustls's wording (`received fatal alert: UnknownCA`) is read.
//! The server side closes a refused connection gently so that the alert is
//! not lost to a reset (liaison-server's `accept.rs`).
//!
//! This module must never log, block or touch the network: it only names.

use std::error::Error as StdError;
use std::io;

use rustls::AlertDescription;

/// What a partner's connection looks like from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartnerState {
    /// A sync stream is open.
    Connected,
    /// Not tried yet (the node has just started or just enrolled it).
    Connecting,
    /// The partner refuses our certificate and has never accepted it: its
    /// administrator has not run `partner add` with our bundle yet.
    NotEnrolled,
    /// The partner accepted us before and now refuses us: it revoked us.
    Revoked,
    /// The partner accepts the connection but refuses the call for another
    /// reason (e.g. what its terms for us allow).
    Refused,
    /// The partner presents a TLS certificate other than the one pinned here.
    CertificateChanged,
    /// No answer: nothing listens, the network is down, or it timed out.
    Unreachable,
    /// The partner's limits refuse our calls for now.
    RateLimited,
    /// The two nodes do not speak the same protocol (versions, TLS, gRPC).
    ProtocolMismatch,
    /// A failure on this node or inside the partner's (details in the log).
    Error,
}

impl PartnerState {
    /// Every state, for the metrics' label values.
    pub const ALL: [PartnerState; 10] = [
        PartnerState::Connected,
        PartnerState::Connecting,
        PartnerState::NotEnrolled,
        PartnerState::Revoked,
        PartnerState::Refused,
        PartnerState::CertificateChanged,
        PartnerState::Unreachable,
        PartnerState::RateLimited,
        PartnerState::ProtocolMismatch,
        PartnerState::Error,
    ];

    /// The words shown by `partner list`, `doctor`, federated search and the demo.
    pub fn describe(self) -> &'static str {
        match self {
            PartnerState::Connected => "connected",
            PartnerState::Connecting => "connecting",
            PartnerState::NotEnrolled => "not yet enrolled by the partner",
            PartnerState::Revoked => "revoked by the partner",
            PartnerState::Refused => "refused by the partner",
            PartnerState::CertificateChanged => {
                "certificate changed: the partner presents a TLS certificate other than the enrolled one"
            }
            PartnerState::Unreachable => "unreachable",
            PartnerState::RateLimited => "rate-limited by the partner",
            PartnerState::ProtocolMismatch => "protocol mismatch",
            PartnerState::Error => "error (details in this node's log)",
        }
    }

    /// The metrics label (`liaison_partner_connection{state=…}`).
    pub fn label(self) -> &'static str {
        match self {
            PartnerState::Connected => "connected",
            PartnerState::Connecting => "connecting",
            PartnerState::NotEnrolled => "not_enrolled",
            PartnerState::Revoked => "revoked",
            PartnerState::Refused => "refused",
            PartnerState::CertificateChanged => "certificate_changed",
            PartnerState::Unreachable => "unreachable",
            PartnerState::RateLimited => "rate_limited",
            PartnerState::ProtocolMismatch => "protocol_mismatch",
            PartnerState::Error => "error",
        }
    }

    /// A federated search's per-partner word: `refused` when the partner
    /// turned us away, `unreachable` otherwise (OPERATIONS §7).
    pub fn search_status(self) -> &'static str {
        match self {
            PartnerState::NotEnrolled
            | PartnerState::Revoked
            | PartnerState::Refused
            | PartnerState::RateLimited => "refused",
            _ => "unreachable",
        }
    }

    /// The state after a refusal, given whether this partner has accepted us
    /// before: a partner that stops accepting a certificate it took has
    /// revoked us (it keeps no trace of us to say so itself after a restart).
    pub fn given_history(self, accepted_before: bool) -> PartnerState {
        match (self, accepted_before) {
            (PartnerState::NotEnrolled, true) => PartnerState::Revoked,
            (state, _) => state,
        }
    }
}

impl std::fmt::Display for PartnerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// A failed connection or call, named: the stable state, and the raw detail
/// (for the log; it may change between retries while the state does not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    pub state: PartnerState,
    pub detail: String,
}

impl Diagnosis {
    pub fn new(state: PartnerState, detail: impl Into<String>) -> Diagnosis {
        Diagnosis {
            state,
            detail: detail.into(),
        }
    }

    /// A failure on this node (store, bundle, task): not the partner's doing.
    pub fn local(detail: impl Into<String>) -> Diagnosis {
        Diagnosis::new(PartnerState::Error, detail)
    }
}

/// A failure on this node, from its message (lets `?` carry local errors).
impl From<String> for Diagnosis {
    fn from(detail: String) -> Diagnosis {
        Diagnosis::local(detail)
    }
}

impl From<&str> for Diagnosis {
    fn from(detail: &str) -> Diagnosis {
        Diagnosis::local(detail)
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.state, self.detail)
    }
}

/// What the error chain says, gathered before deciding: the pure input of
/// [`classify`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    /// The gRPC status, when the failure is one.
    pub code: Option<tonic::Code>,
    pub message: String,
    /// A TLS alert the partner sent us.
    pub alert_received: Option<AlertDescription>,
    /// Our own TLS stack refused the partner's certificate.
    pub partner_cert_refused: bool,
    /// Our own TLS stack found the partner's handshake incompatible.
    pub tls_incompatible: bool,
    /// The first I/O error kind in the chain.
    pub io_kind: Option<io::ErrorKind>,
    /// Something in the chain timed out.
    pub timed_out: bool,
}

/// The decision: signals to a state. The most specific evidence wins: a TLS
/// alert names the refusal better than the status that wraps it.
pub fn classify(signals: &Signals) -> PartnerState {
    if let Some(alert) = signals.alert_received {
        return match alert {
            AlertDescription::CertificateRevoked => PartnerState::Revoked,
            AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRequired
            | AlertDescription::AccessDenied => PartnerState::NotEnrolled,
            _ => PartnerState::ProtocolMismatch,
        };
    }
    if signals.partner_cert_refused {
        return PartnerState::CertificateChanged;
    }
    if signals.tls_incompatible {
        return PartnerState::ProtocolMismatch;
    }
    if let Some(code) = signals.code {
        match code {
            tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
                let message = signals.message.to_ascii_lowercase();
                return if message.contains("revoked") || message.contains("no longer enrolled") {
                    PartnerState::Revoked
                } else {
                    PartnerState::Refused
                };
            }
            tonic::Code::ResourceExhausted => return PartnerState::RateLimited,
            tonic::Code::Unimplemented => return PartnerState::ProtocolMismatch,
            tonic::Code::Internal | tonic::Code::DataLoss => return PartnerState::Error,
            _ => {}
        }
    }
    // Everything else (connection refused or reset, timeouts, DNS, a stream
    // cancelled by a dropped connection, Unavailable) is the network's or the
    // partner's absence.
    PartnerState::Unreachable
}

/// Names a failed call: the status and whatever its source chain holds.
pub fn diagnose_status(status: &tonic::Status) -> Diagnosis {
    let mut signals = Signals {
        code: Some(status.code()),
        message: status.message().to_string(),
        ..Signals::default()
    };
    let mut detail = format!("{:?}: {}", status.code(), status.message());
    if let Some(source) = StdError::source(status) {
        walk(source, &mut signals, &mut detail);
    }
    Diagnosis::new(classify(&signals), detail)
}

/// Names a failed connection (a `tonic::transport::Error`, an `io::Error`, …).
pub fn diagnose_error(error: &(dyn StdError + 'static)) -> Diagnosis {
    let mut signals = Signals::default();
    let mut detail = error.to_string();
    walk(error, &mut signals, &mut detail);
    Diagnosis::new(classify(&signals), detail)
}

/// Gathers signals from `error` and everything under it; appends the texts
/// that add something to `detail`.
fn walk(error: &(dyn StdError + 'static), signals: &mut Signals, detail: &mut String) {
    let mut next = Some(error);
    // Bounded: a cyclic or absurdly deep chain must not spin.
    for _ in 0..32 {
        let Some(error) = next else { return };
        let text = error.to_string();
        if !text.is_empty() && !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        if let Some(status) = error.downcast_ref::<tonic::Status>() {
            signals.code.get_or_insert(status.code());
            if signals.message.is_empty() {
                signals.message = status.message().to_string();
            }
        }
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            note_tls(tls, signals);
        }
        if let Some(io) = error.downcast_ref::<io::Error>() {
            signals.io_kind.get_or_insert(io.kind());
            if io.kind() == io::ErrorKind::TimedOut {
                signals.timed_out = true;
            }
            // io::Error::source() skips the error it wraps: look at it here.
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    note_tls(tls, signals);
                }
                let text = inner.to_string();
                note_text(&text, signals);
                if !detail.contains(&text) {
                    detail.push_str(": ");
                    detail.push_str(&text);
                }
            }
        }
        note_text(&text, signals);
        next = error.source();
    }
}

/// The alerts named by text (rustls prints `received fatal alert: {alert:?}`).
const ALERTS: [AlertDescription; 17] = [
    AlertDescription::CertificateRevoked,
    AlertDescription::UnknownCA,
    AlertDescription::BadCertificate,
    AlertDescription::CertificateUnknown,
    AlertDescription::CertificateExpired,
    AlertDescription::UnsupportedCertificate,
    AlertDescription::CertificateRequired,
    AlertDescription::AccessDenied,
    AlertDescription::ProtocolVersion,
    AlertDescription::HandshakeFailure,
    AlertDescription::NoApplicationProtocol,
    AlertDescription::InsufficientSecurity,
    AlertDescription::IllegalParameter,
    AlertDescription::DecodeError,
    AlertDescription::DecryptError,
    AlertDescription::InternalError,
    AlertDescription::UnexpectedMessage,
];

/// What a message says when the typed error did not survive: HTTP/2 keeps an
/// I/O error's kind and text only, so a TLS alert that ended an HTTP/2
/// connection is known by rustls's wording alone.
fn note_text(text: &str, signals: &mut Signals) {
    if let Some((_, rest)) = text.split_once("received fatal alert: ") {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let alert = ALERTS
            .into_iter()
            .find(|a| format!("{a:?}") == name)
            .unwrap_or(AlertDescription::Unknown(0));
        signals.alert_received.get_or_insert(alert);
    }
    if text.contains("invalid peer certificate") {
        signals.partner_cert_refused = true;
    }
    if text.contains("peer is incompatible") || text.contains("peer misbehaved") {
        signals.tls_incompatible = true;
    }
    if text.contains("timed out") || text.contains("deadline has elapsed") {
        signals.timed_out = true;
    }
}

fn note_tls(error: &rustls::Error, signals: &mut Signals) {
    match error {
        rustls::Error::AlertReceived(alert) => {
            signals.alert_received.get_or_insert(*alert);
        }
        rustls::Error::InvalidCertificate(_) => signals.partner_cert_refused = true,
        rustls::Error::PeerIncompatible(_)
        | rustls::Error::PeerMisbehaved(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::NoApplicationProtocol => signals.tls_incompatible = true,
        _ => {}
    }
}

#[cfg(test)]
#[path = "partner_state_tests.rs"]
mod tests;
