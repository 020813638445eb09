//! Certificate generation with rcgen: the node's TLS certificate (pinned by partners),
//! the agency's local CA, and client certificates for analysts and admins.
//!
//! TLS keys are ECDSA P-256 because common tools (OpenSSL 3.0, grpcio) refuse the
//! Ed25519 PKCS#8 v2 keys rcgen writes. The role of a client certificate is carried
//! in its subject's organizational unit ("liaison-analyst" / "liaison-admin").

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

use super::error::IdentityError;

/// The DNS name in every node certificate; clients that check names use it.
pub const NODE_CERT_NAME: &str = "liaison-node";
const VALIDITY_DAYS: i64 = 825;

/// A local user's role, from the client certificate the node's CA issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Analyst,
    Admin,
}

impl Role {
    pub fn unit(self) -> &'static str {
        match self {
            Role::Analyst => "liaison-analyst",
            Role::Admin => "liaison-admin",
        }
    }

    pub fn from_unit(unit: &str) -> Option<Role> {
        match unit {
            "liaison-analyst" => Some(Role::Analyst),
            "liaison-admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!("role {other:?} is not analyst or admin")),
        }
    }
}

/// A certificate and its private key, both PEM.
pub struct ClientCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
}

pub(super) struct Generated {
    pub cert_pem: String,
    pub key_pem: String,
}

fn cert_error(e: rcgen::Error) -> IdentityError {
    IdentityError::Certificate(e.to_string())
}

fn validity(params: &mut CertificateParams) {
    validity_days(params, VALIDITY_DAYS);
}

fn validity_days(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    // A day of slack for partners whose clocks run behind.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
}

fn p256_key() -> Result<KeyPair, IdentityError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_error)
}

fn named(common_name: &str, unit: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(unit) = unit {
        dn.push(DnType::OrganizationalUnitName, unit);
    }
    dn
}

/// The node's TLS certificate: self-signed, P-256, valid as server and client
/// (the node is a client when it pulls from partners). Partners pin its hash.
pub(super) fn node_tls_cert(agency: &str) -> Result<Generated, IdentityError> {
    let key = p256_key()?;
    let mut params =
        CertificateParams::new(vec![NODE_CERT_NAME.to_string()]).map_err(cert_error)?;
    params.distinguished_name = named(&format!("{agency} (Liaison node)"), None);
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params);
    let cert = params.self_signed(&key).map_err(cert_error)?;
    Ok(Generated {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The agency's local CA, which issues its analysts' and admins' certificates.
pub(super) fn local_ca(agency: &str) -> Result<Generated, IdentityError> {
    let key = p256_key()?;
    let mut params = ca_params(&format!("{agency} Liaison local CA"))?;
    validity(&mut params);
    let cert = params.self_signed(&key).map_err(cert_error)?;
    Ok(Generated {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn ca_params(common_name: &str) -> Result<CertificateParams, IdentityError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    params.distinguished_name = named(common_name, None);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

/// Issues a client certificate for a person or tool, signed by the local CA.
pub fn issue_client_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    person: &str,
    role: Role,
) -> Result<ClientCert, IdentityError> {
    issue_client_cert_for_days(ca_cert_pem, ca_key_pem, person, role, VALIDITY_DAYS)
}

/// [`issue_client_cert`] with a chosen validity in days (renewals, tests).
pub fn issue_client_cert_for_days(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    person: &str,
    role: Role,
    days: i64,
) -> Result<ClientCert, IdentityError> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(cert_error)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(cert_error)?;
    let key = p256_key()?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    params.distinguished_name = named(person, Some(role.unit()));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity_days(&mut params, days);
    let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;
    Ok(ClientCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
    })
}

/// A new certificate for the local CA from its same key and subject, valid for
/// another 825 days: certificates it issued before still chain to it.
pub fn renew_ca_cert(ca_cert_pem: &str, ca_key_pem: &str) -> Result<String, IdentityError> {
    let key = KeyPair::from_pem(ca_key_pem).map_err(cert_error)?;
    let der = pem::parse(ca_cert_pem)
        .map_err(|e| IdentityError::Certificate(format!("CA certificate: {e}")))?;
    // The subject is rebuilt exactly as `local_ca` wrote it, so issued
    // certificates' issuer names still match.
    let subject = cert_summary(der.contents())?.common_name;
    let mut params = ca_params(&subject)?;
    validity(&mut params);
    let cert = params.self_signed(&key).map_err(cert_error)?;
    Ok(cert.pem())
}

/// What `doctor` and `client renew` read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub common_name: String,
    pub role: Option<Role>,
    pub not_after_ms: i64,
}

/// Subject name, role and end of validity of a DER certificate.
pub fn cert_summary(der: &[u8]) -> Result<CertSummary, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::Certificate(format!("does not parse: {e}")))?;
    let not_after_ms = cert.validity().not_after.timestamp().saturating_mul(1000);
    let subject = cert.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|v| v.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let unit = subject
        .iter_organizational_unit()
        .next()
        .and_then(|v| v.as_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok(CertSummary {
        common_name,
        role: Role::from_unit(&unit),
        not_after_ms,
    })
}

#[cfg(test)]
mod renewal_tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, UnixTime};

    #[test]
    fn a_renewed_ca_still_accepts_the_certificates_it_issued() {
        let ca = local_ca("Agency R (example)").unwrap();
        let client = issue_client_cert(&ca.cert_pem, &ca.key_pem, "Dana", Role::Analyst).unwrap();
        let renewed = renew_ca_cert(&ca.cert_pem, &ca.key_pem).unwrap();
        assert_ne!(renewed, ca.cert_pem);
        let der = pem::parse(&renewed).unwrap().contents().to_vec();
        let verifier = crate::tls::local_ca_verifier(&der).unwrap();
        let leaf = CertificateDer::from(client.cert_der.clone());
        verifier
            .verify_client_cert(&leaf, &[], UnixTime::now())
            .expect("issued under the old CA certificate, same key and subject");
        let summary = cert_summary(&client.cert_der).unwrap();
        assert_eq!(summary.common_name, "Dana");
        assert_eq!(summary.role, Some(Role::Analyst));
        let short =
            issue_client_cert_for_days(&ca.cert_pem, &ca.key_pem, "Eve", Role::Admin, 3).unwrap();
        let days_left = (cert_summary(&short.cert_der).unwrap().not_after_ms
            - liaison_core::now_ms())
            / 86_400_000;
        assert!((2..=3).contains(&days_left), "{days_left}");
    }
}
