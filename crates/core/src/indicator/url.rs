//! URLs (`http`, `https`, `ftp`), parsed by hand to keep the dependency list
//! short. The rule is in the module doc of `indicator`; in short: lower-case
//! scheme, host through the domain or IP rule, default port dropped, path and
//! query kept but percent-encoded, empty path `/`, fragment dropped.

use std::net::IpAddr;

use super::net::{domain_to_ascii, format_ip, parse_ip, parse_ipv4_strict};
use super::{invalid, IndicatorError, Kind, Normalized};

const SCHEMES: [(&str, u16); 3] = [("http", 80), ("https", 443), ("ftp", 21)];

pub(super) fn normalize(input: &str) -> Result<Normalized, IndicatorError> {
    let text = input.trim();
    if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            Kind::Url,
            format!("contains {c:?}; spaces must be written as %20"),
        ));
    }
    let (scheme, default_port, rest) = split_scheme(text)?;
    let (authority, path_and_query) = split_authority(rest);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let (host, port) = split_host_port(host_port)?;
    let host = normalize_host(host)?;
    let port = normalize_port(port, default_port)?;
    let (path, query) = split_path_query(path_and_query);

    let mut url = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        url.push_str(&percent_encode(userinfo, is_userinfo_char));
        url.push('@');
    }
    url.push_str(&host);
    if let Some(port) = port {
        url.push_str(&format!(":{port}"));
    }
    let path = percent_encode(path, is_path_char);
    url.push_str(if path.is_empty() { "/" } else { &path });
    if let Some(query) = query {
        url.push('?');
        url.push_str(&percent_encode(query, is_path_char));
    }
    Ok(Normalized::new(Kind::Url, url))
}

fn split_scheme(text: &str) -> Result<(&'static str, u16, &str), IndicatorError> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(invalid(
            Kind::Url,
            "a URL must start with http://, https:// or ftp:// (use kind domain for a bare host name)",
        ));
    };
    SCHEMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(scheme))
        .map(|(name, port)| (*name, *port, rest))
        .ok_or_else(|| {
            invalid(
                Kind::Url,
                format!("scheme {scheme:?} is not supported (expected http, https or ftp)"),
            )
        })
}

/// Splits `host[:port]` plus userinfo from what follows (`/path?query#frag`).
fn split_authority(rest: &str) -> (&str, &str) {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.split_at(end)
}

fn split_host_port(host_port: &str) -> Result<(&str, Option<&str>), IndicatorError> {
    if host_port.starts_with('[') {
        let Some(close) = host_port.find(']') else {
            return Err(invalid(Kind::Url, "IPv6 literal is missing its closing ]"));
        };
        let (host, after) = host_port.split_at(close + 1);
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(invalid(
                Kind::Url,
                format!("unexpected {after:?} after the IPv6 literal"),
            )),
        };
    }
    Ok(match host_port.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    })
}

fn normalize_host(host: &str) -> Result<String, IndicatorError> {
    if host.is_empty() {
        return Err(invalid(Kind::Url, "the URL has no host"));
    }
    if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match parse_ip(literal) {
            Ok(ip @ IpAddr::V6(_)) => Ok(format!("[{}]", format_ip(ip))),
            _ => Err(invalid(
                Kind::Url,
                format!("{literal:?} in brackets is not an IPv6 address"),
            )),
        };
    }
    if looks_like_ipv4(host) {
        return parse_ipv4_strict(host)
            .map(|ip| ip.to_string())
            .map_err(|reason| invalid(Kind::Url, format!("host {host:?}: {reason}")));
    }
    domain_to_ascii(Kind::Url, host)
}

/// Like the WHATWG URL standard: a host whose last label is numeric (or hex) is
/// meant as an IPv4 address, never as a domain name.
fn looks_like_ipv4(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

fn normalize_port(port: Option<&str>, default_port: u16) -> Result<Option<u16>, IndicatorError> {
    let Some(port) = port.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let number = port
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| port.trim_start_matches('0').parse::<u16>().ok())
        .flatten()
        .filter(|n| *n != 0)
        .ok_or_else(|| invalid(Kind::Url, format!("port {port:?} is not a number 1-65535")))?;
    Ok((number != default_port).then_some(number))
}

fn split_path_query(path_and_query: &str) -> (&str, Option<&str>) {
    let without_fragment = path_and_query
        .split_once('#')
        .map_or(path_and_query, |(before, _)| before);
    match without_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (without_fragment, None),
    }
}

/// RFC 3986 unreserved and sub-delims characters.
fn is_unreserved_or_sub_delim(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=".contains(c)
}

fn is_userinfo_char(c: char) -> bool {
    is_unreserved_or_sub_delim(c) || c == ':'
}

/// `pchar` plus `/` and `?`, which covers both path and query.
fn is_path_char(c: char) -> bool {
    is_unreserved_or_sub_delim(c) || ":@/?".contains(c)
}

/// Percent-encodes every character `allowed` rejects. Existing `%XX` escapes
/// are kept with upper-case hex digits (RFC 3986 section 6.2.2.1); a `%` that
/// starts no escape is itself encoded, so the result is stable.
fn percent_encode(text: &str, allowed: fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '%' {
            if let Some(hex) = escape_digits(&text[i + 1..]) {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
                chars.nth(1);
            } else {
                out.push_str("%25");
            }
        } else if allowed(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// The two hex digits of an escape starting right after a `%`, if present.
fn escape_digits(after_percent: &str) -> Option<&str> {
    after_percent
        .get(..2)
        .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
