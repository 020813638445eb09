//! `liaison console` over real HTTP against real nodes: the token and its
//! cookie, the security headers, CSRF, search and publish as an analyst
//! certificate, a federated search's partner statuses, and partner-controlled
//! text shown as text. The headless browser test is console_browser.rs.

use std::process::Command;

use crate::common::{TestNode, BIN};
use crate::console_http::{encode, http, Console, Response};

/// The CSRF token in a page's form.
fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_string()
}

fn assert_strict_headers(response: &Response) {
    let csp = response.header("content-security-policy").unwrap_or("");
    assert!(
        csp.starts_with("default-src 'self'") && !csp.contains("unsafe-inline"),
        "CSP: {csp:?}"
    );
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
}

#[test]
fn console_needs_its_token_cookie_and_sends_strict_headers() {
    let mut node = TestNode::init("Agency Console");
    node.start();
    let console = Console::for_node(&node);

    let anonymous = http(&console.address, "GET", "/search?q=x", None, None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_strict_headers(&anonymous);
    let guessed = http(&console.address, "GET", "/?token=00", None, None);
    assert_eq!(guessed.status, 401);
    assert!(http(&console.address, "GET", "/static/console.js", None, None).status == 401);

    let path = console
        .url
        .trim_start_matches(&format!("http://{}", console.address));
    let exchanged = http(&console.address, "GET", path, None, None);
    assert_eq!(exchanged.status, 303);
    let cookie = exchanged.header("set-cookie").expect("cookie").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let again = http(&console.address, "GET", path, None, None);
    assert_eq!(again.status, 401, "the token works once");

    let session = cookie.split(';').next().expect("name=value");
    let page = http(&console.address, "GET", "/search", Some(session), None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_strict_headers(&page);
    // Script only from the console's own file: nothing inline.
    assert_eq!(page.body.matches("<script").count(), 1, "{}", page.body);
    assert!(page.body.contains("<script src=\"/static/console.js\""));
    let script = http(
        &console.address,
        "GET",
        "/static/console.js",
        Some(session),
        None,
    );
    assert_eq!(script.status, 200);
}

#[test]
fn console_publishes_as_the_analyst_with_csrf_and_search_finds_it() {
    let mut node = TestNode::init("Agency Console");
    node.start();
    let analyst = node.issue("Console Analyst", "analyst");
    let console = Console::as_client(&node, &analyst);
    let session = console.login();
    let form = http(
        &console.address,
        "GET",
        "/publish?kind=phone",
        Some(&session),
        None,
    );
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = csrf_in(&form.body);

    let fields = "kind=phone&value=%2B44+7700+900321&tlp=green&labels=fraud&evaluation=B2";
    let forged = http(
        &console.address,
        "POST",
        "/publish",
        Some(&session),
        Some(fields),
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    let wrong = format!("csrf={}&{fields}", "0".repeat(64));
    let forged = http(
        &console.address,
        "POST",
        "/publish",
        Some(&session),
        Some(&wrong),
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        node.search_ids("+44 7700 900321").is_empty(),
        "nothing published without the token"
    );

    let refused = format!("csrf={csrf}&kind=phone&value=%2B44+7700+900321&tlp=green&evaluation=Z9");
    let refused = http(
        &console.address,
        "POST",
        "/publish",
        Some(&session),
        Some(&refused),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("class=\"field-error\" role=\"alert\">invalid input: evaluation:"),
        "the node's field error beside the field: {}",
        refused.body
    );

    let published = http(
        &console.address,
        "POST",
        "/publish",
        Some(&session),
        Some(&format!("csrf={csrf}&{fields}")),
    );
    assert_eq!(published.status, 303, "{}", published.body);
    let location = published
        .header("location")
        .expect("to the record")
        .to_string();
    let id = location
        .trim_start_matches("/record/")
        .split('?')
        .next()
        .expect("id")
        .to_string();
    assert_eq!(node.search_ids("+44 7700 900321"), vec![id.clone()]);

    // National spelling, as an analyst would type it.
    let found = http(
        &console.address,
        "GET",
        &format!("/search?q={}", encode("07700 900321")),
        Some(&session),
        None,
    );
    assert_eq!(found.status, 200);
    assert!(
        found.body.contains(&format!("href=\"/record/{id}\"")),
        "{}",
        found.body
    );
    assert!(found.body.contains("tlp-green") && found.body.contains("✓ signature verified"));
    let page = http(&console.address, "GET", &location, Some(&session), None);
    assert!(page.body.contains("Published and signed."), "{}", page.body);
}

#[test]
fn console_shows_hostile_text_as_text() {
    let mut node = TestNode::init("Agency Console");
    node.start();
    let id = node.publish(
        "phone",
        "+44 7700 900654",
        "green",
        &[
            "--description",
            "<script>alert(1)</script><img src=x onerror=alert(2)>",
        ],
    );
    let console = Console::for_node(&node);
    let session = console.login();
    let page = http(
        &console.address,
        "GET",
        &format!("/record/{id}"),
        Some(&session),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("<script>alert") && !page.body.contains("<img"),
        "{}",
        page.body
    );

    // The analyst's own query comes back too (in the box, in the title, in
    // the node's refusal): with bidi overrides spelled out, never obeyed.
    let hostile = "<script>alert(3)</script>\u{202E}moc.elpmaxe";
    let page = http(
        &console.address,
        "GET",
        &format!("/search?q={}", encode(hostile)),
        Some(&session),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains('\u{202E}'),
        "a raw U+202E in {}",
        page.body
    );
    assert!(page.body.contains("⟨U+202E⟩"), "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
}

#[test]
fn console_refuses_a_network_address_without_a_reason() {
    let node = TestNode::init("Agency Console");
    let out = Command::new(BIN)
        .args(["--dir", node.dir().to_str().expect("path")])
        .args(["console", "--listen", "0.0.0.0:0"])
        .output()
        .expect("run liaison console");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("loopback only") && stderr.contains("--allow-remote REASON"),
        "{stderr}"
    );
}

#[test]
fn console_federated_search_shows_each_partner_and_needs_a_justification() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let mut c = TestNode::init("Agency C (example)");
    a.start();
    b.start();
    c.start();
    for partner in [&b, &c] {
        a.enroll(partner, "green", false);
        partner.enroll(&a, "green", false);
    }
    // A's local copy (synced) and B's answer may both show it; C has nothing.
    b.publish("phone", "+44 7700 900888", "green", &["--label", "fraud"]);
    let analyst = a.issue("Console Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();

    let unjustified = http(
        &console.address,
        "GET",
        "/search?q=07700+900888&federated=1",
        Some(&session),
        None,
    );
    assert!(
        unjustified
            .body
            .contains("invalid input: justification: required for a federated search"),
        "{}",
        unjustified.body
    );

    let path = format!(
        "/search?q={}&federated=1&justification={}&case=CASE-25",
        encode("07700 900888"),
        encode("victim statement 17")
    );
    let found = http(&console.address, "GET", &path, Some(&session), None);
    assert_eq!(found.status, 200, "{}", found.body);
    let partners = &found.body[found.body.find("<h2>Partners</h2>").expect("partners")..];
    let b_at = partners.find("Agency B (example)").expect("B's section");
    let c_at = partners.find("Agency C (example)").expect("C's section");
    let section = |at: usize| {
        let rest = &partners[at..];
        let end = rest[1..]
            .find("<section")
            .map(|e| e + 1)
            .unwrap_or(rest.len());
        rest[..end].to_string()
    };
    let (b_section, c_section) = (section(b_at), section(c_at));
    assert!(b_section.contains("status-answered"), "{b_section}");
    // B's answer is the record A already holds (synced): named, not repeated.
    assert!(b_section.contains("1 record(s)"), "{b_section}");
    assert!(c_section.contains("status-no-match"), "{c_section}");

    // The node audited the analyst's own search, with the justification.
    let log = a.cli_ok(&["audit", "list", "--action", "search.federated"]);
    assert!(
        log.contains("analyst \"console analyst\"") && log.contains("victim statement 17"),
        "{log}"
    );
}
