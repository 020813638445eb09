//! Unit tests for the rules the shared vectors do not cover: url,
//! bank-account, alias, location, and extra cases for iban, handle, email and
//! IDNA2008 validity.

use super::tests::{err, ok};
use super::*;

#[test]
fn url_rule() {
    assert_eq!(ok(Kind::Url, "HTTP://Example.COM"), "http://example.com/");
    assert_eq!(
        ok(Kind::Url, "https://example.com:443/a?b=1#frag"),
        "https://example.com/a?b=1"
    );
    assert_eq!(
        ok(Kind::Url, "https://example.com:8443"),
        "https://example.com:8443/"
    );
    assert_eq!(
        ok(Kind::Url, "ftp://files.example.org:21/pub/"),
        "ftp://files.example.org/pub/"
    );
    assert_eq!(
        ok(Kind::Url, "http://bücher.de/straße?q=ä"),
        "http://xn--bcher-kva.de/stra%C3%9Fe?q=%C3%A4"
    );
    assert_eq!(
        ok(Kind::Url, "http://example.com/a%2fb%zz"),
        "http://example.com/a%2Fb%25zz"
    );
    assert_eq!(
        ok(Kind::Url, "http://user:pw@example.com/"),
        "http://user:pw@example.com/"
    );
    assert_eq!(
        ok(Kind::Url, "http://192.0.2.1:8080/x"),
        "http://192.0.2.1:8080/x"
    );
    assert_eq!(
        ok(Kind::Url, "http://[2001:DB8:0:0:0:0:0:1]:80/"),
        "http://[2001:db8::1]/"
    );
    assert_eq!(
        ok(Kind::Url, "http://example.com?x=1"),
        "http://example.com/?x=1"
    );
    assert_eq!(ok(Kind::Url, "http://example.com./"), "http://example.com/");
    assert_eq!(
        ok(Kind::Url, "http://example.com/<script>"),
        "http://example.com/%3Cscript%3E"
    );
    for bad in [
        "example.com",
        "javascript:alert(1)",
        "mailto:a@example.com",
        "http://",
        "http:///path",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://192.168.001.1/",
        "http://0x7f.0.0.1/",
        "http://2130706433/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://example.com:8a/",
        "http://[2001:db8::1/",
        "http://[192.0.2.1]/",
        "http://exa_mple.com/",
    ] {
        assert!(
            err(Kind::Url, bad).starts_with("invalid url value: "),
            "{bad}"
        );
    }
}

#[test]
fn bank_account_rule() {
    assert_eq!(ok(Kind::BankAccount, "gb: 1234 5678"), "GB:12345678");
    assert_eq!(ok(Kind::BankAccount, "TH:123-4-56789-0"), "TH:1234567890");
    assert_eq!(ok(Kind::BankAccount, "kh:abc-1234"), "KH:ABC1234");
    assert!(err(Kind::BankAccount, "GB82 WEST 1234 5698 7654 32").contains("use kind iban"));
    assert!(err(Kind::BankAccount, "GB:GB82 WEST 1234 5698 7654 32").contains("use kind iban"));
    assert!(err(Kind::BankAccount, "12345678").contains("COUNTRY:NUMBER"));
    assert!(err(Kind::BankAccount, "GBR:12345678").contains("two-letter"));
    assert!(err(Kind::BankAccount, "G1:12345678").contains("two-letter"));
    assert!(err(Kind::BankAccount, "TH:123").contains("expected 4 to 34"));
    assert!(err(Kind::BankAccount, &format!("TH:{}", "1".repeat(35))).contains("expected 4 to 34"));
    assert!(err(Kind::BankAccount, "TH:1234/5678").contains("'/'"));
    assert!(err(Kind::BankAccount, "TH:１２３４５").contains("only letters and digits"));
}

#[test]
fn iban_errors_say_what_is_wrong() {
    assert!(err(Kind::Iban, "GB82 WEST 1234 5698 7654").contains("wrong length"));
    assert!(err(Kind::Iban, "DE89 3704 0044 0532 0130 000").contains("wrong length"));
    assert!(err(Kind::Iban, "XX82 WEST 1234 5698 7654 32").contains("has no IBAN format"));
    assert!(err(Kind::Iban, "GB82 WEST 1234 5698 7654 33").contains("mod-97"));
    assert!(err(Kind::Iban, "GB82 WEST 1234 5698 7654 3!").contains("IBAN format"));
}

#[test]
fn alias_rule() {
    assert_eq!(
        ok(Kind::Alias, "  Mr.   Somchai\tJai-Dee "),
        "mr. somchai jai-dee"
    );
    assert_eq!(ok(Kind::Alias, "ＡＮＮＡ"), "anna");
    assert_eq!(ok(Kind::Alias, "สมชาย ใจดี"), "สมชาย ใจดี");
    assert_eq!(ok(Kind::Alias, &"x".repeat(200)).len(), 200);
    assert!(err(Kind::Alias, &"x".repeat(201)).contains("limit is 200"));
    assert!(err(Kind::Alias, "   ").contains("empty"));
    assert!(err(Kind::Alias, "bad\u{7}bell").contains("control"));
}

#[test]
fn location_rule() {
    assert_eq!(ok(Kind::Location, "16.7784,98.5247"), "16.7784,98.5247");
    assert_eq!(
        ok(Kind::Location, " 16.778400 , 98.52470 "),
        "16.7784,98.5247"
    );
    assert_eq!(ok(Kind::Location, "+16.12345678,-98.1"), "16.123457,-98.1");
    assert_eq!(ok(Kind::Location, "-90,180"), "-90,180");
    assert_eq!(ok(Kind::Location, "-0.0000001,0"), "0,0");
    assert_eq!(ok(Kind::Location, "Shwe Kokko"), "place:shwe kokko");
    assert_eq!(ok(Kind::Location, "place:Shwe  Kokko"), "place:shwe kokko");
    assert_eq!(ok(Kind::Location, "PLACE: Myawaddy"), "place:myawaddy");
    assert_eq!(ok(Kind::Location, "place:16.7,98.5"), "place:16.7,98.5");
    assert!(err(Kind::Location, "91,0").contains("latitude"));
    assert!(err(Kind::Location, "0,180.5").contains("longitude"));
    assert!(err(Kind::Location, "place:").contains("empty"));
    // Exponents, inf and nan are not coordinates, so they read as place names.
    assert_eq!(ok(Kind::Location, "1e1,2"), "place:1e1,2");
    assert_eq!(ok(Kind::Location, "nan,inf"), "place:nan,inf");
}

#[test]
fn handle_extras() {
    assert_eq!(
        ok(Kind::Handle, " Telegram : @Some_Name "),
        "telegram:some_name"
    );
    assert!(err(Kind::Handle, "telegram:some name").contains("whitespace"));
    assert!(err(Kind::Handle, &format!("x:{}", "a".repeat(257))).contains("limit is 256"));
}

#[test]
fn email_extras() {
    assert_eq!(ok(Kind::Email, "User@Example.com."), "user@example.com");
    assert!(err(Kind::Email, "john doe@example.com").contains("whitespace"));
    assert!(err(Kind::Email, &format!("{}@example.com", "a".repeat(65))).contains("64 bytes"));
    assert!(err(Kind::Email, "user@192.0.2.1").contains("use kind ip"));
}

#[test]
fn idna2008_validity_beyond_uts46() {
    assert!(err(Kind::Domain, "xn--n3h.net").contains("IDNA2008"));
    assert!(err(Kind::Domain, "\u{1100}a.kr").contains("IDNA2008"));
    assert!(err(Kind::Domain, "a\u{b7}b.cat").contains("IDNA2008"));
    assert_eq!(ok(Kind::Domain, "col\u{b7}legi.cat"), "xn--collegi-xma.cat");
    assert!(err(Kind::Domain, "\u{660}\u{6f0}.example").starts_with("invalid domain value"));
    assert_eq!(ok(Kind::Domain, "\u{d55c}\u{ad6d}.kr"), "xn--3e0b707e.kr");
}
