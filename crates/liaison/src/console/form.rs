//! `application/x-www-form-urlencoded` input (query strings and POSTed forms)
//! as name/value pairs. Pure; owns no I/O and never interprets a value.

use std::str::FromStr;

use percent_encoding::percent_decode_str;

/// The decoded pairs of a query string or form body, in order; a name may
/// repeat (checkbox groups).
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(raw: &str) -> Fields {
        Fields(
            raw.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(name), decode(value))
                })
                .collect(),
        )
    }

    /// Pairs already decoded (a multipart form's text fields).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Fields {
        Fields(pairs)
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every pair, in order (to carry a submitted form into the next step).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// A checkbox: present with any value but "0".
    pub fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|(n, v)| n == name && v != "0")
    }
}

/// One component: `+` is a space, then percent-decoding; invalid UTF-8 is
/// replaced (U+FFFD), which the node then refuses or shows, never guesses.
fn decode(component: &str) -> String {
    percent_decode_str(&component.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A form's `kind` field as its wire code: empty is "any kind" (0); a name the
/// node does not know is refused with the field named.
pub fn kind_code(name: &str) -> Result<i32, String> {
    match name {
        "" => Ok(0),
        name => liaison_core::indicator::Kind::from_str(name)
            .map(|kind| i32::from(kind.code()))
            .map_err(|e| format!("kind: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_plus_and_percent_and_repeat() {
        let fields =
            Fields::parse("q=%2B44+7700+900123&labels=fraud&labels=drugs&federated=1&empty=");
        assert_eq!(fields.get("q"), "+44 7700 900123");
        assert_eq!(fields.all("labels"), vec!["fraud", "drugs"]);
        assert!(fields.flag("federated"));
        assert!(!fields.flag("absent"));
        assert_eq!(fields.get("empty"), "");
        assert_eq!(fields.get("absent"), "");
    }

    #[test]
    fn encoding_round_trips_through_parsing() {
        let value = "+44 7700 900123 & <b>\u{202E}";
        let encoded =
            percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
        let fields = Fields::parse(&format!("q={encoded}"));
        assert_eq!(fields.get("q"), value);
    }

    #[test]
    fn bad_utf8_is_replaced_not_dropped() {
        assert_eq!(Fields::parse("q=%FF").get("q"), "\u{FFFD}");
    }
}
