//! The recursive-descent parser behind [`super::parse`]: STIX 2.1 patterning
//! syntax into [`Observation`]s, over bytes, with positions in its errors.
//! Owns the syntax only (what a pattern means is [`super::values`]); must never
//! recurse deeper than [`MAX_DEPTH`].

use super::{Comparison, Expr, Observation, MAX_DEPTH};

pub(super) struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(pattern: &'a str) -> Self {
        Parser {
            text: pattern.as_bytes(),
            at: 0,
            depth: 0,
        }
    }

    /// The whole text as one pattern.
    pub(super) fn whole(mut self) -> Result<Observation, String> {
        let observation = self.followed_by()?;
        self.ws();
        match self.at == self.text.len() {
            true => Ok(observation),
            false => Err(self.error("unexpected text")),
        }
    }

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
