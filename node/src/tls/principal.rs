//! Who is calling: derived from the TLS client certificate, per call.

use rustls::pki_types::CertificateDer;

use super::PinSet;
use crate::error::Error;
use crate::identity::Role;
use crate::record::NodeId;

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
/// The partner pin is checked first and again here, so a partner revoked after
/// its handshake loses access at its next call.
pub fn principal_of(certs: Option<&[CertificateDer<'static>]>, pins: &PinSet) -> Result<Principal, Error> {
    let leaf = certs
        .and_then(|c| c.first())
        .ok_or_else(|| Error::PermissionDenied("no client certificate on this connection".into()))?;
    if let Some(node) = pins.partner_for(leaf) {
        return Ok(Principal::Partner(node));
    }
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|_| Error::PermissionDenied("client certificate does not parse".into()))?;
    let subject = cert.subject();
    let unit = subject.iter_organizational_unit().next().and_then(|u| u.as_str().ok());
    let name = subject.iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or("unnamed");
    match unit.and_then(Role::from_unit) {
        Some(role) => Ok(Principal::Local {
            role,
            name: name.to_string(),
        }),
        // A revoked partner whose connection is still open lands here.
        None => Err(Error::PermissionDenied(
            "this certificate is not enrolled here (a revoked partner, or a certificate without a Liaison role)".into(),
        )),
    }
}
