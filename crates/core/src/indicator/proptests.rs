//! Property tests: no kind panics on arbitrary input, normalising is
//! idempotent, and generated valid values of each kind are accepted.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

/// 512 cases by default; `PROPTEST_CASES` raises it for longer local runs.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

fn gb() -> Context {
    Context {
        default_country: Some("GB".to_string()),
    }
}

fn any_kind() -> impl Strategy<Value = Kind> {
    (0..Kind::ALL.len()).prop_map(|i| Kind::ALL[i])
}

/// Inputs shaped like indicators, to reach deeper than random Unicode does.
fn indicator_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9+ ()./-]{0,24}",
        "[+0]{0,2}[0-9]{1,3}[ (0)]{0,4}[0-9 #*;:=a-z-]{0,20}",
        "[a-zA-Z0-9.:@/%?#\\[\\]_-]{0,60}",
        "(https?|ftp|HTTP)://[a-zA-Z0-9.:@%\\[\\]-]{0,30}[/?#a-z%0-9]{0,20}",
        "(telegram|x|line|place|GB|th|0x|bc1|BC1|T|1|3):[@a-zA-Z0-9 ._-]{0,40}",
        "[13TLm][1-9A-HJ-NP-Za-km-z]{20,40}",
        "0x[0-9a-fA-F]{38,42}",
        "[a-zA-Z]{2}[0-9]{2}[A-Z0-9 ]{8,34}",
        "[-+]?[0-9]{1,3}(\\.[0-9]{0,9})?, ?[-+]?[0-9]{1,3}(\\.[0-9]{0,9})?",
        "[ \\t\\n\u{a0}\u{3000}A-Za-zＡ-Ｚ①ﬁß İΣς]{0,40}",
    ]
}

/// Handles whose normalised handle still starts with `@` (input `@@name`)
/// lose that `@` on a second pass: the shared rule strips exactly one, so
/// they are not idempotent by design.
fn idempotence_applies(n: &Normalized) -> bool {
    match n.kind {
        Kind::JobAd => false,
        Kind::Handle => !n
            .value
            .split_once(':')
            .is_some_and(|(_, h)| h.starts_with('@')),
        _ => true,
    }
}

fn check_idempotent(kind: Kind, input: &str, ctx: &Context) -> Result<(), TestCaseError> {
    if let Ok(first) = normalize(kind, input, ctx) {
        if idempotence_applies(&first) {
            let second = normalize(kind, &first.value, ctx);
            prop_assert_eq!(second, Ok(first), "input {:?}", input);
        }
    }
    Ok(())
}

fn iban_check_digits(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let remainder = rearranged.chars().fold(0u32, |acc, c| {
        let value = c.to_digit(36).unwrap_or(0);
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    });
    format!("{:02}", 98 - remainder)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn never_panics_on_arbitrary_strings(kind in any_kind(), input in indicator_like()) {
        let _ = normalize(kind, &input, &Context::default());
        let _ = normalize(kind, &input, &gb());
    }

    #[test]
    fn never_panics_on_lossy_bytes(kind in any_kind(), bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let input = String::from_utf8_lossy(&bytes);
        let _ = normalize(kind, &input, &gb());
    }

    #[test]
    fn normalize_any_never_panics(input in indicator_like()) {
        let results = normalize_any(&input, &gb());
        prop_assert!(results.windows(2).all(|w| w[0].kind < w[1].kind));
    }

    #[test]
    fn normalizing_is_idempotent(kind in any_kind(), input in indicator_like()) {
        check_idempotent(kind, &input, &Context::default())?;
        check_idempotent(kind, &input, &gb())?;
    }

    #[test]
    fn jobad_hash_depends_only_on_folded_text(a in "[ a-zA-Z\\t\\nＡ-Ｚ]{0,30}", b in "[ a-zA-Z\\t\\n]{0,30}") {
        let ha = normalize(Kind::JobAd, &a, &Context::default());
        let hb = normalize(Kind::JobAd, &b, &Context::default());
        let same_text = text::fold_text(&a) == text::fold_text(&b);
        match (ha, hb) {
            (Ok(ha), Ok(hb)) => prop_assert_eq!(ha.value == hb.value, same_text),
            (Err(_), Err(_)) => prop_assert!(same_text),
            _ => prop_assert!(!same_text),
        }
    }

    #[test]
    fn jobad_case_and_spacing_do_not_matter(words in proptest::collection::vec("[a-z]{1,8}", 1..10)) {
        let plain = words.join(" ");
        let shouted = format!("  {}\r\n", words.join(" \t ").to_uppercase());
        prop_assert_eq!(
            normalize(Kind::JobAd, &plain, &Context::default()),
            normalize(Kind::JobAd, &shouted, &Context::default())
        );
    }

    #[test]
    fn any_ipv4_normalises_to_itself(octets in any::<[u8; 4]>()) {
        let ip = Ipv4Addr::from(octets).to_string();
        prop_assert_eq!(normalize(Kind::Ip, &ip, &Context::default()).map(|n| n.value), Ok(ip));
    }

    #[test]
    fn any_ipv6_in_full_form_normalises_to_rfc5952(groups in any::<[u16; 8]>()) {
        let ip = Ipv6Addr::from(groups);
        let full = groups.iter().map(|g| format!("{g:04X}")).collect::<Vec<_>>().join(":");
        let value = normalize(Kind::Ip, &full, &Context::default()).map(|n| n.value);
        prop_assert_eq!(value.clone(), Ok(ip.to_string()));
        let reparsed = value.ok().and_then(|v| v.parse::<Ipv6Addr>().ok());
        prop_assert_eq!(reparsed, Some(ip));
    }

    #[test]
    fn any_eth_address_gets_eip55(bytes in any::<[u8; 20]>(), upper in any::<bool>()) {
        let lower = hex::encode(bytes);
        let hex = if upper { lower.to_ascii_uppercase() } else { lower.clone() };
        let value = normalize(Kind::Wallet, &format!("0x{hex}"), &Context::default()).map(|n| n.value);
        let expected = wallet::eip55(&lower);
        prop_assert_eq!(value, Ok(expected.clone()));
        // Flipping the case of any one letter breaks a mixed-case checksum.
        let letters: Vec<usize> = expected.char_indices().skip(2).filter(|(_, c)| c.is_ascii_alphabetic()).map(|(i, _)| i).collect();
        let mixed = expected.chars().any(|c| c.is_ascii_lowercase()) && expected.chars().any(|c| c.is_ascii_uppercase());
        if let (Some(&i), true) = (letters.first(), mixed) {
            let mut flipped: Vec<char> = expected.chars().collect();
            flipped[i] = if flipped[i].is_ascii_uppercase() { flipped[i].to_ascii_lowercase() } else { flipped[i].to_ascii_uppercase() };
            let flipped: String = flipped.into_iter().collect();
            let still_mixed = flipped.chars().skip(2).any(|c| c.is_ascii_lowercase()) && flipped.chars().skip(2).any(|c| c.is_ascii_uppercase());
            if still_mixed {
                prop_assert!(normalize(Kind::Wallet, &flipped, &Context::default()).is_err());
            }
        }
    }

    #[test]
    fn uk_drama_range_numbers_normalise(n in 0u32..1000, national in any::<bool>()) {
        let (input, ctx) = if national {
            (format!("07700 900{n:03}"), gb())
        } else {
            (format!("+44 7700 900{n:03}"), Context::default())
        };
        let got = normalize(Kind::Phone, &input, &ctx);
        prop_assert_eq!(got, Ok(Normalized { kind: Kind::Phone, value: format!("+447700900{n:03}"), outside_known_ranges: true }));
    }

    #[test]
    fn generated_domains_normalise(labels in proptest::collection::vec("[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", 1..5), tld in "[a-z]{2,6}") {
        // Single hyphens only: `--` in positions 3-4 is reserved (tested elsewhere).
        let domain = format!("{}.{tld}", labels.join("."));
        let upper = domain.to_uppercase();
        prop_assert_eq!(normalize(Kind::Domain, &upper, &Context::default()).map(|n| n.value), Ok(domain.clone()));
        prop_assert_eq!(normalize(Kind::Email, &format!("Someone@{upper}"), &Context::default()).map(|n| n.value), Ok(format!("someone@{domain}")));
        prop_assert_eq!(normalize(Kind::Url, &format!("HTTPS://{upper}:443"), &Context::default()).map(|n| n.value), Ok(format!("https://{domain}/")));
    }

    #[test]
    fn generated_gb_ibans_normalise(bank in "[A-Z]{4}", account in "[0-9]{14}") {
        let bban = format!("{bank}{account}");
        let iban = format!("GB{}{bban}", iban_check_digits("GB", &bban));
        let spaced = iban.chars().collect::<Vec<_>>().chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(normalize(Kind::Iban, &spaced.to_lowercase(), &Context::default()).map(|n| n.value), Ok(iban.clone()));
        let as_account = format!("GB:{iban}");
        prop_assert!(normalize(Kind::BankAccount, &as_account, &Context::default()).is_err());
    }

    #[test]
    fn generated_coordinates_normalise(lat in -90_000_000i64..=90_000_000, lon in -180_000_000i64..=180_000_000) {
        let text = format!("{},{}", micro_degrees(lat), micro_degrees(lon));
        let expected = format!("{},{}", trim_decimals(&micro_degrees(lat)), trim_decimals(&micro_degrees(lon)));
        prop_assert_eq!(normalize(Kind::Location, &text, &Context::default()).map(|n| n.value), Ok(expected));
    }
}

fn micro_degrees(micro: i64) -> String {
    let sign = if micro < 0 { "-" } else { "" };
    let abs = micro.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

fn trim_decimals(text: &str) -> String {
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
