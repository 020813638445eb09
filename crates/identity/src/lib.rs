//! Liaison's identity layer: who this node is and whom it trusts on a TLS
//! connection.
//!
//! It owns the node's key and certificate files (private keys mode 0600), the
//! enrollment bundle partners import, certificate rotation, and the TLS 1.3
//! rules on both ends of a connection. It must never open the store, read the
//! config file's schema, or log a private key.
//!
//! # Layout
//!
//! - [`identity`]: keys, certificates, the node directory's paths, enrollment
//!   bundles, rotation statements and the guard that refuses a lockout.
//! - [`tls`]: rustls verifiers (partner pins, local CA), live certificates and
//!   caller principals.
//! - `cli_names` (feature `clap`): the command line's names for the role.
#![forbid(unsafe_code)]

#[cfg(feature = "clap")]
pub mod cli_names;
pub mod identity;
pub mod tls;
