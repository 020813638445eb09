//! What a refused handshake says about our own certificate: the TLS alert the
//! other side sent, found in an error's `source()` chain (through the I/O,
//! hyper and tonic layers that wrap it). Its counterpart is the server's
//! verifier (`server.rs`), whose `CertificateError::Revoked` rustls sends as the
//! alert `certificate_revoked`.
//!
//! This module only reads errors; it must never decide whether a certificate is
//! revoked (the node's `PinSet` does).

use rustls::AlertDescription;

/// The one sentence for a local client certificate the node's admin revoked,
/// whether the node says so at the handshake or on a call.
pub const REVOKED_CLIENT: &str = "this client certificate was revoked by the node's admin";

/// The TLS alert the peer sent, if `error` (or anything it wraps) is one.
pub fn alert_received(error: &(dyn std::error::Error + 'static)) -> Option<AlertDescription> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(rustls::Error::AlertReceived(alert)) = error.downcast_ref::<rustls::Error>() {
            return Some(*alert);
        }
        // h2 keeps only the text of an I/O error it passes on.
        if let Some(alert) = alert_in_text(&error.to_string()) {
            return Some(alert);
        }
        // `io::Error::source` skips the error it wraps (it returns that error's
        // own source), and tokio-rustls wraps rustls errors in an `io::Error`.
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(alert) = alert_received(inner) {
                return Some(alert);
            }
        }
        next = error.source();
    }
    None
}

/// The alerts a client certificate can draw, recognised by the text rustls
/// gives them (the same rustls, so the same words).
fn alert_in_text(text: &str) -> Option<AlertDescription> {
    [
        AlertDescription::CertificateRevoked,
        AlertDescription::CertificateExpired,
        AlertDescription::BadCertificate,
        AlertDescription::UnknownCA,
        AlertDescription::CertificateRequired,
        AlertDescription::DecryptError,
        AlertDescription::HandshakeFailure,
    ]
    .into_iter()
    .find(|alert| text == rustls::Error::AlertReceived(*alert).to_string())
}

/// Whether the peer refused our certificate as revoked.
pub fn revoked_by_peer(error: &(dyn std::error::Error + 'static)) -> bool {
    alert_received(error) == Some(AlertDescription::CertificateRevoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("transport error")]
    struct Wrapper(#[source] std::io::Error);

    #[test]
    fn finds_the_alert_under_io_and_transport_wrappers() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::CertificateRevoked),
        );
        let wrapped = Wrapper(io);
        assert!(revoked_by_peer(&wrapped));
        let other = Wrapper(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::BadCertificate),
        ));
        assert!(!revoked_by_peer(&other));
        assert_eq!(
            alert_received(&other),
            Some(AlertDescription::BadCertificate)
        );
        // As h2 passes it on: the text only.
        let text = rustls::Error::AlertReceived(AlertDescription::CertificateRevoked).to_string();
        assert!(revoked_by_peer(&Wrapper(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            text
        ))));
        let plain = Wrapper(std::io::Error::other("connection refused"));
        assert_eq!(alert_received(&plain), None);
    }

    #[test]
    fn the_server_sends_certificate_revoked_for_a_revoked_certificate() {
        // What `server.rs` returns for a denied pin, as rustls puts it on the wire.
        let sent = AlertDescription::from(rustls::CertificateError::Revoked);
        assert_eq!(sent, AlertDescription::CertificateRevoked);
    }
}
