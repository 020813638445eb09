//! The console's streamed federated search and its record actions over real
//! HTTP against real nodes: this node's section arrives while a partner is
//! still held back (a stalled fault proxy, released only once the test has
//! read it); sight, two-step revoke (own record, and a partner's refused in the
//! node's words), the record as a STIX bundle; the warninglist warning before
//! anything is signed; and every new POST refused without its CSRF token.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::proxy::{FaultProxy, Mode};
use crate::common::reliability::advertise;
use crate::common::{eventually, holds, two_agencies, TestNode, WAIT};
use crate::console_http::{encode, http, Console};
use liaison::config::NodeDirSetup;

/// A response body read chunk by chunk (HTTP/1.1 chunked), as a browser
/// renders a streamed page.
pub(crate) struct Chunked {
    reader: BufReader<TcpStream>,
    pub(crate) status: u16,
}

impl Chunked {
    pub(crate) fn get(address: &str, path: &str, cookie: &str) -> Chunked {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nCookie: {cookie}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).expect("send");
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status in {status_line:?}"));
        let mut chunked = false;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            if line.trim_end().is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        }
        assert!(chunked, "a federated search page is streamed (chunked)");
        Chunked { reader, status }
    }

    /// The next chunk, or None at the end of the body.
    pub(crate) fn next(&mut self) -> Option<String> {
        let mut size = String::new();
        self.reader.read_line(&mut size).expect("chunk size");
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .expect("a chunk size");
        let mut chunk = vec![0; size + 2];
        self.reader.read_exact(&mut chunk).expect("a chunk");
        (size > 0).then(|| String::from_utf8_lossy(&chunk[..size]).into_owned())
    }
}

#[test]
fn a_federated_search_streams_this_nodes_section_before_a_held_partner() {
    // B is reached only through a proxy the test controls: stalled, B cannot
    // answer until the test has read A's own section.
    let proxy = FaultProxy::start();
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency Held (example)");
    advertise(&b, &proxy.address());
    // B waits for a held handshake as long as the test holds it.
    let dir = b.node_dir();
    let mut config = dir.load_config().expect("config");
    config.node.limits.client_hello_timeout_ms = 60_000;
    config.node.limits.handshake_timeout_seconds = 60;
    std::fs::write(dir.config(), config.to_toml()).expect("write config");
    a.start();
    b.start();
    proxy.set_target(&b.address());
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);
    let id = a.publish("phone", "+44 7700 900311", "green", &[]);
    let bs = b.publish("phone", "+44 7700 900311", "green", &["--label", "fraud"]);
    assert!(
        eventually(WAIT, || holds(&a, "+44 7700 900311", &bs)),
        "A never received B's record"
    );
    let analyst = a.issue("Stream Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();

    // The node's first search loads its tables; this one is not the test.
    let warm = http(
        &console.address,
        "GET",
        "/search?q=07700+900311",
        Some(&session),
        None,
    );
    assert_eq!(warm.status, 200, "{}", warm.body);
    proxy.set_mode(Mode::Stall);
    let path = format!(
        "/search?q={}&federated=1&justification={}",
        encode("07700 900311"),
        encode("victim statement 41")
    );
    let mut page = Chunked::get(&console.address, &path, &session);
    assert_eq!(page.status, 200);
    let mut body = String::new();
    while !body.contains("class=\"meta waiting\"") {
        let chunk = page
            .next()
            .unwrap_or_else(|| panic!("the page ended before this node's section: {body}"));
        body.push_str(&chunk);
    }
    // This node's section is in the browser while B is still held back.
    let local = &body[body.find("id=\"local\"").expect("this node's section")..];
    assert!(local.contains(&format!("/record/{id}")), "{body}");
    assert!(
        !body.contains("class=\"partner\""),
        "a partner's section before B could answer: {body}"
    );

    proxy.set_mode(Mode::Pass);
    while let Some(chunk) = page.next() {
        body.push_str(&chunk);
    }
    // B answered once released: its section came after this node's.
    let held = &body[body.find("class=\"partner\"").expect("B's section")..];
    assert!(
        held.contains("Agency Held (example)") && held.contains("status-answered"),
        "{held}"
    );
    assert!(body.trim_end().ends_with("</html>"), "{body}");
    // One federated search in the node's audit, as for the CLI.
    let log = a.cli_json(&["audit", "list", "--action", "search.federated"]);
    let entries = log.as_array().map(|all| {
        all.iter()
            .filter(|e| e["action"] == "search.federated")
            .count()
    });
    assert_eq!(entries, Some(1), "{log}");
}

/// The CSRF token in a console page's forms.
fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    body[at..at + 64].to_string()
}

/// The hidden fields of the form with `class`, as a form body.
fn hidden_form(body: &str, class: &str) -> String {
    let start = body
        .find(&format!("<form class=\"{class}\""))
        .expect("the form");
    let form = &body[start..start + body[start..].find("</form>").expect("form end")];
    form.match_indices("<input type=\"hidden\" name=\"")
        .map(|(at, _)| {
            let rest = &form[at + 27..];
            let name = &rest[..rest.find('"').expect("name end")];
            let value_at = rest.find("value=\"").expect("value") + 7;
            let value = &rest[value_at..value_at + rest[value_at..].find('"').expect("end")];
            format!("{}={}", encode(name), encode(&value.replace("&amp;", "&")))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn record_page(console: &Console, session: &str, id: &str) -> String {
    let page = http(
        &console.address,
        "GET",
        &format!("/record/{id}"),
        Some(session),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

#[test]
fn console_record_actions_and_the_warninglist_warning() {
    let (a, b) = two_agencies("green");
    let own = a.publish("phone", "+44 7700 900321", "green", &[]);
    let theirs = b.publish("phone", "+44 7700 900322", "green", &["--label", "fraud"]);
    assert!(
        eventually(WAIT, || holds(&a, "+44 7700 900322", &theirs)),
        "A never received B's record"
    );
    let analyst = a.issue("Actions Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();
    let post =
        |path: &str, form: &str| http(&console.address, "POST", path, Some(&session), Some(form));
    let csrf = csrf_of(&record_page(&console, &session, &own));

    // Without the session's CSRF token every action is refused and nothing done.
    for (path, form) in [
        (format!("/record/{own}/sight"), "type=seen".to_string()),
        (
            format!("/record/{own}/revoke"),
            "confirm=1&reason=x".to_string(),
        ),
        (
            format!("/record/{own}/revoke"),
            format!("csrf={}&confirm=1&reason=x", "0".repeat(64)),
        ),
        (
            "/publish".to_string(),
            "kind=phone&value=07700+900323".to_string(),
        ),
    ] {
        let refused = post(&path, &form);
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
    }
    let untouched = record_page(&console, &session, &own);
    assert!(untouched.contains("sightings 0"), "{untouched}");
    assert!(!untouched.contains("class=\"revoked\""), "{untouched}");
    assert!(a.search_ids("+44 7700 900323").is_empty());

    // Sight a partner's record: a 303 back, and the sighting on its page.
    let sighted = post(
        &format!("/record/{theirs}/sight"),
        &format!("csrf={csrf}&type=seen&note={}", encode("seen in case 41")),
    );
    assert_eq!(sighted.status, 303, "{}", sighted.body);
    assert_eq!(
        sighted.header("location"),
        Some(format!("/record/{theirs}?done=seen").as_str())
    );
    let page = record_page(&console, &session, &format!("{theirs}?done=seen"));
    assert!(page.contains("sightings 1"), "{page}");
    assert!(page.contains("Sighting recorded"), "{page}");

    // Revoke: the first submit only asks; the confirmed one revokes.
    let asked = post(&format!("/record/{own}/revoke"), &format!("csrf={csrf}"));
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Revoke everywhere"), "{}", asked.body);
    assert!(!record_page(&console, &session, &own).contains("class=\"revoked\""));
    let revoked = post(
        &format!("/record/{own}/revoke"),
        &format!(
            "csrf={csrf}&confirm=1&reason={}",
            encode("published in error")
        ),
    );
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert!(record_page(&console, &session, &own).contains("class=\"revoked\""));
    // A partner's record: the node refuses, and the page says so in its words.
    let refused = post(
        &format!("/record/{theirs}/revoke"),
        &format!("csrf={csrf}&confirm=1&reason=mine+now"),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("permission denied: only the origin agency can revoke its record"),
        "{}",
        refused.body
    );
    assert!(!record_page(&console, &session, &theirs).contains("class=\"revoked\""));

    // The record as a STIX 2.1 bundle, through the export's writer.
    let stix = http(
        &console.address,
        "GET",
        &format!("/record/{theirs}/stix"),
        Some(&session),
        None,
    );
    assert_eq!(stix.status, 200, "{}", stix.body);
    assert!(stix
        .header("content-disposition")
        .is_some_and(|d| d.contains("attachment")));
    let bundle: serde_json::Value = serde_json::from_str(&stix.body).expect("a STIX bundle");
    assert_eq!(bundle["type"], "bundle");
    let indicator = bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["type"] == "indicator")
        .unwrap_or_else(|| panic!("no indicator in {}", stix.body));
    assert!(
        indicator["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("+447700900322")),
        "{indicator}"
    );

    // Publish a warninglisted value: the warning, nothing stored, until the
    // analyst submits "publish anyway".
    a.cli_ok(&[
        "warninglist",
        "add",
        "--kind",
        "phone",
        "--value",
        "07700 900399",
        "--country",
        "GB",
        "--note",
        "public victim helpline (fictional)",
    ]);
    let warned = post(
        "/publish",
        &format!(
            "csrf={csrf}&kind=phone&value={}&country=GB&tlp=green&labels=fraud",
            encode("07700 900399")
        ),
    );
    assert_eq!(warned.status, 200, "{}", warned.body);
    assert!(warned.body.contains("is on warninglist"), "{}", warned.body);
    assert!(warned.body.contains("Publish anyway"), "{}", warned.body);
    assert!(
        a.search_ids("+44 7700 900399").is_empty(),
        "stored before confirming"
    );
    let confirmed = post("/publish", &hidden_form(&warned.body, "publish-anyway"));
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let stored = a.search_ids("+44 7700 900399");
    assert_eq!(stored.len(), 1, "published once confirmed");
    assert!(confirmed
        .header("location")
        .is_some_and(|l| l.starts_with(&format!("/record/{}", stored[0]))));
    // A value on no warninglist is published at the first submit.
    let plain = post(
        "/publish",
        &format!("csrf={csrf}&kind=phone&value=07700+900324&tlp=green"),
    );
    assert_eq!(plain.status, 303, "{}", plain.body);
}
