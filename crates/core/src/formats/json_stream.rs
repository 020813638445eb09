//! A small streaming JSON scanner: walks the top level of a document and hands
//! out the elements of one array (a STIX bundle's `objects`, a list of MISP
//! events) as separate byte buffers, one at a time, for serde to decode.
//!
//! Why not one serde pass over the file: a malformed element must cost that
//! element only (the rest of the file is still read and reported), and memory
//! must stay bounded by the largest element, whatever the file size.
//!
//! Owns only finding value boundaries (strings, escapes, nesting). It never
//! interprets element contents and never buffers more than `limit` bytes of one
//! element: a larger element is skipped and reported as too large.

use std::io::{BufRead, BufReader, Read};

/// Why the scan stopped: the file is not JSON of the expected shape, or ends early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanError(pub String);

/// Where a value's scan is: inside brackets, inside a string, or a bare scalar.
enum Walk {
    Nested { depth: usize, text: Text },
    String { opened: bool, text: Text },
    Scalar,
}

/// String state inside a value: in a string, after a backslash.
#[derive(Default)]
struct Text {
    inside: bool,
    escaped: bool,
}

impl Text {
    /// Feeds one byte; `true` if it is string content (or a quote) to skip.
    fn feed(&mut self, byte: u8) -> bool {
        if !self.inside {
            self.inside = byte == b'"';
            return self.inside;
        }
        match (self.escaped, byte) {
            (true, _) => self.escaped = false,
            (false, b'\\') => self.escaped = true,
            (false, b'"') => self.inside = false,
            _ => {}
        }
        true
    }
}

impl Walk {
    /// How many bytes of `buf` belong to the value, and whether it ends there.
    fn scan(&mut self, buf: &[u8]) -> (usize, bool) {
        for (at, &byte) in buf.iter().enumerate() {
            match self {
                Walk::Nested { depth, text } => {
                    if text.feed(byte) {
                        continue;
                    }
                    match byte {
                        b'{' | b'[' => *depth += 1,
                        b'}' | b']' => {
                            *depth -= 1;
                            if *depth == 0 {
                                return (at + 1, true);
                            }
                        }
                        _ => {}
                    }
                }
                Walk::String { opened, text } => {
                    if !*opened {
                        *opened = true;
                        text.inside = true;
                        continue;
                    }
                    text.feed(byte);
                    if !text.inside {
                        return (at + 1, true);
                    }
                }
                Walk::Scalar => {
                    if matches!(byte, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                        return (at, true);
                    }
                }
            }
        }
        (buf.len(), false)
    }
}

/// One array element: its bytes, or its size when it was over the limit.
pub(crate) enum Element {
    Bytes(Vec<u8>),
    TooLarge(usize),
}

pub(crate) struct Scanner<R: Read> {
    input: BufReader<R>,
    offset: u64,
}

impl<R: Read> Scanner<R> {
    pub(crate) fn new(input: R) -> Self {
        Scanner {
            input: BufReader::with_capacity(64 * 1024, input),
            offset: 0,
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, ScanError> {
        let buf = self
            .input
            .fill_buf()
            .map_err(|e| ScanError(format!("unreadable at byte {}: {e}", self.offset)))?;
        Ok(buf.first().copied())
    }

    fn bump(&mut self) {
        self.input.consume(1);
        self.offset += 1;
    }

    fn next_byte(&mut self) -> Result<u8, ScanError> {
        let byte = self.peek()?.ok_or_else(|| self.eof())?;
        self.bump();
        Ok(byte)
    }

    fn eof(&self) -> ScanError {
        ScanError(format!(
            "the file ends early (truncated?) at byte {}",
            self.offset
        ))
    }

    fn unexpected(&self, wanted: &str, found: u8) -> ScanError {
        ScanError(format!(
            "expected {wanted} at byte {}, found {:?}",
            self.offset,
            char::from(found)
        ))
    }

    /// The next non-whitespace byte, not consumed; `None` at the end of the file.
    pub(crate) fn skip_ws(&mut self) -> Result<Option<u8>, ScanError> {
        while let Some(byte) = self.peek()? {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' => self.bump(),
                0xEF if self.offset == 0 => self.skip_bom()?,
                _ => return Ok(Some(byte)),
            }
        }
        Ok(None)
    }

    fn skip_bom(&mut self) -> Result<(), ScanError> {
        for expected in [0xEF, 0xBB, 0xBF] {
            let byte = self.next_byte()?;
            if byte != expected {
                return Err(self.unexpected("a UTF-8 byte order mark", byte));
            }
        }
        Ok(())
    }

    /// Consumes `wanted` after optional whitespace.
    pub(crate) fn expect(&mut self, wanted: u8) -> Result<(), ScanError> {
        match self.skip_ws()? {
            Some(byte) if byte == wanted => {
                self.bump();
                Ok(())
            }
            Some(byte) => Err(self.unexpected(&format!("{:?}", char::from(wanted)), byte)),
            None => Err(self.eof()),
        }
    }

    /// Copies one JSON value into `out` (at most `limit` bytes) or skips it.
    /// Returns the value's size in bytes. Works a buffer at a time.
    pub(crate) fn value(
        &mut self,
        mut out: Option<&mut Vec<u8>>,
        limit: usize,
    ) -> Result<usize, ScanError> {
        let first = self.skip_ws()?.ok_or_else(|| self.eof())?;
        let mut walk = match first {
            b'{' | b'[' => Walk::Nested {
                depth: 0,
                text: Text::default(),
            },
            b'"' => Walk::String {
                opened: false,
                text: Text::default(),
            },
            b'}' | b']' | b',' | b':' => return Err(self.unexpected("a value", first)),
            _ => Walk::Scalar,
        };
        let mut size = 0usize;
        loop {
            let buf = self
                .input
                .fill_buf()
                .map_err(|e| ScanError(format!("unreadable at byte {}: {e}", self.offset)))?;
            if buf.is_empty() {
                return match walk {
                    Walk::Scalar => Ok(size),
                    _ => Err(self.eof()),
                };
            }
            let (used, done) = walk.scan(buf);
            if let Some(out) = out.as_deref_mut() {
                let room = limit.saturating_sub(out.len());
                out.extend_from_slice(&buf[..used.min(room)]);
            }
            size += used;
            self.input.consume(used);
            self.offset += used as u64;
            if done {
                return Ok(size);
            }
        }
    }

    /// The next key of an object whose `{` is consumed; `None` after its `}`.
    pub(crate) fn next_key(&mut self, first: &mut bool) -> Result<Option<String>, ScanError> {
        if self.skip_ws()? == Some(b'}') {
            self.bump();
            return Ok(None);
        }
        if !std::mem::take(first) {
            self.expect(b',')?;
        }
        if let Some(byte) = self.skip_ws()? {
            if byte != b'"' {
                return Err(self.unexpected("an object key", byte));
            }
        }
        let mut raw = Vec::new();
        self.value(Some(&mut raw), 4096)?;
        let key: String = serde_json::from_slice(&raw)
            .map_err(|e| ScanError(format!("bad object key at byte {}: {e}", self.offset)))?;
        self.expect(b':')?;
        Ok(Some(key))
    }

    /// The next element of an array whose `[` is consumed; `None` after its `]`.
    pub(crate) fn next_element(
        &mut self,
        first: &mut bool,
        limit: usize,
    ) -> Result<Option<Element>, ScanError> {
        if self.skip_ws()? == Some(b']') {
            self.bump();
            return Ok(None);
        }
        if !std::mem::take(first) {
            self.expect(b',')?;
        }
        let mut buf = Vec::new();
        let size = self.value(Some(&mut buf), limit)?;
        Ok(Some(match size > limit {
            true => Element::TooLarge(size),
            false => Element::Bytes(buf),
        }))
    }

    /// A small value (a top-level `"type"`), decoded; `None` if it is not a string.
    pub(crate) fn small_string(&mut self) -> Result<Option<String>, ScanError> {
        let mut raw = Vec::new();
        let size = self.value(Some(&mut raw), 4096)?;
        Ok(match size > 4096 {
            true => None,
            false => serde_json::from_slice(&raw).ok(),
        })
    }

    /// After the document: only whitespace may follow.
    pub(crate) fn expect_end(&mut self) -> Result<(), ScanError> {
        match self.skip_ws()? {
            None => Ok(()),
            Some(byte) => Err(self.unexpected("the end of the file", byte)),
        }
    }
}

/// Decodes an object, naming the property at fault when it does not decode
/// (serde's own message names the type, not the property): on error, the
/// property at fault is the one whose removal makes the object decode, or makes
/// serde miss exactly that (required) property. Costs nothing unless the object
/// is bad.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    whole: &str,
) -> Result<T, (String, String)> {
    let err = match serde_json::from_slice::<T>(bytes) {
        Ok(decoded) => return Ok(decoded),
        Err(err) => err,
    };
    let reason = err.to_string();
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(bytes) else {
        return Err((whole.to_string(), reason));
    };
    let culprit = map.keys().find(|key| {
        let mut without = map.clone();
        without.remove(*key);
        match serde_json::from_value::<T>(serde_json::Value::Object(without)) {
            Ok(_) => true,
            Err(other) => other
                .to_string()
                .starts_with(&format!("missing field `{key}`")),
        }
    });
    match culprit {
        Some(key) => Err((key.clone(), strip_position(&reason))),
        None => Err((whole.to_string(), reason)),
    }
}

/// serde_json's " at line 1 column 85" means nothing once a property is named.
fn strip_position(reason: &str) -> String {
    match reason.rfind(" at line ") {
        Some(at) => reason[..at].to_string(),
        None => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Result<Vec<String>, ScanError> {
        let mut scanner = Scanner::new(text.as_bytes());
        scanner.expect(b'[')?;
        let mut first = true;
        let mut out = Vec::new();
        while let Some(element) = scanner.next_element(&mut first, 16)? {
            out.push(match element {
                Element::Bytes(b) => String::from_utf8(b).unwrap(),
                Element::TooLarge(n) => format!("too large: {n}"),
            });
        }
        scanner.expect_end()?;
        Ok(out)
    }

    #[test]
    fn splits_elements_with_strings_escapes_and_nesting() {
        let got = elements(r#" [ {"a":"]}\""}, [1,[2]], "x,y", 12.5e3, true, null ] "#).unwrap();
        assert_eq!(
            got,
            [
                r#"{"a":"]}\""}"#,
                "[1,[2]]",
                r#""x,y""#,
                "12.5e3",
                "true",
                "null"
            ]
        );
    }

    #[test]
    fn large_elements_are_reported_and_skipped() {
        let got = elements(r#"[{"big":"0123456789012345678901234"}, 1]"#).unwrap();
        assert_eq!(got, ["too large: 35", "1"]);
    }

    #[test]
    fn decode_names_the_bad_property() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Thing {
            name: String,
            #[serde(default)]
            tags: Vec<String>,
        }
        let (field, reason) =
            decode::<Thing>(br#"{"name": "x", "tags": "oops"}"#, "object").unwrap_err();
        assert_eq!(field, "tags");
        assert!(reason.starts_with("invalid type: string"), "{reason}");
        let (field, reason) = decode::<Thing>(br#"{"tags": []}"#, "object").unwrap_err();
        assert_eq!(
            (field.as_str(), reason.contains("missing field `name`")),
            ("object", true)
        );
        assert!(decode::<Thing>(br#"{"name": "x"}"#, "object").is_ok());
    }

    #[test]
    fn truncation_and_garbage_are_errors() {
        assert!(elements(r#"[{"a":1}, {"b":"#)
            .unwrap_err()
            .0
            .contains("ends early"));
        assert!(elements("[1 2]").unwrap_err().0.contains("expected ','"));
        assert!(elements("[1] x").is_err());
    }
}
