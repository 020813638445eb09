//! The console's Import page over real HTTP against a real node, as an analyst
//! certificate: a CSV with good and bad rows imported through an upload (the
//! summary and the rejects table agree with the CLI's own import of the same
//! file, the rejects download as CSV, a hostile rejected value is shown as
//! text), a dry run that stores nothing, a file that cannot be read showing
//! its error, a POST without the CSRF token refused, an over-limit upload
//! refused with 413, and the upload through the form in a headless browser.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::{eventually, int, TestNode};
use crate::console_http::{http, request, Console, Response};

const HOSTILE: &str = "<script>alert(25)</script>";
const HEADER: &str =
    "kind,value,labels,tlp,evaluation,handling,valid_until,description,case,default_country\n";
const BOUNDARY: &str = "----liaison-test-boundary-7MA4YWxkTrZu0gW";

/// The CSRF token in a page's form.
fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_string()
}

/// A `multipart/form-data` body as a browser sends the Import form.
fn multipart(fields: &[(&str, &str)], file_name: &str, content: &str) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: text/csv\r\n\r\n{content}\r\n--{BOUNDARY}--\r\n"
    ));
    body
}

struct Session<'a> {
    console: &'a Console,
    cookie: String,
}

impl Session<'_> {
    fn get(&self, path: &str) -> Response {
        http(&self.console.address, "GET", path, Some(&self.cookie), None)
    }

    fn upload(&self, fields: &[(&str, &str)], file_name: &str, content: &str) -> Response {
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        request(
            &self.console.address,
            "POST",
            "/import",
            &[("Cookie", &self.cookie), ("Content-Type", &content_type)],
            &multipart(fields, file_name, content),
        )
    }

    /// Uploads with the session's CSRF token, waits for the job to end (its
    /// progress endpoint says so) and returns the finished job page.
    fn import(&self, fields: &[(&str, &str)], file_name: &str, content: &str) -> String {
        let csrf = csrf_in(&self.get("/import").body);
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let started = self.upload(&all, file_name, content);
        assert_eq!(started.status, 303, "upload: {}", started.body);
        assert_eq!(started.header("location"), Some("/import/job"));
        let mut last = String::new();
        let ended = eventually(Duration::from_secs(60), || {
            let progress = self.get("/import/job.json");
            assert_eq!(progress.status, 200, "{}", progress.body);
            last = progress.body;
            !last.contains("\"state\":\"running\"")
        });
        assert!(ended, "the import never ended: {last}");
        assert!(last.contains("\"state\":\"done\""), "{last}");
        let page = self.get("/import/job");
        assert_eq!(page.status, 200, "{}", page.body);
        page.body
    }
}

fn analyst_console(name: &str) -> (TestNode, Console) {
    let mut node = TestNode::init(name);
    node.start();
    let analyst = node.issue("Import Analyst", "analyst");
    let console = Console::as_client(&node, &analyst);
    (node, console)
}

/// Three good rows, a phone the node refuses (with hostile text in it) and a
/// row of an unknown kind the reader refuses.
fn mixed_csv() -> String {
    format!(
        "{HEADER}phone,+44 7700 900101,fraud,green,,,,,,\n\
         phone,+44 7700 900102,fraud,green,,,,,,\n\
         email,mule@example.org,,green,,,,,,\n\
         phone,+44 7700 {HOSTILE},fraud,green,,,,,,\n\
         phonebook,+44 7700 900103,fraud,green,,,,,,\n"
    )
}

#[test]
fn console_imports_a_csv_with_its_summary_and_rejects() {
    let (node, console) = analyst_console("Agency Import");
    let session = Session {
        cookie: console.login(),
        console: &console,
    };
    let page = session.import(&[("case", "OP-IMPORT-1")], "mixed.csv", &mixed_csv());

    // The CLI's words and numbers.
    assert!(
        page.contains("imported 3, already present 0, rejected 2, skipped 0 — 5 rows"),
        "{page}"
    );
    assert!(page.contains("data-state=\"done\""), "{page}");
    // The rejects table: one row per refused row, located in the file.
    let table = &page[page.find("id=\"rejects\"").expect("a rejects table")..];
    let rows = table.matches("<tr>").count() - 1;
    assert_eq!(rows, 2, "{table}");
    assert!(
        table.contains("row 5") && table.contains("row 6"),
        "{table}"
    );
    // The hostile value is shown as text, never as markup.
    assert!(!page.contains(HOSTILE), "raw markup in the page: {page}");
    assert!(page.contains("&lt;script&gt;alert(25)"), "{page}");

    // Stored at the node, as the analyst's own publish with the form's case.
    assert_eq!(node.search_ids("+44 7700 900101").len(), 1);
    assert_eq!(node.search_ids("mule@example.org").len(), 1);

    // The CLI imports the same file to the same numbers (now all present).
    let file = node.dir().join("mixed.csv");
    std::fs::write(&file, mixed_csv()).expect("write the CSV");
    let cli = node.cli_json(&[
        "import",
        file.to_str().expect("path"),
        "--case",
        "OP-IMPORT-1",
    ]);
    assert_eq!(int(&cli["alreadyPresent"]), 3, "{cli}");
    assert_eq!(int(&cli["rejected"]), 2, "{cli}");

    // The rejects download: a CSV with the same rows.
    let csv = session.get("/import/rejects.csv");
    assert_eq!(csv.status, 200);
    assert!(csv
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/csv"));
    assert!(csv
        .header("content-disposition")
        .unwrap_or("")
        .contains("attachment"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "location,field,value,reason", "{}", csv.body);
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(
        lines.iter().any(|l| l.starts_with("row 6,kind,")),
        "{}",
        csv.body
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("row 5,") && l.contains(HOSTILE)),
        "{}",
        csv.body
    );
}

#[test]
fn console_dry_run_stores_nothing() {
    let (node, console) = analyst_console("Agency Dry Run");
    let session = Session {
        cookie: console.login(),
        console: &console,
    };
    let csv = format!(
        "{HEADER}phone,+44 7700 900201,fraud,green,,,,,,\nphone,07700 900202,fraud,green,,,,,,\n"
    );
    let page = session.import(&[("dry_run", "1"), ("country", "GB")], "dry.csv", &csv);
    assert!(
        page.contains("would import 2, already present 0, rejected 0, skipped 0"),
        "{page}"
    );
    assert!(
        page.contains("nothing was sent to the node or stored"),
        "{page}"
    );
    assert!(
        node.search_ids("+44 7700 900201").is_empty(),
        "a dry run stored a row"
    );
    let listed = node.cli_json(&["list"]);
    assert!(
        listed["records"].as_array().is_none_or(|r| r.is_empty()),
        "a dry run stored records: {listed}"
    );
}

#[test]
fn console_shows_why_a_file_cannot_be_read() {
    let (node, console) = analyst_console("Agency Bad File");
    let session = Session {
        cookie: console.login(),
        console: &console,
    };
    let csv = "kind,value,flavour\nphone,+44 7700 900301,mint\n";
    let page = session.import(&[("format", "csv")], "odd.csv", csv);
    let error = &page[page.find("class=\"error\"").expect("an error box")..];
    assert!(error.contains("the file cannot be read"), "{page}");
    assert!(error.contains("flavour"), "{page}");
    assert!(node.search_ids("+44 7700 900301").is_empty());

    // A file no format recognises is refused before any job starts.
    let csrf = csrf_in(&session.get("/import").body);
    let unknown = session.upload(&[("csrf", &csrf)], "notes.txt", "just some notes\n");
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(
        unknown.body.contains("cannot tell whether"),
        "{}",
        unknown.body
    );
}

#[test]
fn console_import_needs_csrf_and_refuses_an_oversized_upload() {
    let (node, console) = analyst_console("Agency Guard");
    let session = Session {
        cookie: console.login(),
        console: &console,
    };
    let csv = format!("{HEADER}phone,+44 7700 900401,fraud,green,,,,,,\n");
    let forged = session.upload(&[("tlp", "green")], "forged.csv", &csv);
    assert_eq!(forged.status, 403, "{}", forged.body);
    let wrong = session.upload(&[("csrf", &"0".repeat(64))], "forged.csv", &csv);
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(
        node.search_ids("+44 7700 900401").is_empty(),
        "a forged upload imported"
    );
    assert_eq!(
        session.get("/import/job.json").status,
        404,
        "no job was started"
    );

    // An upload announced over the limit is refused before it is read.
    let mut stream = TcpStream::connect(&console.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST /import HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        console.address,
        session.cookie,
        65 * 1024 * 1024 + 64 * 1024 + 1
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("liaison import"), "{answer}");
}

#[test]
fn a_browser_uploads_a_file_and_sees_its_rejects() {
    let (node, console) = analyst_console("Agency Browser Import");
    let file = node.dir().join("browser-import.csv");
    std::fs::write(&file, mixed_csv()).expect("write the CSV");
    let browser = Browser::start(&node.tmp.path().join("chromium-profile"));
    browser.go(&console.url);
    browser.click(&browser.find("a[href='/import']"));
    browser.type_into(&browser.find("#file"), file.to_str().expect("path"));
    browser.click(&browser.find("form.import button[type=submit]"));
    // The bar reaches the end and the finished page replaces it.
    browser.find("#import-progress[data-state='done']");
    let summary = browser.text(&browser.find("#summary-line"));
    assert!(
        summary.contains("imported 3") && summary.contains("rejected 2"),
        "{summary}"
    );
    let rejects = browser.text(&browser.find("#rejects"));
    assert!(rejects.contains(HOSTILE), "shown as text: {rejects}");
    browser.find("a[href='/import/rejects.csv']");
    // The endpoint console.js polls answers the page under its CSP, with the cookie.
    let state = browser.session_call(
        "POST",
        "/execute/async",
        serde_json::json!({
            "script": "var done = arguments[0]; fetch('/import/job.json', {credentials: 'same-origin'})\
                       .then(function (r) { return r.json(); }).then(function (p) { done(p.state); })\
                       .catch(function (e) { done('error: ' + e); });",
            "args": [],
        }),
    );
    assert_eq!(state, "done", "{state}");
    browser.screenshot("import.png");
}
