//! How a node's refusal reads on the terminal: a gRPC status becomes one
//! sentence that keeps the node's own message. This module must never hide the
//! node's message or invent a reason of its own.

use tonic::Code;

/// Turns a gRPC status into a sentence, keeping the node's own message.
pub(crate) fn status_error(status: tonic::Status) -> anyhow::Error {
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
