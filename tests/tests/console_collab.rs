//! The console's Bulletins and Private lookup pages over real HTTP against two
//! real agencies: a bulletin composed from records ticked on the Records list,
//! listed and shown with its members; at the partner's console the same
//! bulletin with the node's "1 of 2 members withheld" and its partner-written
//! title shown as text; a POST without the CSRF token refused; a private lookup
//! answering hit for a value the partner holds and no hit for one it does not,
//! with the quota the partner reports. And one browser test: compose and look
//! up in a real headless Chromium, writing bulletin.png (a partner's bulletin
//! with a member withheld) and lookup.png.

use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::{eventually, two_agencies};
use crate::console_http::{encode, http, Console, Response};

/// Partner-written text that must be shown, never obeyed.
const HOSTILE: &str = "<script>alert(25)</script> jobs abroad";
const ESCAPED: &str = "&lt;script&gt;alert(25)&lt;/script&gt; jobs abroad";
/// Long enough for a bulletin to reach a partner on a loaded CI machine.
const ARRIVAL: Duration = Duration::from_secs(60);

fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_string()
}

/// The bulletin id a successful compose redirects to.
fn bulletin_of(posted: &Response) -> String {
    assert_eq!(posted.status, 303, "{}", posted.body);
    let location = posted.header("location").expect("a redirect");
    let id = location
        .strip_prefix("/bulletin/")
        .and_then(|rest| rest.strip_suffix("?published=1"))
        .unwrap_or_else(|| panic!("a bulletin page: {location}"));
    assert_eq!(id.len(), 64, "{location}");
    id.to_string()
}

#[test]
fn console_composes_a_bulletin_and_the_partner_sees_what_was_withheld() {
    let (a, b) = two_agencies("green");
    let one = a.publish("phone", "+44 7700 900601", "green", &[]);
    let two = a.publish("phone", "+44 7700 900602", "green", &[]);
    // Above B's GREEN ceiling: a member B is never told about.
    let amber = a.publish("phone", "+44 7700 900603", "amber", &[]);

    let analyst = a.issue("Collab Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();
    let get = |path: &str| http(&console.address, "GET", path, Some(&session), None);
    let post = |body: &str| {
        http(
            &console.address,
            "POST",
            "/bulletins/new",
            Some(&session),
            Some(body),
        )
    };

    // The Records list and search results offer each record to a bulletin.
    let tick = |id: &str| format!("name=\"members\" value=\"{id}\"");
    let records = get("/records?kind=phone");
    assert!(
        records.body.contains(&tick(&one)) && records.body.contains(&tick(&amber)),
        "{}",
        records.body
    );
    let found = get(&format!("/search?q={}", encode("07700 900602")));
    assert!(found.body.contains(&tick(&two)), "{}", found.body);
    assert!(
        found.body.contains("action=\"/bulletins/new\""),
        "{}",
        found.body
    );

    // The ticked records arrive in the compose form, as the node shows them.
    let form = get(&format!("/bulletins/new?members={one}&members={two}"));
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains("+447700900601") && form.body.contains("+447700900602"),
        "{}",
        form.body
    );
    let csrf = csrf_in(&form.body);
    let fields = format!(
        "title={}&summary={}&tlp=green&labels=fraud&countries=GB&members={one}&members={two}",
        encode("Fake parcel texts (fictional)"),
        encode("Texts ask for a redelivery fee.")
    );

    // Without the session's CSRF token nothing is signed.
    let refused = post(&fields);
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = post(&format!("csrf={}&{fields}", "0".repeat(64)));
    assert_eq!(refused.status, 403, "{}", refused.body);
    let list = get("/bulletins");
    assert!(list.body.contains("No bulletins here yet"), "{}", list.body);

    // The node's refusal lands beside the field it names, the form kept.
    let too_long = format!(
        "csrf={csrf}&title={}&tlp=green&members={one}",
        "x".repeat(201)
    );
    let invalid = post(&too_long);
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    let title_at = invalid.body.find("id=\"title\"").expect("title input");
    let error_at = invalid
        .body
        .find("title: 201 characters; the limit is 200")
        .expect("the node's words");
    let summary_at = invalid.body.find("id=\"summary\"").expect("summary");
    assert!(
        title_at < error_at && error_at < summary_at,
        "{}",
        invalid.body
    );
    assert!(invalid.body.contains(&tick(&one)), "{}", invalid.body);

    // Signed and shared: listed, and its page shows both members as cards.
    let first = bulletin_of(&post(&format!("csrf={csrf}&{fields}")));
    let list = get("/bulletins");
    assert!(
        list.body.contains(&format!("href=\"/bulletin/{first}\""))
            && list.body.contains("Fake parcel texts (fictional)"),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains("href=\"/bulletins\" aria-current=\"page\""),
        "{}",
        list.body
    );
    let page = get(&format!("/bulletin/{first}"));
    assert_eq!(page.status, 200, "{}", page.body);
    for member in [&one, &two] {
        assert!(
            page.body.contains(&format!("href=\"/record/{member}\"")),
            "{}",
            page.body
        );
    }
    assert!(page.body.contains("signature verified"), "{}", page.body);
    assert!(
        page.body.contains("All 2 members are visible here"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Texts ask for a redelivery fee."),
        "{}",
        page.body
    );
    // The record page links the bulletin the node says it belongs to.
    let record = get(&format!("/record/{one}"));
    assert!(
        record.body.contains(&format!("href=\"/bulletin/{first}\"")),
        "{}",
        record.body
    );

    // An id from a hand-edited address is the node's to refuse, whatever it holds.
    let odd = encode(&format!("a{}", "é".repeat(20)));
    let refused = get(&format!("/bulletin/{odd}"));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("class=\"error\""), "{}", refused.body);
    let odd_form = get(&format!("/bulletins/new?members={odd}"));
    assert_eq!(odd_form.status, 200, "{}", odd_form.body);

    // A bidi override in a title: the node refuses it, and the form shows the
    // character spelled out, never raw.
    let bidi = post(&format!(
        "csrf={csrf}&title={}&tlp=green&members={one}",
        encode("parcel \u{202E}txt.exe")
    ));
    assert_eq!(bidi.status, 422, "{}", bidi.body);
    assert!(bidi.body.contains("U+202E"), "{}", bidi.body);
    assert!(bidi.body.contains("⟨U+202E⟩"), "{}", bidi.body);
    assert!(!bidi.body.contains('\u{202E}'), "{}", bidi.body);

    // A bulletin with a member B may not see, and a hostile title.
    let second = bulletin_of(&post(&format!(
        "csrf={csrf}&title={}&tlp=green&members={one}&members={amber}",
        encode(HOSTILE)
    )));

    // B's own analyst, at B's console: the node's count of what it withheld.
    let partner = b.issue("Partner Analyst", "analyst");
    let at_b = Console::as_client(&b, &partner);
    let b_session = at_b.login();
    let b_get = |path: &str| http(&at_b.address, "GET", path, Some(&b_session), None);
    let mut shown = String::new();
    let arrived = eventually(ARRIVAL, || {
        let page = b_get(&format!("/bulletin/{second}"));
        shown = page.body;
        page.status == 200 && shown.contains("+447700900601")
    });
    assert!(arrived, "the bulletin and its visible member at B: {shown}");
    assert!(
        shown.contains("1 of 2 members withheld (not shared with this agency)"),
        "{shown}"
    );
    assert!(!shown.contains(&amber) && !shown.contains("+447700900603"));
    assert!(
        shown.contains(ESCAPED) && !shown.contains(HOSTILE),
        "{shown}"
    );
    assert!(shown.contains("Agency A (example)"), "{shown}");
    let b_list = b_get("/bulletins");
    assert!(
        b_list.body.contains(ESCAPED) && !b_list.body.contains(HOSTILE),
        "{}",
        b_list.body
    );
    assert!(b_list.body.contains("1 withheld"), "{}", b_list.body);
}

/// The quota-left cell of the lookup row whose answer is `answer`.
fn quota_after(body: &str, answer: &str) -> u64 {
    let at = body
        .find(&format!("status-{answer}\">"))
        .unwrap_or_else(|| panic!("an answer {answer}: {body}"));
    let cell = body[at..].find("<td>").expect("the quota cell") + at + 4;
    let digits: String = body[cell..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a quota: {}", &body[cell..]))
}

#[test]
fn console_private_lookup_answers_hit_and_no_hit_per_partner() {
    let (a, b) = two_agencies("green");
    b.publish("phone", "+44 7700 900611", "green", &[]);
    let b_id = b.node_id();

    let analyst = a.issue("Lookup Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();
    let get = |path: &str| http(&console.address, "GET", path, Some(&session), None);

    // A national spelling, normalised by the node; one row, for B.
    let hit = get(&format!("/lookup?q={}", encode("07700 900611")));
    assert_eq!(hit.status, 200, "{}", hit.body);
    assert!(hit.body.contains("Agency B (example)"), "{}", hit.body);
    assert!(hit.body.contains(&b_id[..16]), "{}", hit.body);
    assert!(
        hit.body.contains("status-hit\">hit<") && !hit.body.contains("no hit<"),
        "{}",
        hit.body
    );
    assert!(
        hit.body.contains("href=\"/lookup\" aria-current=\"page\""),
        "{}",
        hit.body
    );
    assert!(quota_after(&hit.body, "hit") > 0);

    // A value B does not hold; the quota shown is the partner's own count.
    let miss = get(&format!(
        "/lookup?q={}&kind=phone",
        encode("+44 7700 900699")
    ));
    assert!(
        miss.body.contains("status-no-hit\">no hit<"),
        "{}",
        miss.body
    );
    let shown = quota_after(&miss.body, "no-hit");
    let cli = a.cli_json(&["lookup", "+447700900699", "--kind", "phone"]);
    assert_eq!(
        cli["partners"][0]["quotaLeft"].as_u64(),
        Some(shown - 1),
        "{cli}"
    );

    // The node's refusal of a value it cannot read is shown as it said it.
    let bad = get(&format!("/lookup?q={}&kind=phone", encode("not a phone")));
    assert!(bad.body.contains("class=\"error\""), "{}", bad.body);
    assert!(!bad.body.contains("status-"), "{}", bad.body);
}

#[test]
fn a_browser_composes_a_bulletin_and_looks_up_a_value() {
    let (a, b) = two_agencies("green");
    let one = a.publish(
        "phone",
        "+44 7700 900621",
        "green",
        &["--label", "fraud", "--evaluation", "B2"],
    );
    let two = a.publish(
        "domain",
        "parcel-redelivery.example.org",
        "green",
        &["--label", "fraud"],
    );
    // B's bulletin, one member above A's GREEN ceiling: A is told of one of two.
    let held = b.publish("phone", "+44 7700 900622", "green", &["--label", "fraud"]);
    let above = b.publish("iban", "GB82 WEST 1234 5698 7654 32", "amber", &[]);
    let partners = b.cli_json(&[
        "bulletin",
        "publish",
        "--title",
        "Parcel redelivery texts: the mule accounts (fictional)",
        "--summary",
        "Victims pay a redelivery fee; the money moves through mule accounts.",
        "--indicator",
        &held,
        "--indicator",
        &above,
        "--tlp",
        "green",
        "--label",
        "fraud",
        "--country",
        "GB",
    ]);
    let partners = partners["recordId"]
        .as_str()
        .expect("bulletin id")
        .to_string();
    let arrived = eventually(ARRIVAL, || {
        let out = a.cli(&["bulletin", "show", &partners]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("+447700900622")
    });
    assert!(arrived, "B's bulletin and its visible member reach A");
    let analyst = a.issue("Browser Collab Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let browser = Browser::start(&a.tmp.path().join("chromium-profile"));

    browser.go(&console.url);
    browser.click(&browser.find("a[href='/records']"));
    for id in [&one, &two] {
        browser.click(&browser.find(&format!("input[name='members'][value='{id}']")));
    }
    browser.click(&browser.find("form.select button[type=submit]"));
    browser.type_into(
        &browser.find("#title"),
        "Fake parcel redelivery texts (fictional)",
    );
    browser.type_into(
        &browser.find("#summary"),
        "Texts ask for a small redelivery fee, then empty the account.",
    );
    browser.click(&browser.find("form.compose button[type=submit]"));
    let notice = browser.find("p.notice");
    assert!(browser.text(&notice).contains("signed and shared"));
    assert!(browser.url().contains("/bulletin/"), "{}", browser.url());
    let members = browser.text(&browser.find("main"));
    assert!(
        members.contains("+447700900621") && members.contains("parcel-redelivery.example.org"),
        "{members}"
    );

    // B's bulletin at A: the node's count of what A was not given.
    browser.click(&browser.find("a[href='/bulletins']"));
    browser.click(&browser.find(&format!("a[href='/bulletin/{partners}']")));
    let text = browser.text(&browser.find("main"));
    assert!(
        text.contains("1 of 2 members withheld") && text.contains("+447700900622"),
        "{text}"
    );
    assert!(!text.contains("GB82WEST"), "{text}");
    browser.screenshot("bulletin.png");

    browser.click(&browser.find("a[href='/lookup']"));
    browser.type_into(&browser.find("#q"), "07700 900622");
    browser.click(&browser.find("form.search button[type=submit]"));
    let answer = browser.text(&browser.find("#results"));
    assert!(
        answer.contains("Agency B (example)")
            && answer.contains("hit")
            && !answer.contains("no hit"),
        "{answer}"
    );
    assert!(
        browser.url().contains("/lookup?q=07700+900622"),
        "a lookup is a URL: {}",
        browser.url()
    );
    browser.screenshot("lookup.png");
}
