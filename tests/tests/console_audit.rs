//! The console's Audit page over the node's own gRPC (issue 25): an oversight
//! officer's admin CLIENT certificate (`--client`, no node directory) sees a
//! federated search with its justification, the filtered entries as CSV and a
//! partner's disclosure report; an analyst certificate calling the audit call
//! directly is refused with a message saying what to do; and a console session
//! left idle ends with a 401 saying so.

use std::time::{Duration, Instant};

use crate::common::{eventually, two_agencies, TestNode, WAIT};
use crate::console_http::{encode, http, Console};

const HOSTILE: &str = "<script>alert(25)</script>";

#[test]
fn console_audit_over_grpc_shows_a_federated_search_and_its_justification() {
    let (a, b) = two_agencies("green");
    let analyst = a.issue("Audit Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();
    let justification = format!("victim statement 41 {HOSTILE}");
    let search = format!(
        "/search?q={}&federated=1&justification={}&case=CASE-41",
        encode("07700 900941"),
        encode(&justification)
    );
    let searched = http(&console.address, "GET", &search, Some(&session), None);
    assert_eq!(searched.status, 200, "{}", searched.body);

    // Oversight with an admin client certificate only: no --dir, no files.
    let officer = a.issue("Oversight Officer", "admin");
    let oversight = Console::as_client(&a, &officer);
    let session = oversight.login();
    let get = |path: &str| http(&oversight.address, "GET", path, Some(&session), None);
    let page = get("/audit?action=search.federated");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("audit log intact"), "{}", page.body);
    assert!(page.body.contains("1 matching entry"), "{}", page.body);
    assert!(
        page.body.contains("victim statement 41 &lt;script&gt;"),
        "{}",
        page.body
    );
    assert!(page.body.contains("CASE-41"), "{}", page.body);
    assert!(page.body.contains("audit analyst"), "{}", page.body);
    assert!(!page.body.contains(HOSTILE), "{}", page.body);
    assert!(!page.body.contains("partner.add"), "{}", page.body);

    // The same selection as CSV, in `audit export`'s columns.
    let csv = get("/audit/export?action=search.federated");
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        csv.headers
    );
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next(),
        Some("seq,time,actor,action,partner,detail,hash")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{}", csv.body);
    assert!(rows[0].contains("victim statement 41"), "{}", csv.body);

    // B's oversight: what B disclosed to A, with the justification A gave.
    let b_officer = b.issue("B Oversight", "admin");
    let b_oversight = Console::as_client(&b, &b_officer);
    let b_session = b_oversight.login();
    let report_path = format!("/audit/report?partner={}", &a.node_id()[..12]);
    let mut report = None;
    // B notes the answer on its next group sync: wait for it.
    assert!(
        eventually(WAIT, || {
            let page = http(
                &b_oversight.address,
                "GET",
                &report_path,
                Some(&b_session),
                None,
            );
            let found = page.status == 200 && page.body.contains("victim statement 41");
            report = Some(page);
            found
        }),
        "the report names the search: {:?}",
        report.map(|r| r.body)
    );
}

#[tokio::test]
async fn an_analyst_certificate_is_refused_the_audit_call() {
    let mut node = TestNode::init("Agency Audit Refusal");
    node.start();
    let analyst = node.issue("Curious Analyst", "analyst");
    let client = node.client_with(&analyst).await.expect("connect");
    let refused = client
        .admin()
        .list_audit(liaison::proto::ListAuditRequest::default())
        .await
        .expect_err("an analyst may not read the audit log");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("admin certificate")
            && refused.message().contains("client issue --role admin"),
        "{}",
        refused.message()
    );
    let report = client
        .admin()
        .audit_report(liaison::proto::AuditReportRequest {
            partner: "ab".into(),
            since: String::new(),
        })
        .await
        .expect_err("nor its reports");
    assert_eq!(report.code(), tonic::Code::PermissionDenied, "{report:?}");
    // The admin's own certificate reads it.
    let admin = node.admin_client().await;
    let listed = admin
        .admin()
        .list_audit(liaison::proto::ListAuditRequest {
            action: "client.issue".into(),
            ..Default::default()
        })
        .await
        .expect("the admin reads the log")
        .into_inner();
    assert_eq!(listed.total, 1, "{listed:?}");
}

#[test]
fn an_idle_console_session_expires_with_a_401() {
    let mut node = TestNode::init("Agency Idle Console");
    node.start();
    let analyst = node.issue("Idle Analyst", "analyst");
    let console = Console::start(&[
        "--client",
        analyst.to_str().expect("path"),
        "--node",
        &node.address(),
        "--idle-timeout",
        "2s",
    ]);
    let session = console.login();
    let get = || http(&console.address, "GET", "/search", Some(&session), None);
    // Each request that finds the session live keeps it alive: wait longer
    // between requests, each time, until one finds it ended.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut gap = Duration::from_millis(100);
    let mut seen_live = false;
    let expired = loop {
        let page = get();
        match page.status {
            200 => seen_live = true,
            401 => break page,
            other => panic!("unexpected {other}: {}", page.body),
        }
        assert!(Instant::now() < deadline, "the session never expired");
        std::thread::sleep(gap);
        gap *= 2;
    };
    assert!(seen_live, "the session worked before it expired");
    assert!(expired.body.contains("session expired"), "{}", expired.body);
    assert!(expired.body.contains("liaison console"), "{}", expired.body);
    // Ended stays ended.
    assert_eq!(get().status, 401);
}
