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

use crate::indicator::Kind;

use super::kind_of;

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
    let mut parser = Parser {
        text: pattern.as_bytes(),
        at: 0,
        depth: 0,
    };
    let observation = parser.followed_by()?;
    parser.ws();
    match parser.at == parser.text.len() {
        true => Ok(observation),
        false => Err(parser.error("unexpected text")),
    }
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
        Some(kind) => Ok((kind, value.to_string())),
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
        (Some("ipv4-addr" | "ipv6-addr"), Some(value)) => Ok((Kind::Ip, value.to_string())),
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
    let address = plain_equality(address).map(|v| (Kind::Ip, v.to_string()));
    Some(vec![domain, address])
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at character {}", self.at + 1)
    }

    fn ws(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        match self.peek() == Some(byte) {
            true => {
                self.at += 1;
                Ok(())
            }
            false => Err(self.error(&format!("expected '{}'", byte as char))),
        }
    }

    /// Takes `word` (any case) when it stands next as a whole word.
    fn keyword(&mut self, word: &str) -> bool {
        self.ws();
        let end = self.at + word.len();
        let matches = self
            .text
            .get(self.at..end)
            .is_some_and(|t| t.eq_ignore_ascii_case(word.as_bytes()));
        let whole = !self
            .text
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if matches && whole {
            self.at = end;
        }
        matches && whole
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        match self.depth > MAX_DEPTH {
            true => Err(self.error(&format!("nested deeper than {MAX_DEPTH}"))),
            false => Ok(()),
        }
    }

    fn followed_by(&mut self) -> Result<Observation, String> {
        let parts = self.joined("FOLLOWEDBY", Self::observation_or)?;
        Ok(one_or(parts, Observation::FollowedBy))
    }

    fn observation_or(&mut self) -> Result<Observation, String> {
        let parts = self.joined("OR", Self::observation_and)?;
        Ok(one_or(parts, Observation::Or))
    }

    fn observation_and(&mut self) -> Result<Observation, String> {
        let parts = self.joined("AND", Self::observation)?;
        Ok(one_or(parts, Observation::And))
    }

    fn joined<T>(
        &mut self,
        word: &str,
        mut part: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let mut parts = vec![part(self)?];
        while self.keyword(word) {
            parts.push(part(self)?);
        }
        Ok(parts)
    }

    fn observation(&mut self) -> Result<Observation, String> {
        self.enter()?;
        let mut observation = match self.peek() {
            Some(b'[') => {
                self.at += 1;
                let expr = self.expr_or()?;
                self.expect(b']')?;
                Observation::Bracket(expr)
            }
            Some(b'(') => {
                self.at += 1;
                let inner = self.followed_by()?;
                self.expect(b')')?;
                inner
            }
            _ => return Err(self.error("expected '[' or '('")),
        };
        while let Some(qualifier) = self.qualifier()? {
            observation = Observation::Qualified(Box::new(observation), qualifier);
        }
        self.depth -= 1;
        Ok(observation)
    }

    fn qualifier(&mut self) -> Result<Option<&'static str>, String> {
        if self.keyword("WITHIN") {
            self.literal()?;
            return match self.keyword("SECONDS") {
                true => Ok(Some("WITHIN")),
                false => Err(self.error("expected SECONDS")),
            };
        }
        if self.keyword("REPEATS") {
            self.literal()?;
            return match self.keyword("TIMES") {
                true => Ok(Some("REPEATS")),
                false => Err(self.error("expected TIMES")),
            };
        }
        if self.keyword("START") {
            self.literal()?;
            return match self.keyword("STOP") {
                true => self.literal().map(|_| Some("START … STOP")),
                false => Err(self.error("expected STOP")),
            };
        }
        Ok(None)
    }

    fn expr_or(&mut self) -> Result<Expr, String> {
        let parts = self.joined("OR", Self::expr_and)?;
        Ok(one_or(parts, Expr::Or))
    }

    fn expr_and(&mut self) -> Result<Expr, String> {
        let parts = self.joined("AND", Self::test)?;
        // `a AND (b AND c)` is one conjunction.
        let mut flat = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                Expr::And(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        Ok(one_or(flat, Expr::And))
    }

    fn test(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(b'(') {
            self.enter()?;
            self.at += 1;
            let inner = self.expr_or()?;
            self.expect(b')')?;
            self.depth -= 1;
            return Ok(inner);
        }
        let exists = self.keyword("EXISTS");
        let object = self.name(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')?;
        self.expect(b':')?;
        let path = self.path()?;
        if exists {
            return Ok(Expr::Test(Comparison {
                object,
                path,
                negated: false,
                operator: "EXISTS".into(),
                string: None,
            }));
        }
        let negated = self.keyword("NOT");
        let operator = self.operator()?;
        let string = self.literal()?;
        Ok(Expr::Test(Comparison {
            object,
            path,
            negated,
            operator,
            string,
        }))
    }

    fn name(&mut self, allowed: impl Fn(u8) -> bool) -> Result<String, String> {
        self.ws();
        let start = self.at;
        while self.text.get(self.at).is_some_and(|b| allowed(*b)) {
            self.at += 1;
        }
        match self.at > start {
            true => Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned()),
            false => Err(self.error("expected a name")),
        }
    }

    /// `a.b`, `a.'quoted key'`, `a[0]`, `a[*]` (no spaces inside).
    fn path(&mut self) -> Result<String, String> {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        let mut path = self.name(word)?;
        loop {
            match self.text.get(self.at) {
                Some(b'.') if self.text.get(self.at + 1) == Some(&b'\'') => {
                    self.at += 1;
                    let key = self.quoted()?;
                    path.push_str(&format!(".'{key}'"));
                }
                Some(b'.') => {
                    self.at += 1;
                    path.push('.');
                    path.push_str(&self.name(word)?);
                }
                Some(b'[') => {
                    self.at += 1;
                    let index = self.name(|b| b.is_ascii_digit() || b == b'*')?;
                    self.expect(b']')?;
                    path.push_str(&format!("[{index}]"));
                }
                _ => return Ok(path),
            }
        }
    }

    fn operator(&mut self) -> Result<String, String> {
        self.ws();
        for symbol in ["!=", "<=", ">=", "=", "<", ">"] {
            if self.text[self.at..].starts_with(symbol.as_bytes()) {
                self.at += symbol.len();
                return Ok(symbol.to_string());
            }
        }
        for word in ["IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"] {
            if self.keyword(word) {
                return Ok(word.to_string());
            }
        }
        Err(self.error("expected a comparison operator"))
    }

    /// A literal; `Some` with its text for a plain string.
    fn literal(&mut self) -> Result<Option<String>, String> {
        match self.peek() {
            Some(b'\'') => self.quoted().map(Some),
            Some(b't' | b'h' | b'b') if self.text.get(self.at + 1) == Some(&b'\'') => {
                self.at += 1;
                self.quoted().map(|_| None)
            }
            Some(b'(') => {
                self.enter()?;
                self.at += 1;
                loop {
                    self.literal()?;
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b')') => {
                            self.at += 1;
                            self.depth -= 1;
                            return Ok(None);
                        }
                        _ => return Err(self.error("expected ',' or ')'")),
                    }
                }
            }
            _ if self.keyword("true") || self.keyword("false") => Ok(None),
            _ => {
                self.name(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))?;
                Ok(None)
            }
        }
    }

    /// `'…'` with `\'` and `\\` escapes; the text between the quotes.
    fn quoted(&mut self) -> Result<String, String> {
        self.expect(b'\'')?;
        let mut bytes = Vec::new();
        loop {
            match self.text.get(self.at) {
                None => return Err(self.error("unterminated string")),
                Some(b'\\') => match self.text.get(self.at + 1) {
                    Some(&escaped @ (b'\'' | b'\\')) => {
                        bytes.push(escaped);
                        self.at += 2;
                    }
                    _ => return Err(self.error("a backslash escapes only ' and \\")),
                },
                Some(b'\'') => {
                    self.at += 1;
                    return String::from_utf8(bytes).map_err(|_| self.error("not UTF-8"));
                }
                Some(&byte) => {
                    bytes.push(byte);
                    self.at += 1;
                }
            }
        }
    }
}

/// The one part itself, or the parts joined.
fn one_or<T>(mut parts: Vec<T>, join: impl FnOnce(Vec<T>) -> T) -> T {
    match parts.len() {
        1 => parts.remove(0),
        _ => join(parts),
    }
}
