//! The console in a real headless Chromium (common/browser.rs): open the
//! printed address, type a number in the search box, submit, see the record.
//! Proves the pages work in a browser under their own CSP (the script loads,
//! the cookie is kept). A screenshot of each page is written to
//! LIAISON_CONSOLE_SCREENSHOTS (a folder) when that is set, e.g. docs/console/.

use crate::common::browser::Browser;
use crate::common::TestNode;
use crate::console_http::Console;

#[test]
fn a_browser_searches_through_the_console() {
    let mut node = TestNode::init("Agency Console");
    node.start();
    let id = node.publish(
        "phone",
        "+44 7700 900777",
        "amber",
        &["--label", "romance-scam", "--evaluation", "B2"],
    );
    let analyst = node.issue("Browser Analyst", "analyst");
    let console = Console::as_client(&node, &analyst);
    let browser = Browser::start(&node.tmp.path().join("chromium-profile"));

    browser.go(&console.url);
    assert!(
        browser.url().ends_with("/search"),
        "the token address leads to the search page, without the token: {}",
        browser.url()
    );
    let box_ = browser.find("#q");
    browser.type_into(&box_, "07700 900777");
    let submit = browser.find("form.search button[type=submit]");
    browser.click(&submit);

    let results = browser.find("#results");
    let text = browser.text(&results);
    assert!(text.contains("+447700900777"), "{text}");
    assert!(
        text.contains("TLP:AMBER") && text.contains("romance-scam"),
        "{text}"
    );
    assert!(text.contains("signature verified"), "{text}");
    let link = browser.find(&format!("a[href='/record/{id}']"));
    assert!(!link.is_empty());
    assert!(
        browser.url().contains("/search?q=07700+900777"),
        "a search is a URL: {}",
        browser.url()
    );
    // console.js ran under the CSP: it rewrote the times to local time.
    let title = browser.script("return document.querySelector('time').title");
    assert!(title.as_str().unwrap_or("").ends_with("(UTC)"), "{title}");
    browser.screenshot("search.png");

    browser.click(&link);
    let details = browser.find("dl.details");
    assert!(browser.text(&details).contains(&id));
    browser.screenshot("record.png");

    // Publish: the node's refusal lands beside the field it names.
    browser.click(&browser.find("a[href='/publish']"));
    browser.type_into(&browser.find("#value"), "07700 900778");
    browser.type_into(&browser.find("#evaluation"), "Z9");
    browser.click(&browser.find("form.publish button[type=submit]"));
    let error = browser.find(".field.invalid .field-error");
    assert!(
        browser.text(&error).contains("evaluation"),
        "{}",
        browser.text(&error)
    );
    browser.screenshot("publish.png");
}
