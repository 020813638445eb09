//! Whether each certificate in a node directory belongs to the private key
//! beside it (`ca/ca.crt` and `ca/ca.key`, `tls/node.crt` and `tls/node.key`).
//! A certificate swapped for another one (another agency's CA planted by a
//! tampered backup or an edit) must stop the node before it trusts anything.
//!
//! This module only reads; it must never print a private key or its public
//! half's source file contents beyond the file names.

use std::path::Path;

use rcgen::KeyPair;

use super::error::IdentityError;
use super::files::{read_pem_cert, read_pem_key, NodeDir};

/// Checks every pair whose private key is present (the CA key may be kept
/// offline: its certificate alone is then taken as it is).
pub fn check_key_pairs(dir: &NodeDir) -> Result<(), IdentityError> {
    for (cert, key) in [
        (dir.ca_cert(), dir.ca_key()),
        (dir.tls_cert(), dir.tls_key()),
    ] {
        if !key.exists() {
            continue;
        }
        if !matches(&cert, &key)? {
            return Err(IdentityError::KeyMismatch {
                cert: cert.display().to_string(),
                key: key.display().to_string(),
            });
        }
    }
    Ok(())
}

fn matches(cert: &Path, key: &Path) -> Result<bool, IdentityError> {
    let cert_der = read_pem_cert(cert)?;
    let key_der = zeroize::Zeroizing::new(read_pem_key(key)?);
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&cert_der).map_err(|e| IdentityError::File {
            path: cert.display().to_string(),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
    let pair = KeyPair::try_from(key_der.as_slice()).map_err(|e| IdentityError::File {
        path: key.display().to_string(),
        reason: format!("not a private key this node can use: {e}"),
    })?;
    Ok(parsed.public_key().subject_public_key.data.as_ref() == pair.public_key_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swapped_certificate_is_named_with_its_key() {
        let tmp = tempfile::tempdir().unwrap();
        let ours = NodeDir::new(tmp.path().join("ours"));
        ours.init_identity("Agency P (example)").unwrap();
        check_key_pairs(&ours).unwrap();
        let other = NodeDir::new(tmp.path().join("other"));
        other.init_identity("Agency P (example)").unwrap();
        for (cert, key) in [
            (other.ca_cert(), ours.ca_key()),
            (other.tls_cert(), ours.tls_key()),
        ] {
            let mine = cert.strip_prefix(&other.root).unwrap();
            let saved = std::fs::read(ours.root.join(mine)).unwrap();
            std::fs::copy(&cert, ours.root.join(mine)).unwrap();
            let error = check_key_pairs(&ours).unwrap_err().to_string();
            assert!(error.contains(&key.display().to_string()), "{error}");
            assert!(error.contains(&mine.display().to_string()), "{error}");
            std::fs::write(ours.root.join(mine), saved).unwrap();
        }
        check_key_pairs(&ours).unwrap();
    }
}
