//! Domain names, e-mail addresses and IP addresses.
//!
//! Domains go through IDNA UTS-46 (nontransitional, STD3 ASCII rules,
//! CheckHyphens) to lower-case ASCII, plus the IDNA2008 code point rules that
//! UTS-46 does not apply (`idna2008.rs`); the DNS length limits are checked
//! here rather than by UTS-46 VerifyDNSLength so that the error can say which
//! label is wrong. IP addresses are parsed strictly (no leading zeros, no
//! integer or hex forms) and written in RFC 5952 form.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::{idna2008, invalid, IndicatorError, Kind, Normalized};

const MAX_LABEL_LEN: usize = 63;
const MAX_DOMAIN_LEN: usize = 253;
/// RFC 5321: the local part of a mailbox is at most 64 octets.
const MAX_LOCAL_PART_LEN: usize = 64;

pub(super) fn normalize_domain(input: &str) -> Result<Normalized, IndicatorError> {
    let ascii = domain_to_ascii(Kind::Domain, input.trim())?;
    Ok(Normalized::new(Kind::Domain, ascii))
}

pub(super) fn normalize_email(input: &str) -> Result<Normalized, IndicatorError> {
    let lower = input.trim().to_lowercase();
    let mut parts = lower.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(
            Kind::Email,
            "an e-mail address needs exactly one @ (full-width ＠ does not count)",
        ));
    };
    check_local_part(local)?;
    if domain.is_empty() {
        return Err(invalid(Kind::Email, "the domain after @ is empty"));
    }
    let domain = domain_to_ascii(Kind::Email, domain)?;
    Ok(Normalized::new(Kind::Email, format!("{local}@{domain}")))
}

fn check_local_part(local: &str) -> Result<(), IndicatorError> {
    if local.is_empty() {
        return Err(invalid(Kind::Email, "the part before @ is empty"));
    }
    if local.len() > MAX_LOCAL_PART_LEN {
        return Err(invalid(
            Kind::Email,
            format!("the part before @ is longer than {MAX_LOCAL_PART_LEN} bytes"),
        ));
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            Kind::Email,
            "the part before @ contains whitespace or control characters",
        ));
    }
    Ok(())
}

/// The domain rule shared by `domain`, `email` and `url` hosts. `kind` only
/// selects which kind the error names. The caller trims the input.
pub(super) fn domain_to_ascii(kind: Kind, domain: &str) -> Result<String, IndicatorError> {
    if domain.is_empty() {
        return Err(invalid(kind, "the domain name is empty"));
    }
    // Length checks are done below on the ASCII form so the error can name the
    // offending label; UTS-46 here only maps and validates characters.
    let ascii =
        uts46_to_ascii(domain).ok_or_else(|| invalid(kind, explain_idna_failure(domain)))?;
    check_idna2008(kind, domain)?;
    // One trailing dot (the DNS root) is allowed; it is stripped after mapping so
    // that full-width and ideographic dots count too.
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii).to_string();
    check_dns_lengths(kind, &ascii)?;
    if last_label_is_numeric(&ascii) {
        return Err(invalid(
            kind,
            "the last label is all digits, so this is not a host name (use kind ip for IP addresses)",
        ));
    }
    Ok(ascii)
}

fn uts46_to_ascii(domain: &str) -> Option<String> {
    Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::Ignore,
        )
        .ok()
        .map(|cow| cow.into_owned())
}

/// UTS-46 accepts some symbols IDNA2008 forbids; check the mapped labels.
fn check_idna2008(kind: Kind, domain: &str) -> Result<(), IndicatorError> {
    let (unicode, _) =
        Uts46::new().to_unicode(domain.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    for label in unicode.split('.') {
        idna2008::check_label(label)
            .map_err(|why| invalid(kind, format!("label {label:?} {why}")))?;
    }
    Ok(())
}

fn check_dns_lengths(kind: Kind, ascii: &str) -> Result<(), IndicatorError> {
    if ascii.is_empty() {
        return Err(invalid(kind, "the domain name is empty"));
    }
    if let Some(label) = ascii.split('.').find(|label| label.len() > MAX_LABEL_LEN) {
        return Err(invalid(
            kind,
            format!(
                "label {:?} is {} characters long; the limit is {MAX_LABEL_LEN}",
                label,
                label.len()
            ),
        ));
    }
    if ascii.split('.').any(str::is_empty) {
        return Err(invalid(
            kind,
            "empty label (two dots in a row, or a leading dot)",
        ));
    }
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(invalid(
            kind,
            format!(
                "the domain is {} characters long in ASCII form; the limit is {MAX_DOMAIN_LEN}",
                ascii.len()
            ),
        ));
    }
    // Belt and braces: idna's own VerifyDNSLength must agree with the above.
    if !idna::uts46::verify_dns_length(ascii, false) {
        return Err(invalid(kind, "the domain fails the DNS length rules"));
    }
    Ok(())
}

fn last_label_is_numeric(ascii: &str) -> bool {
    ascii
        .rsplit('.')
        .next()
        .is_some_and(|label| label.bytes().all(|b| b.is_ascii_digit()))
}

/// Finds the first label UTS-46 rejects and says why in analyst terms.
fn explain_idna_failure(domain: &str) -> String {
    let bad_label = domain
        .split(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'])
        .find(|label| !label.is_empty() && uts46_to_ascii(label).is_none())
        .unwrap_or(domain);
    let what = if let Some(c) = bad_label
        .chars()
        .find(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        format!("contains {c:?}, which is not allowed in domain names")
    } else if bad_label.starts_with('-') || bad_label.ends_with('-') {
        "starts or ends with a hyphen".to_string()
    } else if bad_label.get(2..4) == Some("--") && !is_ace_prefixed(bad_label) {
        "has hyphens in positions 3 and 4, which is reserved for xn-- labels".to_string()
    } else if is_ace_prefixed(bad_label) {
        "is not a valid punycode (xn--) label".to_string()
    } else {
        "contains characters IDNA2008 does not allow (e.g. symbols or emoji)".to_string()
    };
    format!("label {bad_label:?} {what}")
}

fn is_ace_prefixed(label: &str) -> bool {
    label
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"))
}

pub(super) fn normalize_ip(input: &str) -> Result<Normalized, IndicatorError> {
    let ip = parse_ip(input.trim()).map_err(|reason| invalid(Kind::Ip, reason))?;
    Ok(Normalized::new(Kind::Ip, format_ip(ip)))
}

/// Parses an IPv4 address in strict dotted-decimal form or any IPv6 text form.
pub(super) fn parse_ip(text: &str) -> Result<IpAddr, String> {
    if text.is_empty() {
        return Err("empty address".to_string());
    }
    if text.contains(':') {
        return text.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| {
            format!(
                "{} is not a valid IPv6 address",
                crate::untrusted::quote(text)
            )
        });
    }
    parse_ipv4_strict(text).map(IpAddr::V4)
}

/// Dotted decimal with exactly four octets 0-255 and no leading zeros: the
/// integer, hex and octal forms some resolvers accept are ambiguous.
pub(super) fn parse_ipv4_strict(text: &str) -> Result<Ipv4Addr, String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return Err(format!(
            "an IPv4 address has four dot-separated numbers, found {}",
            parts.len()
        ));
    }
    let mut octets = [0u8; 4];
    for (octet, part) in octets.iter_mut().zip(&parts) {
        *octet = parse_octet(part)?;
    }
    Ok(Ipv4Addr::from(octets))
}

fn parse_octet(part: &str) -> Result<u8, String> {
    if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{part:?} is not a decimal number 0-255 (hex and other forms are not accepted)"
        ));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!(
            "{part:?} has a leading zero, which some systems read as octal"
        ));
    }
    part.parse::<u8>()
        .map_err(|_| format!("{part:?} is larger than 255"))
}

/// RFC 5952 text form. std's `Display` already follows it (lower case, longest
/// zero run compressed, first on ties, no single-group `::`, `::ffff:a.b.c.d`
/// for IPv4-mapped addresses); the shared vectors pin that behaviour.
pub(super) fn format_ip(ip: IpAddr) -> String {
    ip.to_string()
}
