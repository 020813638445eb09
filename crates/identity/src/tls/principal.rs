//! Who is calling: derived from the TLS client certificate, per call.

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;

use super::PinSet;
use super::TlsError;
use crate::identity::Role;
use liaison_core::record::NodeId;

/// The caller of an RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An enrolled partner agency.
    Partner(NodeId),
    /// One of the agency's own people or tools, by local-CA certificate.
    Local { role: Role, name: String },
}

impl Principal {
    pub fn describe(&self) -> String {
        match self {
            Principal::Partner(node) => format!("partner {}", node.short()),
            Principal::Local { role, name } => format!("{role:?} {name:?}").to_lowercase(),
        }
    }
}

/// Derives the principal from the certificate chain the handshake accepted.
/// Both trust paths are checked again on every call: a partner revoked after its
/// handshake is no longer pinned, and its certificate (whatever its subject says)
/// was not issued by the local CA, so it gets nothing.
pub fn principal_of(
    certs: Option<&[CertificateDer<'static>]>,
    pins: &PinSet,
    local_ca: &dyn ClientCertVerifier,
) -> Result<Principal, TlsError> {
    let chain = certs.unwrap_or_default();
    let leaf = chain
        .first()
        .ok_or_else(|| TlsError::Denied("no client certificate on this connection".into()))?;
    if let Some(node) = pins.partner_for(leaf) {
        return Ok(Principal::Partner(node));
    }
    if pins.is_revoked_partner(leaf) {
        return Err(TlsError::Denied(
            "partner enrollment revoked: this agency no longer exchanges records with yours".into(),
        ));
    }
    if pins.is_denied(leaf) {
        return Err(TlsError::Denied(super::REVOKED_CLIENT.into()));
    }
    if local_ca
        .verify_client_cert(leaf, &chain[1..], UnixTime::now())
        .is_err()
    {
        return Err(TlsError::Denied(
            "this certificate is neither an enrolled partner's nor issued by this agency's CA (was the partner revoked?)".into(),
        ));
    }
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|_| TlsError::Denied("client certificate does not parse".into()))?;
    let subject = cert.subject();
    let unit = subject
        .iter_organizational_unit()
        .next()
        .and_then(|u| u.as_str().ok());
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or("unnamed");
    match unit.and_then(Role::from_unit) {
        Some(role) => Ok(Principal::Local {
            role,
            name: name.to_string(),
        }),
        None => Err(TlsError::Denied(
            "this certificate carries no Liaison role (OU liaison-analyst or liaison-admin)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{issue_client_cert, read_pem_cert, NodeDir};

    fn der(pem: &str) -> CertificateDer<'static> {
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate")
    }

    /// A certificate made outside the local CA that claims the admin role.
    fn self_made_admin_cert() -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["liaison-node".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Partner pretending");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationalUnitName, Role::Admin.unit());
        CertificateDer::from(params.self_signed(&key).unwrap().der().to_vec())
    }

    #[test]
    fn roles_come_only_from_local_ca_certificates_and_pins_from_enrollment() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = NodeDir::new(tmp.path().join("node"));
        dir.init_identity("Agency Unit (example)").unwrap();
        let ca_pem = std::fs::read_to_string(dir.ca_cert()).unwrap();
        let ca_key = std::fs::read_to_string(dir.ca_key()).unwrap();
        let local_ca =
            crate::tls::local_ca_verifier(&read_pem_cert(&dir.ca_cert()).unwrap()).unwrap();
        let pins = PinSet::default();

        let analyst = der(
            &issue_client_cert(&ca_pem, &ca_key, "Analyst Example", Role::Analyst)
                .unwrap()
                .cert_pem,
        );
        match principal_of(Some(&[analyst]), &pins, local_ca.as_ref()).unwrap() {
            Principal::Local { role, name } => {
                assert_eq!((role, name.as_str()), (Role::Analyst, "Analyst Example"))
            }
            other => panic!("{other:?}"),
        }

        // A (revoked) partner's own certificate claiming OU=liaison-admin gets nothing.
        let forged = self_made_admin_cert();
        assert!(principal_of(
            Some(std::slice::from_ref(&forged)),
            &pins,
            local_ca.as_ref()
        )
        .is_err());
        // While enrolled, the same certificate is that partner, never a local user.
        let partner = NodeId([5; 32]);
        pins.insert(PinSet::pin_of(&forged), partner);
        assert_eq!(
            principal_of(
                Some(std::slice::from_ref(&forged)),
                &pins,
                local_ca.as_ref()
            )
            .unwrap(),
            Principal::Partner(partner)
        );
        pins.remove_node(&partner);
        assert!(principal_of(Some(&[forged]), &pins, local_ca.as_ref()).is_err());
        assert!(principal_of(None, &pins, local_ca.as_ref()).is_err());
    }
}
