//! The Records, Partners and Audit pages in a real headless Chromium
//! (common/browser.rs), as the node's admin sees them: each page renders under
//! its CSP with the data the node holds, and a screenshot of each is written
//! to LIAISON_CONSOLE_SCREENSHOTS (docs/console/ for the README and docs).

use crate::common::browser::Browser;
use crate::common::two_agencies;
use crate::console_http::Console;

#[test]
fn a_browser_lists_records_partners_and_the_audit_trail() {
    let (a, b) = two_agencies("amber");
    a.publish(
        "phone",
        "+44 7700 900123",
        "amber",
        &["--label", "romance-scam", "--case", "CASE-2026-0042"],
    );
    a.publish(
        "domain",
        "jobs-abroad.example.org",
        "green",
        &["--label", "human-trafficking"],
    );
    b.publish(
        "wallet",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "green",
        &[],
    );
    let console = Console::for_node(&a);
    let browser = Browser::start(&a.tmp.path().join("chromium-profile"));
    browser.go(&console.url);
    let base = format!("http://{}", console.address);

    browser.go(&format!("{base}/records"));
    let text = browser.text(&browser.find("main"));
    assert!(
        text.contains("+447700900123") && text.contains("jobs-abroad.example.org"),
        "the Records page lists the agency's records: {text}"
    );
    browser.screenshot("records.png");

    browser.go(&format!("{base}/partners"));
    let text = browser.text(&browser.find("main"));
    assert!(
        text.contains("Agency B (example)"),
        "the Partners page names the enrolled partner: {text}"
    );
    browser.screenshot("partners.png");

    browser.go(&format!("{base}/audit"));
    let text = browser.text(&browser.find("main"));
    assert!(
        text.contains("publish") || text.contains("record"),
        "the Audit page lists the node's own entries: {text}"
    );
    browser.screenshot("audit.png");
}
