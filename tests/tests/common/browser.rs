//! A real headless Chromium driven over WebDriver (chromedriver) by a tiny
//! client, for the console's browser tests (console_browser.rs and the pages'
//! own browser tests). Needs Debian's `chromium` and `chromium-driver`
//! (.ci/run installs them); without them a test FAILS saying so, never skips.
//! `screenshot` writes to LIAISON_CONSOLE_SCREENSHOTS (a folder, e.g.
//! docs/console/) when that is set.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::console_http::request;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it.
pub struct Browser {
    driver: Child,
    address: String,
    session: String,
}

impl Browser {
    pub fn start(profile: &Path) -> Browser {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install Debian's chromium and chromium-driver \
                 (`apt-get install -y chromium chromium-driver`; .ci/run does it)"
            );
        }
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let stdout = driver.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .strip_prefix("ChromeDriver was started successfully on port ")
                    .map(|p| p.trim_end_matches('.').to_string())
                {
                    let _ = sender.send(port);
                }
            }
        });
        let port = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("chromedriver says which port it listens on");
        let mut args = vec![
            "--headless=new".to_string(),
            "--window-size=1280,800".to_string(),
            "--disable-gpu".to_string(),
            // Containers give /dev/shm 64 MB; Chromium then crashes on big pages.
            "--disable-dev-shm-usage".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        // Chromium refuses to start its sandbox as root (CI containers run as
        // root); only then, and only for this throwaway profile on loopback.
        if running_as_root() {
            args.push("--no-sandbox".to_string());
        }
        let mut browser = Browser {
            driver,
            address: format!("127.0.0.1:{port}"),
            session: String::new(),
        };
        let created = browser.call(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            }}}),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        browser
    }

    /// One WebDriver command; its `value`. A WebDriver error fails the test.
    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = match body {
            Value::Null => String::new(),
            body => body.to_string(),
        };
        let response = request(
            &self.address,
            method,
            path,
            &[("Content-Type", "application/json")],
            &body,
        );
        let answer: Value = serde_json::from_str(&response.body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}: {}", response.body));
        assert_eq!(response.status, 200, "WebDriver {method} {path}: {answer}");
        answer["value"].clone()
    }

    pub fn session_call(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn go(&self, url: &str) {
        self.session_call("POST", "/url", json!({ "url": url }));
    }

    pub fn url(&self) -> String {
        self.session_call("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response = request(
                &self.address,
                "POST",
                &format!("/session/{}/element", self.session),
                &[("Content-Type", "application/json")],
                &json!({"using": "css selector", "value": css}).to_string(),
            );
            if response.status == 200 {
                let answer: Value = serde_json::from_str(&response.body).expect("json");
                return answer["value"][ELEMENT]
                    .as_str()
                    .expect("element id")
                    .to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} on {}: {}",
                self.url(),
                self.script("return document.body.innerText")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn type_into(&self, element: &str, text: &str) {
        self.session_call(
            "POST",
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    pub fn click(&self, element: &str) {
        self.session_call("POST", &format!("/element/{element}/click"), json!({}));
    }

    pub fn text(&self, element: &str) -> String {
        self.session_call("GET", &format!("/element/{element}/text"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn script(&self, source: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            json!({"script": source, "args": []}),
        )
    }

    pub fn screenshot(&self, name: &str) {
        let Some(folder) = std::env::var_os("LIAISON_CONSOLE_SCREENSHOTS") else {
            return;
        };
        let png = self.session_call("GET", "/screenshot", Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("a PNG");
        std::fs::create_dir_all(&folder).expect("screenshot folder");
        std::fs::write(Path::new(&folder).join(name), bytes).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(
                &self.address,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                "",
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
