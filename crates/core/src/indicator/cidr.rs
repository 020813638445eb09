//! Network ranges (kind `network`): an IPv4 or IPv6 CIDR block written as its
//! network address (RFC 5952 for IPv6) and prefix length, `198.51.100.0/24`.
//!
//! A range whose host bits are not zero (`198.51.100.7/24`) is refused with
//! the range it probably means, not silently masked: it may as well have been
//! a single address typed with a stray prefix. Prefixes shorter than /8 (IPv4)
//! or /16 (IPv6) are refused: such a range would match a large part of the
//! Internet. This module also names the ranges that contain an address, the
//! keys under which the store's index finds them (never a scan).

use std::net::IpAddr;

use super::net::{format_ip, parse_ip};
use super::{invalid, IndicatorError, Kind, Normalized};

/// Shortest prefix accepted (and looked up) for IPv4 and IPv6.
pub const MIN_PREFIX_V4: u8 = 8;
pub const MIN_PREFIX_V6: u8 = 16;

pub(super) fn normalize(input: &str) -> Result<Normalized, IndicatorError> {
    let text = input.trim();
    let Some((addr, len)) = text.split_once('/') else {
        return Err(invalid(
            Kind::Network,
            "a network range is an address and a prefix length, e.g. 198.51.100.0/24 (for one address use kind ip)",
        ));
    };
    let ip = parse_ip(addr.trim()).map_err(|reason| invalid(Kind::Network, reason))?;
    let (max, min) = match ip {
        IpAddr::V4(_) => (32, MIN_PREFIX_V4),
        IpAddr::V6(_) => (128, MIN_PREFIX_V6),
    };
    let len = parse_prefix(len.trim(), max)?;
    if len < min {
        return Err(invalid(
            Kind::Network,
            format!("prefix /{len} is shorter than /{min}; a range that wide would match a large part of the Internet"),
        ));
    }
    let network = mask(ip, len);
    if network != ip {
        return Err(invalid(
            Kind::Network,
            format!(
                "{} has host bits set after /{len}; the range is {}/{len} (or use kind ip for the single address)",
                crate::untrusted::quote(text),
                format_ip(network)
            ),
        ));
    }
    Ok(Normalized::new(
        Kind::Network,
        format!("{}/{len}", format_ip(network)),
    ))
}

fn parse_prefix(text: &str, max: u8) -> Result<u8, IndicatorError> {
    let bad = || {
        invalid(
            Kind::Network,
            format!(
                "prefix length {} is not a decimal number 0-{max}",
                crate::untrusted::quote(text)
            ),
        )
    };
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(bad());
    }
    text.parse::<u8>()
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(bad)
}

/// `ip` with every bit after the first `len` cleared.
fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let keep = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((bits & keep).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let keep = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((bits & keep).into())
        }
    }
}

/// The canonical `network` values of every accepted range that contains the
/// address `ip` (a canonical `ip` value), narrowest first: 25 for IPv4, 113 for
/// IPv6. Empty when `ip` is not an address.
pub fn networks_containing(ip: &str) -> Vec<String> {
    let Ok(ip) = parse_ip(ip) else {
        return Vec::new();
    };
    let (max, min) = match ip {
        IpAddr::V4(_) => (32, MIN_PREFIX_V4),
        IpAddr::V6(_) => (128, MIN_PREFIX_V6),
    };
    (min..=max)
        .rev()
        .map(|len| format!("{}/{len}", format_ip(mask(ip, len))))
        .collect()
}

/// Whether a held indicator answers a query: the same kind and value, or a
/// network range that contains a queried address. The one rule for what a
/// search of a value returns (a partner's answer is checked against it).
pub fn answers(query: (Kind, &str), held: (Kind, &str)) -> bool {
    match (query, held) {
        ((q_kind, q_value), (h_kind, h_value)) if q_kind == h_kind => q_value == h_value,
        ((Kind::Ip, address), (Kind::Network, range)) => {
            networks_containing(address).iter().any(|n| n == range)
        }
        _ => false,
    }
}
