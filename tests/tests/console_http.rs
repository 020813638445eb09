//! The console tests' harness: a running `liaison console` process and a
//! plain HTTP/1.1 client (also the WebDriver client's transport). No test here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
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

    /// A console for the client certificate in `client_dir` (from `issue`),
    /// talking to `node`; its federated deadline is generous because a loaded
    /// CI machine may take more than the default 2 s to answer.
    pub fn as_client(node: &TestNode, client_dir: &Path) -> Console {
        Console::start(&[
            "--client",
            client_dir.to_str().expect("path"),
            "--node",
            &node.address(),
            "--deadline-ms",
            "20000",
        ])
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
