//! `liaison console` over real HTTP against a real node: the token and its
//! cookie, the security headers, CSRF, search and publish as an analyst
//! certificate, and partner-controlled text shown as text. The headless
//! browser test (console_browser.rs) uses the helpers here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{TestNode, BIN};

/// A running `liaison console` process.
pub struct Console {
    child: Child,
    /// HOST:PORT it listens on.
    pub address: String,
    /// The one-time address it printed (with the token).
    pub url: String,
}

impl Console {
    /// Starts `liaison console --listen 127.0.0.1:0 ARGS…` and reads the
    /// address it prints (the event that says it is serving).
    pub fn start(args: &[&str]) -> Console {
        let mut child = Command::new(BIN)
            .args(["console", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn liaison console");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("http://") {
                    let _ = sender.send(line);
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("the console printed its address");
        let address = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host:port")
            .to_string();
        Console {
            child,
            address,
            url,
        }
    }

    /// For the console of `node`'s own admin certificate.
    pub fn for_node(node: &TestNode) -> Console {
        Console::start(&["--dir", node.dir().to_str().expect("path")])
    }

    /// Exchanges the token for the session cookie ("name=value").
    pub fn login(&self) -> String {
        let path = self
            .url
            .trim_start_matches(&format!("http://{}", self.address));
        let response = http(&self.address, "GET", path, None, None);
        assert_eq!(response.status, 303, "token exchange: {}", response.body);
        let cookie = response.header("set-cookie").expect("a session cookie");
        cookie.split(';').next().expect("name=value").to_string()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), with a
/// form body if given.
pub fn http(
    address: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Response {
    let mut headers = Vec::new();
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    if form.is_some() {
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    request(address, method, path, &headers, form.unwrap_or(""))
}

/// One HTTP/1.1 request with any headers and body (also the WebDriver client's).
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).expect("send");
    // Read the head, then exactly the body it announces: a server may keep the
    // connection open despite `Connection: close` (chromedriver does).
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = value("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body).expect("the body");
    } else if value("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).expect("chunk size");
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .expect("a chunk size");
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).expect("a chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut body).expect("the body");
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A value for a query string or form.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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
    let console = Console::start(&[
        "--client",
        analyst.to_str().expect("path"),
        "--node",
        &node.address(),
    ]);
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
