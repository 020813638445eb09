//! Why an identity operation failed: a key or certificate file, certificate
//! generation, the config file as read by the layers above, a mismatched pair, a
//! rotation that would lock partners out. Messages name the file and what to do.

/// Identity failures.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0} already holds a node; refusing to overwrite it (choose another --dir)")]
    AlreadyExists(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    #[error("invalid configuration in {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("{cert} does not match {key}: the certificate was replaced (by a tampered backup or an edit); put back the certificate issued for that key, or restore from a backup whose signature you checked")]
    KeyMismatch { cert: String, key: String },
    #[error("refusing to rotate the TLS certificate: the last rotation has not reached {partners} yet, and a new one now would lock them out (they would have to enroll this node again). Wait until they connect and acknowledge it (`liaison doctor` shows who is still waiting) or until its grace period ends at {until}, or run `liaison identity rotate-tls --force` to rotate anyway and lock them out")]
    RotationPending { partners: String, until: String },
}
