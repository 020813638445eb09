//! How a node's refusal reads on the terminal: a gRPC status becomes one
//! sentence that keeps the node's own message. This module must never hide the
//! node's message or invent a reason of its own (a TLS alert the node sent is
//! the node's reason too).

use tonic::Code;

/// Turns a gRPC status into a sentence, keeping the node's own message.
pub(crate) fn status_error(status: tonic::Status) -> anyhow::Error {
    // A connection opened after a revocation fails at the handshake; the call
    // then carries only the transport error, with the node's alert inside.
    if liaison_identity::tls::revoked_by_peer(&status) {
        return anyhow::anyhow!(
            "permission denied: {} (the node refused the TLS handshake with the alert certificate_revoked; ask the admin for a new certificate)",
            liaison_identity::tls::REVOKED_CLIENT
        );
    }
    let what = match status.code() {
        Code::InvalidArgument => "invalid input",
        Code::PermissionDenied => "permission denied",
        Code::NotFound => "not found",
        Code::Unavailable => "node unavailable",
        Code::AlreadyExists => "already exists",
        _ => "node error",
    };
    anyhow::anyhow!("{what}: {}", status.message())
}
