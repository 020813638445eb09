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

use super::IdentityError;

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
    let now = time::OffsetDateTime::now_utc();
    // A day of slack for partners whose clocks run behind.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
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
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    params.distinguished_name = named(&format!("{agency} Liaison local CA"), None);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params);
    let cert = params.self_signed(&key).map_err(cert_error)?;
    Ok(Generated {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Issues a client certificate for a person or tool, signed by the local CA.
pub fn issue_client_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    person: &str,
    role: Role,
) -> Result<ClientCert, IdentityError> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(cert_error)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(cert_error)?;
    let key = p256_key()?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    params.distinguished_name = named(person, Some(role.unit()));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params);
    let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;
    Ok(ClientCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
    })
}
