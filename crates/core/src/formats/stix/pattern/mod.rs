//! STIX 2.1 patterns: a recursive-descent parser for the patterning grammar
//! (observation expressions joined by `AND`, `OR`, `FOLLOWEDBY`, with
//! qualifiers; comparison expressions joined by `AND` and `OR`, parentheses,
//! `NOT`, every operator and literal form), and [`values`], which says which
//! indicator values a pattern names.
//!
//! Owns what a pattern means to Liaison: each comparison `type:property =
//! 'value'` of a kind in [`super::kind_of`] is a value; so are the forms MISP
//! writes: `[network-traffic:dst_ref.type = 'ipv4-addr' AND
//! network-traffic:dst_ref.value = '…']` (an address; a `dst_port` beside them
//! is allowed and not kept), `[email-message:from_ref.value = '…']` (an e-mail
//! address), `[domain-name:value = '…' AND
//! domain-name:resolves_to_refs[*].value = '…']` (a domain and an address);
//! comparisons joined by `OR` give one value each. Anything else
//! (`AND` of different objects, other operators, `NOT`, qualifiers, joined
//! observations) is reported as not supported, with why. Must never guess a
//! kind from a value, and never recurse deeper than [`MAX_DEPTH`].

mod parser;

use crate::indicator::Kind;

use super::{kind_of, refine};

/// Deepest nesting of parentheses and brackets read (a bound for the stack).
pub const MAX_DEPTH: usize = 32;

/// One comparison: `object:path [NOT] op literal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub object: String,
    /// The property path as written, normalised: `dst_ref.type`, `hashes.'SHA-256'`, `to_refs[*].value`.
    pub path: String,
    pub negated: bool,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, `LIKE`, `MATCHES`, `ISSUBSET`, `ISSUPERSET`.
    pub operator: String,
    /// The string literal's value; `None` for other literals (numbers, sets, t'…', …).
    pub string: Option<String>,
}

/// A comparison expression (inside `[…]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Test(Comparison),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// An observation expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    Bracket(Expr),
    And(Vec<Observation>),
    Or(Vec<Observation>),
    FollowedBy(Vec<Observation>),
    /// An observation with a `WITHIN`, `REPEATS` or `START … STOP` qualifier.
    Qualified(Box<Observation>, &'static str),
}

/// Parses a whole pattern; the error says where and why it is not one.
pub fn parse(pattern: &str) -> Result<Observation, String> {
    parser::Parser::new(pattern).whole()
}

/// What a parsed pattern names: per part, a value of a kind, or why the part
/// is not supported. `OR` gives one entry per side.
pub fn values(observation: &Observation) -> Vec<Result<(Kind, String), String>> {
    let mut out = Vec::new();
    observation_values(observation, &mut out);
    out
}

fn observation_values(observation: &Observation, out: &mut Vec<Result<(Kind, String), String>>) {
    match observation {
        Observation::Bracket(expr) => expr_values(expr, out),
        Observation::Or(parts) => parts.iter().for_each(|p| observation_values(p, out)),
        Observation::And(_) => out.push(Err("observations joined by AND".into())),
        Observation::FollowedBy(_) => out.push(Err("observations joined by FOLLOWEDBY".into())),
        Observation::Qualified(_, qualifier) => {
            out.push(Err(format!("an observation qualified by {qualifier}")))
        }
    }
}

fn expr_values(expr: &Expr, out: &mut Vec<Result<(Kind, String), String>>) {
    match expr {
        Expr::Or(parts) => parts.iter().for_each(|p| expr_values(p, out)),
        Expr::Test(test) => out.push(test_value(test)),
        Expr::And(parts) => and_values(parts, out),
    }
}

/// The value of one comparison on its own.
fn test_value(test: &Comparison) -> Result<(Kind, String), String> {
    let value = plain_equality(test)?;
    let kind = match (test.object.as_str(), test.path.as_str()) {
        (
            "email-message",
            "from_ref.value" | "sender_ref.value" | "to_refs[*].value" | "cc_refs[*].value"
            | "bcc_refs[*].value",
        ) => Some(Kind::Email),
        (object, path) => kind_of(object, path),
    };
    match kind {
        // A CIDR address is a network range, a hash gets its algorithm.
        Some(kind) => Ok(refine(kind, &test.path, value.to_string())),
        None => Err(format!("{}:{}", test.object, test.path)),
    }
}

/// `x = 'string'`, or why not.
fn plain_equality(test: &Comparison) -> Result<&str, String> {
    if test.negated {
        return Err(format!("NOT on {}:{}", test.object, test.path));
    }
    if test.operator != "=" {
        return Err(format!(
            "operator {} on {}:{}",
            test.operator, test.object, test.path
        ));
    }
    test.string.as_deref().ok_or_else(|| {
        format!(
            "a value that is not a string on {}:{}",
            test.object, test.path
        )
    })
}

/// Comparisons joined by `AND` on one object, in the forms MISP writes: an
/// address (`network-traffic:X_ref.type` an address type and `X_ref.value`,
/// with `X_port` allowed beside them) and `domain|ip` (`domain-name:value`
/// with `domain-name:resolves_to_refs[*].value`, both values). Anything else
/// is one unsupported part.
fn and_values(parts: &[Expr], out: &mut Vec<Result<(Kind, String), String>>) {
    let mut tests = Vec::new();
    for part in parts {
        match part {
            Expr::Test(test) => tests.push(test),
            _ => return out.push(Err("AND over OR".into())),
        }
    }
    let mut objects: Vec<&str> = tests.iter().map(|t| t.object.as_str()).collect();
    objects.sort_unstable();
    objects.dedup();
    match objects.as_slice() {
        ["network-traffic"] => out.push(network_address(&tests)),
        ["domain-name"] => match domain_ip(&tests) {
            Some(found) => out.extend(found),
            None => out.push(Err("AND of comparisons on domain-name".into())),
        },
        [one] => out.push(Err(format!("AND of comparisons on {one}"))),
        many => out.push(Err(format!(
            "AND of different objects ({})",
            many.join(", ")
        ))),
    }
}

/// `X_ref.type = 'ipv4-addr'` (or ipv6) and `X_ref.value = 'v'` for one side X.
fn network_address(tests: &[&Comparison]) -> Result<(Kind, String), String> {
    let unsupported = || Err("AND of comparisons on network-traffic".to_string());
    let mut side = None;
    let (mut address_type, mut value) = (None, None);
    for test in tests {
        let path = test.path.as_str();
        let (this, what) = match path.split_once('_') {
            Some((this @ ("src" | "dst"), what)) => (this, what),
            _ => return unsupported(),
        };
        if side.is_some_and(|s| s != this) {
            return unsupported();
        }
        side = Some(this);
        match what {
            "ref.type" => address_type = Some(plain_equality(test)?),
            "ref.value" => value = Some(plain_equality(test)?),
            // The port is the traffic's, not the address's: no value of its own.
            "port" => {}
            _ => return unsupported(),
        }
    }
    match (address_type, value) {
        (Some("ipv4-addr" | "ipv6-addr"), Some(value)) => {
            Ok(refine(Kind::Ip, "value", value.to_string()))
        }
        (Some(other), Some(_)) => Err(format!("network-traffic reference of type {other}")),
        _ => unsupported(),
    }
}

/// `domain-name:value` with `domain-name:resolves_to_refs[*].value`: both.
fn domain_ip(tests: &[&Comparison]) -> Option<Vec<Result<(Kind, String), String>>> {
    let [a, b] = tests else {
        return None;
    };
    let (domain, address) = match (a.path.as_str(), b.path.as_str()) {
        ("value", "resolves_to_refs[*].value") => (a, b),
        ("resolves_to_refs[*].value", "value") => (b, a),
        _ => return None,
    };
    let domain = plain_equality(domain).map(|v| (Kind::Domain, v.to_string()));
    let address = plain_equality(address).map(|v| refine(Kind::Ip, "value", v.to_string()));
    Some(vec![domain, address])
}
