//! The console's Records, Partners and Audit pages over real HTTP against real
//! nodes: filters and paging through the node's page tokens, the filtered set
//! downloaded as STIX and CSV, Partners for the admin certificate and the
//! node's refusal for an analyst, the Audit page showing a console search's
//! justification and the log's verification, and hostile text escaped on each.

use std::collections::BTreeSet;

use crate::common::TestNode;
use crate::console_http::{encode, http, Console};

const HOSTILE: &str = "<script>alert(25)</script>";

/// The record ids linked from a Records page, in order.
fn record_links(body: &str) -> Vec<String> {
    body.match_indices("href=\"/record/")
        .map(|(at, _)| body[at + 14..at + 14 + 64].to_string())
        .collect()
}

/// The href of the link with `rel`, HTML-unescaped (`&amp;` → `&`).
fn link(body: &str, rel: &str) -> Option<String> {
    let at = body.find(&format!("rel=\"{rel}\" href=\""))? + rel.len() + 13;
    let end = body[at..].find('"')?;
    Some(body[at..at + end].replace("&amp;", "&"))
}

#[test]
fn console_records_filter_page_and_export_the_set() {
    let mut node = TestNode::init("Agency Records");
    node.start();
    // 24 fraud phones in one case, 6 e-mails in another (one with a hostile
    // case reference): one import, so the test spends no time on 30 CLIs.
    let mut csv = String::from(
        "kind,value,labels,tlp,evaluation,handling,valid_until,description,case,default_country\n",
    );
    for n in 0..24 {
        csv.push_str(&format!(
            "phone,+44 7700 900{n:03},fraud,green,,,,,CASE-P,\n"
        ));
    }
    for n in 0..5 {
        csv.push_str(&format!(
            "email,person{n}@example.org,romance-scam,green,,,,,CASE-E,\n"
        ));
    }
    csv.push_str(&format!(
        "email,hostile@example.org,romance-scam,green,,,,,\"{HOSTILE}\",\n"
    ));
    let file = node.dir().join("records.csv");
    std::fs::write(&file, csv).expect("write the CSV");
    node.cli_ok(&["import", file.to_str().expect("path")]);

    let analyst = node.issue("Records Analyst", "analyst");
    let console = Console::as_client(&node, &analyst);
    let session = console.login();
    let get = |path: &str| http(&console.address, "GET", path, Some(&session), None);

    // Paging: 10 a page through the node's tokens, 24 distinct phones in all,
    // and "previous" returns to the page before.
    let mut path = "/records?kind=phone&label=fraud&size=10".to_string();
    let mut pages = Vec::new();
    loop {
        let page = get(&path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            !page.body.contains("@example.org"),
            "only phones: {}",
            page.body
        );
        pages.push(page.body.clone());
        match link(&page.body, "next") {
            Some(next) => path = next,
            None => break,
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    let sizes: Vec<usize> = pages.iter().map(|p| record_links(p).len()).collect();
    assert_eq!(sizes, vec![10, 10, 4], "page sizes");
    let all: BTreeSet<String> = pages.iter().flat_map(|p| record_links(p)).collect();
    assert_eq!(all.len(), 24, "every phone once");
    let back = link(&pages[2], "prev").expect("a previous link on the last page");
    assert_eq!(record_links(&get(&back).body), record_links(&pages[1]));
    assert!(link(&pages[0], "prev").is_none());

    // The case filter, and partner-controlled text shown as text.
    let emails = get(&format!("/records?case={}", encode(HOSTILE)));
    assert_eq!(record_links(&emails.body).len(), 1, "{}", emails.body);
    assert!(
        emails.body.contains("&lt;script&gt;alert(25)"),
        "{}",
        emails.body
    );
    assert!(!emails.body.contains(HOSTILE), "{}", emails.body);
    let refused = get("/records?since=yesterday-ish");
    assert!(refused.body.contains("since:"), "{}", refused.body);

    // The filtered set as files, through the export's own writers.
    let stix = get("/records/export?format=stix&kind=email");
    assert_eq!(stix.status, 200, "{}", stix.body);
    assert!(stix
        .header("content-disposition")
        .is_some_and(|d| d.contains("attachment")));
    let bundle: serde_json::Value = serde_json::from_str(&stix.body).expect("a STIX bundle");
    assert_eq!(bundle["type"], "bundle");
    let indicators = bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["type"] == "indicator")
        .count();
    assert_eq!(indicators, 6, "{}", stix.body);
    assert!(!stix.body.contains("+447700900"), "phones left out");
    let csv = get("/records/export?format=csv&case=CASE-E");
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 1 + 5, "{}", csv.body);
    assert!(csv.body.starts_with("kind,value,"), "{}", csv.body);
    assert!(csv.body.contains("person3@example.org"), "{}", csv.body);
}

#[test]
fn console_partners_for_the_admin_and_the_nodes_refusal_for_an_analyst() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init(&format!("Agency B {HOSTILE}"));
    a.start();
    b.start();
    a.enroll(&b, "green", false);
    b.enroll(&a, "green", false);

    let admin = Console::for_node(&a);
    let session = admin.login();
    let page = http(&admin.address, "GET", "/partners", Some(&session), None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Agency B &lt;script&gt;alert(25)"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(HOSTILE), "{}", page.body);
    assert!(page.body.contains(&b.node_id()), "{}", page.body);
    assert!(page.body.contains("received"), "{}", page.body);
    assert!(
        page.body
            .contains("href=\"/partners\" aria-current=\"page\""),
        "{}",
        page.body
    );

    let analyst = a.issue("Partners Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();
    let refused = http(&console.address, "GET", "/partners", Some(&session), None);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("permission denied"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("Agency B"), "{}", refused.body);
}

#[test]
fn console_audit_shows_a_console_search_with_its_justification() {
    let (a, _b) = crate::common::two_agencies("green");
    let analyst = a.issue("Audit Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();
    let justification = format!("victim statement 31 {HOSTILE}");
    let search = format!(
        "/search?q={}&federated=1&justification={}&case=CASE-31",
        encode("07700 900999"),
        encode(&justification)
    );
    let searched = http(&console.address, "GET", &search, Some(&session), None);
    assert_eq!(searched.status, 200, "{}", searched.body);

    // An analyst's console has no audit trail to show.
    let refused = http(&console.address, "GET", "/audit", Some(&session), None);
    assert_eq!(refused.status, 403, "{}", refused.body);

    let oversight = Console::for_node(&a);
    let session = oversight.login();
    let page = http(
        &oversight.address,
        "GET",
        "/audit?action=search.federated",
        Some(&session),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("audit log intact"), "{}", page.body);
    assert!(page.body.contains("1 matching entry"), "{}", page.body);
    assert!(
        page.body.contains("victim statement 31 &lt;script&gt;"),
        "{}",
        page.body
    );
    assert!(page.body.contains("CASE-31"), "{}", page.body);
    assert!(page.body.contains("audit analyst"), "{}", page.body);
    assert!(!page.body.contains(HOSTILE), "{}", page.body);
    // The filter is the node's own (`audit list --action`): other actions stay out.
    assert!(!page.body.contains("partner.add"), "{}", page.body);
    let all = http(
        &oversight.address,
        "GET",
        "/audit?size=2",
        Some(&session),
        None,
    );
    assert!(link(&all.body, "next").is_some(), "{}", all.body);
}
