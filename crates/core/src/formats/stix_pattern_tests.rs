//! Issue 24 item 7: STIX patterns as MISP and others write them, over a bundle
//! shaped like MISP's STIX 2.1 export (fictional values); the pattern parser's
//! own cases; and properties: it never panics, and every pattern Liaison
//! writes, joined by `OR`, reads back as its values.

use proptest::prelude::*;

use super::stix::pattern::{parse, values};
use super::tests::split;
use super::*;

const PATTERNS_STIX: &[u8] = include_bytes!("testdata/patterns.stix.json");

#[test]
fn misp_and_oasis_patterns_become_one_item_per_supported_comparison() {
    let got = split(stix::read(PATTERNS_STIX));
    let items: Vec<(Kind, &str, usize)> = got
        .items
        .iter()
        .map(|i| {
            let Location::Stix { index, .. } = i.location else {
                panic!("{:?}", i.location)
            };
            (i.kind, i.value.as_str(), index)
        })
        .collect();
    assert_eq!(
        items,
        vec![
            (Kind::Ip, "192.0.2.50", 2),
            (Kind::Ip, "2001:db8::50", 3),
            (Kind::Ip, "192.0.2.51", 4),
            (Kind::Email, "boss@example.org", 5),
            (Kind::Email, "pay@example.org", 6),
            (Kind::Domain, "invest-now.example.org", 7),
            (Kind::Ip, "192.0.2.52", 7),
            (Kind::Domain, "a.example.org", 8),
            (Kind::Domain, "b.example.org", 8),
            (Kind::Url, "https://x.example.org/pay", 9),
            (Kind::Ip, "192.0.2.53", 9),
            (
                Kind::FileHash,
                "SHA-256:aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
                11,
            ),
            (Kind::Email, "ops@example.org", 13),
        ]
    );
    // Every item keeps its indicator's markings (TLP 1.0 green here).
    assert!(got.items.iter().all(|i| i.tlp == Some(Tlp::Green)));
    assert!(got
        .items
        .iter()
        .all(|i| i.description == "Fictional exercise indicator"));
    let skipped: Vec<String> = got.skipped.iter().map(|s| s.to_string()).collect();
    let expect = [
        "a \"grouping\" object",
        "(domain-name, ipv4-addr) is not supported",
        "(an observation qualified by WITHIN is not supported)",
        "(operator LIKE on domain-name:value is not supported)",
    ];
    assert_eq!(skipped.len(), expect.len(), "{skipped:#?}");
    for (got, want) in skipped.iter().zip(expect) {
        assert!(got.contains(want), "{got} should say {want}");
    }
    assert!(
        skipped[1].contains("AND of different objects"),
        "{}",
        skipped[1]
    );
    // A pattern that does not parse is the object's error, with where.
    assert_eq!(got.errors.len(), 1, "{:?}", got.errors);
    assert_eq!(got.errors[0].field, "pattern");
    assert!(
        got.errors[0]
            .reason
            .starts_with("is not a STIX pattern: unterminated string"),
        "{}",
        got.errors[0]
    );
}

fn one(text: &str) -> Vec<Result<(Kind, String), String>> {
    values(&parse(text).unwrap_or_else(|e| panic!("{text}: {e}")))
}

#[test]
fn the_parser_reads_the_grammar_and_says_what_is_not_supported() {
    assert_eq!(
        one("[ipv4-addr:value='192.0.2.1']"),
        vec![Ok((Kind::Ip, "192.0.2.1".into()))]
    );
    // Escapes, keywords in any case, nested parentheses.
    assert_eq!(
        one(
            r"[ (url:value = 'https://example.org/a\'b\\c' or (email-addr:value = 'a@example.org')) ]"
        ),
        vec![
            Ok((Kind::Url, r"https://example.org/a'b\c".into())),
            Ok((Kind::Email, "a@example.org".into())),
        ]
    );
    assert_eq!(
        one("[email-message:to_refs[*].value = 'x@example.org']"),
        vec![Ok((Kind::Email, "x@example.org".into()))]
    );
    // Every operator, literal form and qualifier parses; none is a value.
    for text in [
        "[file:size > 100]",
        "[file:hashes.'SHA-256' != h'00ff']",
        "[ipv4-addr:value ISSUBSET '192.0.2.0/24']",
        "[domain-name:value IN ('a.example.org', 'b.example.org')]",
        "[url:value MATCHES '^https?://']",
        "[x-custom:flag = true] REPEATS 5 TIMES",
        "[file:created = t'2026-01-01T00:00:00Z'] START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'",
        "[url:value NOT = 'https://example.org/']",
        "[EXISTS url:value]",
        "[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']",
        "[network-traffic:dst_ref.type = 'mac-addr' AND network-traffic:dst_ref.value = '00:00:5e:00:53:01']",
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '192.0.2.1']",
        "[network-traffic:dst_ref.value = '192.0.2.1']",
    ] {
        let found = one(text);
        assert!(
            !found.is_empty() && found.iter().all(Result::is_err),
            "{text}: {found:?}"
        );
    }
    for bad in [
        "",
        "[",
        "[url:value = 'x'",
        "[url:value 'x']",
        "[url value = 'x']",
        "[url:value = 'x'] AND",
        "[url:value = 'x'] trailing",
        "[url:value = 'bad \\q escape']",
        "[url:value = 'x'] WITHIN 5 MINUTES",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} should not parse");
    }
    let deep = format!("{}[url:value = 'x']{}", "(".repeat(100), ")".repeat(100));
    assert!(parse(&deep).unwrap_err().contains("nested deeper than"));
    let deep_set = format!("[url:value IN {}'x'{}]", "(".repeat(100), ")".repeat(100));
    assert!(parse(&deep_set).is_err());
}

/// Values Liaison writes patterns for, with quotes and backslashes.
const VALUES: [(Kind, &str); 6] = [
    (Kind::Domain, "jobs.example.org"),
    (Kind::Url, "https://jobs.example.org/a'b\\c?d=1"),
    (Kind::Ip, "192.0.2.44"),
    (Kind::Ip, "2001:db8::7"),
    (Kind::Email, "recruiter@example.org"),
    (Kind::Phone, "+447700900123"),
];

fn written(kind: Kind, value: &str) -> String {
    let (object, property) = stix::object_property(kind, value).expect("a STIX object");
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("{object}:{property} = '{escaped}'")
}

proptest! {
    #[test]
    fn the_parser_never_panics(text in "\\PC{0,200}") {
        if let Ok(parsed) = parse(&text) {
            let _ = values(&parsed);
        }
    }

    #[test]
    fn pattern_like_text_never_panics(
        parts in proptest::collection::vec(
            proptest::sample::select(&[
                "[", "]", "(", ")", " AND ", " OR ", " FOLLOWEDBY ", "url:value", " = ",
                "'x'", "'a\\'b'", " WITHIN 5 SECONDS", "network-traffic:dst_ref.type",
                "domain-name:resolves_to_refs[*].value", ",", "NOT ", " IN ", "t'", "h'00'",
            ][..]),
            0..40,
        )
    ) {
        let text: String = parts.concat();
        if let Ok(parsed) = parse(&text) {
            let _ = values(&parsed);
        }
    }

    /// Comparisons joined by OR, in one observation or in several, read back
    /// as their values in order.
    #[test]
    fn ored_comparisons_read_back(
        picks in proptest::collection::vec(0..VALUES.len(), 1..6),
        observations in any::<bool>(),
    ) {
        let parts: Vec<String> = picks.iter().map(|&i| written(VALUES[i].0, VALUES[i].1)).collect();
        let text = match observations {
            true => parts.iter().map(|p| format!("[{p}]")).collect::<Vec<_>>().join(" OR "),
            false => format!("[{}]", parts.join(" OR ")),
        };
        let got = values(&parse(&text).unwrap());
        let want: Vec<Result<(Kind, String), String>> =
            picks.iter().map(|&i| Ok((VALUES[i].0, VALUES[i].1.to_string()))).collect();
        prop_assert_eq!(got, want);
    }
}
