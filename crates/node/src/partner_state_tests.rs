use super::*;

fn status(code: tonic::Code, message: &str) -> Signals {
    Signals {
        code: Some(code),
        message: message.into(),
        ..Signals::default()
    }
}

fn alert(alert: AlertDescription) -> Signals {
    Signals {
        alert_received: Some(alert),
        ..Signals::default()
    }
}

#[test]
fn each_outcome_has_one_stable_state() {
    use tonic::Code;
    use PartnerState as S;
    let table: Vec<(Signals, PartnerState)> = vec![
        // The partner's TLS stack refusing our certificate.
        (alert(AlertDescription::CertificateRevoked), S::Revoked),
        (alert(AlertDescription::UnknownCA), S::NotEnrolled),
        (alert(AlertDescription::BadCertificate), S::NotEnrolled),
        (alert(AlertDescription::CertificateUnknown), S::NotEnrolled),
        (alert(AlertDescription::CertificateRequired), S::NotEnrolled),
        (
            alert(AlertDescription::ProtocolVersion),
            S::ProtocolMismatch,
        ),
        (
            alert(AlertDescription::HandshakeFailure),
            S::ProtocolMismatch,
        ),
        (
            alert(AlertDescription::NoApplicationProtocol),
            S::ProtocolMismatch,
        ),
        // An alert wins over the status that carried it.
        (
            Signals {
                alert_received: Some(AlertDescription::UnknownCA),
                ..status(Code::Cancelled, "operation was canceled")
            },
            S::NotEnrolled,
        ),
        // Our TLS stack refusing the partner.
        (
            Signals {
                partner_cert_refused: true,
                ..status(Code::Unknown, "transport error")
            },
            S::CertificateChanged,
        ),
        (
            Signals {
                tls_incompatible: true,
                ..Signals::default()
            },
            S::ProtocolMismatch,
        ),
        // Statuses from a partner that accepted the connection.
        (
            status(Code::PermissionDenied, "partner enrollment revoked"),
            S::Revoked,
        ),
        (
            status(Code::PermissionDenied, "partner is no longer enrolled"),
            S::Revoked,
        ),
        (
            status(
                Code::PermissionDenied,
                "search: a platform partner cannot run federated searches",
            ),
            S::Refused,
        ),
        (
            status(Code::Unauthenticated, "no client certificate"),
            S::Refused,
        ),
        (
            status(Code::ResourceExhausted, "rate limit; retry after 40 ms"),
            S::RateLimited,
        ),
        (
            status(Code::Unimplemented, "unknown method Pull"),
            S::ProtocolMismatch,
        ),
        (status(Code::Internal, "internal storage error"), S::Error),
        // The network.
        (
            status(Code::Unavailable, "node shutting down"),
            S::Unreachable,
        ),
        (
            status(Code::Cancelled, "operation was canceled"),
            S::Unreachable,
        ),
        (status(Code::DeadlineExceeded, "timeout"), S::Unreachable),
        (
            Signals {
                io_kind: Some(io::ErrorKind::ConnectionRefused),
                ..Signals::default()
            },
            S::Unreachable,
        ),
        (
            Signals {
                timed_out: true,
                ..Signals::default()
            },
            S::Unreachable,
        ),
        (Signals::default(), S::Unreachable),
    ];
    for (signals, expected) in table {
        assert_eq!(classify(&signals), expected, "{signals:?}");
    }
}

#[test]
fn a_refusal_after_acceptance_is_a_revocation() {
    assert_eq!(
        PartnerState::NotEnrolled.given_history(true),
        PartnerState::Revoked
    );
    assert_eq!(
        PartnerState::NotEnrolled.given_history(false),
        PartnerState::NotEnrolled
    );
    assert_eq!(
        PartnerState::Unreachable.given_history(true),
        PartnerState::Unreachable
    );
}

#[test]
fn the_alert_is_found_inside_io_errors_and_statuses() {
    // How tokio-rustls reports the partner's alert: an io::Error wrapping the
    // rustls error, whose own source() skips it.
    let io = io::Error::new(
        io::ErrorKind::InvalidData,
        rustls::Error::AlertReceived(AlertDescription::CertificateRevoked),
    );
    assert_eq!(diagnose_error(&io).state, PartnerState::Revoked);
    let wrapped = tonic::Status::from_error(Box::new(io));
    let named = diagnose_status(&wrapped);
    assert_eq!(named.state, PartnerState::Revoked, "{named}");
    assert!(named.detail.contains("CertificateRevoked"), "{named}");

    let pin = io::Error::other(rustls::Error::InvalidCertificate(
        rustls::CertificateError::ApplicationVerificationFailure,
    ));
    assert_eq!(diagnose_error(&pin).state, PartnerState::CertificateChanged);

    // HTTP/2 keeps only the kind and text of the I/O error that ended it.
    let h2 = io::Error::other("connection error: received fatal alert: UnknownCA");
    let named = diagnose_status(&tonic::Status::from_error(Box::new(h2)));
    assert_eq!(named.state, PartnerState::NotEnrolled, "{named}");
    let h2 = io::Error::other("received fatal alert: CertificateRevoked");
    assert_eq!(diagnose_error(&h2).state, PartnerState::Revoked);
    let h2 = io::Error::other("received fatal alert: Unknown(0x99)");
    assert_eq!(diagnose_error(&h2).state, PartnerState::ProtocolMismatch);

    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    assert_eq!(diagnose_error(&refused).state, PartnerState::Unreachable);
}

#[test]
fn every_state_has_its_own_words_and_label() {
    let words: std::collections::HashSet<_> =
        PartnerState::ALL.iter().map(|s| s.describe()).collect();
    let labels: std::collections::HashSet<_> =
        PartnerState::ALL.iter().map(|s| s.label()).collect();
    assert_eq!(words.len(), PartnerState::ALL.len());
    assert_eq!(labels.len(), PartnerState::ALL.len());
    assert_eq!(PartnerState::Revoked.search_status(), "refused");
    assert_eq!(PartnerState::Unreachable.search_status(), "unreachable");
}
