//! Federated search streamed per partner (issue 25): `Analyst.SearchStream`
//! over real gRPC (this node's answer first, then one event per partner, then
//! the end; one `search.federated` entry per search; refused without a
//! justification exactly as `Search` is), and the console's page, where a
//! partner that answers at once is on the page while another is still held
//! behind a stalled fault proxy; a client that leaves the stream cancels the
//! partner calls still outstanding.

use serde_json::Value;

use crate::common::proxy::{FaultProxy, Mode};
use crate::common::reliability::advertise;
use crate::common::{eventually, holds, TestNode, WAIT};
use crate::console_actions::Chunked;
use crate::console_http::{encode, http, Console};
use liaison::config::NodeDirSetup;
use liaison::proto;
use liaison::proto::federation_server::{Federation, FederationServer};
use liaison::proto::search_event::Event;
use tonic::{Request, Response, Status};

/// The audit entries of `node` whose action is exactly `action`.
fn audited(node: &TestNode, action: &str) -> Vec<Value> {
    let all = node.cli_json(&["audit", "list", "--action", action]);
    all.as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

/// Every consultation noted before now is in the log: notes are written in
/// order, so the log holds a later one (a `get` of `record`) only after them.
fn notes_flushed(node: &TestNode, record: &str) {
    node.cli_ok(&["get", record]);
    assert!(
        eventually(WAIT, || audited(node, "get")
            .iter()
            .any(|e| e["detail"]["record"] == record)),
        "the get note never reached the log"
    );
}

/// The partners' sections written so far.
fn partner_sections(body: &str) -> Vec<&str> {
    body.match_indices("<section class=\"partner\">")
        .map(|(at, _)| {
            let rest = &body[at..];
            &rest[..rest.find("</section>").unwrap_or(rest.len())]
        })
        .collect()
}

fn federated(value: &str, justification: &str) -> liaison::proto::SearchRequest {
    liaison::proto::SearchRequest {
        value: value.into(),
        federated: true,
        justification: justification.into(),
        deadline_ms: 20_000,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn search_stream_answers_local_first_then_each_partner_with_one_audit_entry() {
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let mut c = TestNode::init("Agency C (example)");
    a.start();
    b.start();
    c.start();
    for other in [&b, &c] {
        a.enroll(other, "green", false);
        other.enroll(&a, "green", false);
    }
    let own = a.publish("phone", "+44 7700 900421", "green", &[]);
    let bs = b.publish("phone", "+44 7700 900421", "green", &[]);
    let mut analyst = a.admin_client().await.analyst();

    // Without a justification: the same refusal as Search, and no trace.
    let whole = analyst
        .search(federated("+44 7700 900421", ""))
        .await
        .expect_err("Search without a justification");
    let streamed = analyst
        .search_stream(federated("+44 7700 900421", " "))
        .await
        .map(|_| ())
        .expect_err("SearchStream without a justification");
    assert_eq!(streamed.code(), whole.code(), "{streamed:?}");
    assert_eq!(streamed.message(), whole.message());
    assert!(audited(&a, "search.federated").is_empty());

    let mut events = analyst
        .search_stream(federated("+44 7700 900421", "victim statement 42"))
        .await
        .expect("SearchStream")
        .into_inner();
    let mut seen = Vec::new();
    while let Some(event) = events.message().await.expect("an event") {
        seen.push(event.event.expect("an event kind"));
    }
    let Some(Event::Local(local)) = seen.first() else {
        panic!("the first event is this node's answer: {seen:?}");
    };
    assert!(
        local.records.iter().any(|r| r.record_id == own),
        "{local:?}"
    );
    assert_eq!(local.normalized_queries, ["phone:+447700900421"]);
    let Some(Event::End(end)) = seen.last() else {
        panic!("the last event is the end: {seen:?}");
    };
    assert_eq!(end.partners, 2);
    let mut partners: Vec<_> = seen[1..seen.len() - 1]
        .iter()
        .map(|event| match event {
            Event::Partner(part) => part,
            other => panic!("a partner event between local and end: {other:?}"),
        })
        .collect();
    partners.sort_by_key(|p| p.status.as_ref().map(|s| s.name.clone()));
    let names: Vec<_> = partners
        .iter()
        .map(|p| p.status.clone().expect("a status"))
        .map(|s| (s.name, s.status, s.records))
        .collect();
    assert_eq!(
        names,
        [
            ("Agency B (example)".to_string(), "answered".to_string(), 1),
            ("Agency C (example)".to_string(), "answered".to_string(), 0),
        ]
    );
    // B's record, unless A already holds it by sync (then it is in `local`).
    assert!(
        partners[0].records.iter().any(|r| r.record_id == bs)
            || local.records.iter().any(|r| r.record_id == bs),
        "{seen:?}"
    );

    // One search, one federated entry, with today's fields.
    let entries = audited(&a, "search.federated");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let detail = &entries[0]["detail"];
    assert_eq!(detail["justification"], "victim statement 42");
    assert_eq!(detail["queries"][0], "phone:+447700900421");
    assert_eq!(detail["partners"].as_array().map(Vec::len), Some(2));

    // On a terminal, `liaison search --federated` prints the stream as it
    // comes (`script` gives the command a terminal); piped, the one answer.
    let command = format!(
        "{} --dir {} search +447700900421 --federated --justification 'victim statement 44' --deadline-ms 20000",
        crate::common::BIN,
        a.dir().display()
    );
    let shown = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .output()
        .expect("script (util-linux) runs the CLI on a terminal");
    let shown = String::from_utf8_lossy(&shown.stdout);
    let live = shown
        .find("Partners, as each answers:")
        .unwrap_or_else(|| panic!("not printed live: {shown}"));
    assert!(
        shown[live..].contains("partner Agency B (example): answered"),
        "{shown}"
    );
    assert!(
        shown[live..].contains("partner Agency C (example): answered"),
        "{shown}"
    );
    let piped = a.cli_ok(&[
        "search",
        "+447700900421",
        "--federated",
        "--justification",
        "victim statement 45",
    ]);
    assert!(!piped.contains("Partners, as each answers:"), "{piped}");
    assert!(
        piped.contains("partner Agency B (example): answered"),
        "{piped}"
    );
}

#[test]
fn the_console_writes_each_partners_section_as_it_answers() {
    // C is reached only through a proxy the test controls: stalled, C cannot
    // answer until the test has read B's section; B answers at once.
    let proxy = FaultProxy::start();
    let mut a = TestNode::init("Agency A (example)");
    let mut b = TestNode::init("Agency B (example)");
    let mut c = TestNode::init("Agency Held (example)");
    advertise(&c, &proxy.address());
    // C waits for a held handshake as long as the test holds it.
    let dir = c.node_dir();
    let mut config = dir.load_config().expect("config");
    config.node.limits.client_hello_timeout_ms = 60_000;
    config.node.limits.handshake_timeout_seconds = 60;
    std::fs::write(dir.config(), config.to_toml()).expect("write config");
    a.start();
    b.start();
    c.start();
    proxy.set_target(&c.address());
    for other in [&b, &c] {
        a.enroll(other, "green", false);
        other.enroll(&a, "green", false);
    }
    let own = a.publish("phone", "+44 7700 900431", "green", &[]);
    let cs = c.publish("phone", "+44 7700 900431", "green", &[]);
    assert!(
        eventually(WAIT, || holds(&a, "+44 7700 900431", &cs)),
        "A never received C's record"
    );
    let analyst = a.issue("Stream Analyst", "analyst");
    let console = Console::as_client(&a, &analyst);
    let session = console.login();
    // The node's first search loads its tables; this one is not the test.
    let warm = http(
        &console.address,
        "GET",
        "/search?q=07700+900431",
        Some(&session),
        None,
    );
    assert_eq!(warm.status, 200, "{}", warm.body);
    notes_flushed(&a, &own);
    let local_notes = audited(&a, "search.local").len();

    proxy.set_mode(Mode::Stall);
    let path = format!(
        "/search?q={}&federated=1&justification={}",
        encode("07700 900431"),
        encode("victim statement 43")
    );
    let mut page = Chunked::get(&console.address, &path, &session);
    assert_eq!(page.status, 200);
    let mut body = String::new();
    while !partner_sections(&body)
        .iter()
        .any(|s| s.contains("Agency B (example)"))
    {
        let chunk = page
            .next()
            .unwrap_or_else(|| panic!("the page ended before B's section: {body}"));
        body.push_str(&chunk);
    }
    // B's section is in the browser while C is still held back.
    assert!(body.contains(&format!("/record/{own}")), "{body}");
    assert_eq!(partner_sections(&body).len(), 1, "{body}");

    proxy.set_mode(Mode::Pass);
    while let Some(chunk) = page.next() {
        body.push_str(&chunk);
    }
    let sections = partner_sections(&body);
    let held = sections
        .iter()
        .find(|s| s.contains("Agency Held (example)"))
        .unwrap_or_else(|| panic!("C's section: {body}"));
    // C answered, so only after the release, which came after B's section
    // was read: B's section did not wait for C (had it waited, C could only
    // have ended unanswered, e.g. unreachable at its connect deadline).
    assert!(held.contains("status-answered"), "{held}");
    assert!(body.trim_end().ends_with("</html>"), "{body}");

    // One call for the page: one search.local note, one search.federated entry.
    assert_eq!(audited(&a, "search.federated").len(), 1);
    notes_flushed(&a, &own);
    let notes = audited(&a, "search.local");
    assert_eq!(notes.len(), local_notes + 1, "{notes:?}");
}

/// A partner that takes every search and never answers; it reports when a
/// search reaches it and when its caller cancels it (the handler dropped).
struct Silent {
    asked: tokio::sync::mpsc::UnboundedSender<()>,
    cancelled: tokio::sync::mpsc::UnboundedSender<()>,
}

struct OnDrop(tokio::sync::mpsc::UnboundedSender<()>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[tonic::async_trait]
impl Federation for Silent {
    type PullStream = tokio_stream::wrappers::ReceiverStream<Result<proto::PullBatch, Status>>;

    async fn pull(
        &self,
        _request: Request<proto::PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        // Held open and empty, like a partner with nothing to send.
        tokio::spawn(async move { sender.closed().await });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            receiver,
        )))
    }

    async fn search(
        &self,
        _request: Request<proto::FederatedQuery>,
    ) -> Result<Response<proto::FederatedAnswer>, Status> {
        let _cancelled = OnDrop(self.cancelled.clone());
        let _ = self.asked.send(());
        std::future::pending().await
    }

    async fn announce_tls_rotation(
        &self,
        _request: Request<proto::SignedTlsRotation>,
    ) -> Result<Response<proto::TlsRotationAck>, Status> {
        Err(Status::unimplemented("silent"))
    }

    async fn ping(
        &self,
        _request: Request<proto::PingRequest>,
    ) -> Result<Response<proto::PingResponse>, Status> {
        Ok(Response::new(proto::PingResponse::default()))
    }

    async fn acknowledge(
        &self,
        _request: Request<proto::Receipt>,
    ) -> Result<Response<proto::ReceiptAck>, Status> {
        Ok(Response::new(proto::ReceiptAck {}))
    }

    async fn get_lookup_filter(
        &self,
        _request: Request<proto::LookupFilterRequest>,
    ) -> Result<Response<proto::LookupFilter>, Status> {
        Err(Status::unimplemented("silent"))
    }

    async fn evaluate(
        &self,
        _request: Request<proto::EvaluateRequest>,
    ) -> Result<Response<proto::EvaluateResponse>, Status> {
        Err(Status::unimplemented("silent"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_leaving_the_stream_cancels_the_partner_calls_still_outstanding() {
    let mut a = TestNode::init("Agency A (example)");
    let silent = TestNode::init("Agency Silent (example)");
    a.start();
    let (silent_dir, a_dir) = (silent.node_dir(), a.node_dir());
    let identity = silent_dir
        .load_identity(&silent_dir.load_config().expect("config"))
        .expect("identity");
    let victim = a_dir
        .load_identity(&a_dir.load_config().expect("config"))
        .expect("identity");
    let (address, incoming) = crate::common::rogue::pinned_tls_listener(&identity, &victim).await;
    let (asked, mut was_asked) = tokio::sync::mpsc::unbounded_channel();
    let (cancelled, mut was_cancelled) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(FederationServer::new(Silent { asked, cancelled }))
            .serve_with_incoming(incoming),
    );
    let bundle = liaison::identity::Bundle::create(&identity, vec![address], liaison::now_ms());
    let bundle_path = a.tmp.path().join("silent.pem");
    std::fs::write(&bundle_path, bundle.to_pem()).expect("bundle");
    let path = bundle_path.to_str().expect("path");
    a.cli_ok(&["partner", "add", path, "--max-tlp", "green", "--yes"]);

    let mut analyst = a.admin_client().await.analyst();
    let mut request = federated("+44 7700 900451", "victim statement 46");
    // The longest deadline there is: only a cancellation ends the call sooner.
    request.deadline_ms = 30_000;
    let mut events = analyst
        .search_stream(request)
        .await
        .expect("SearchStream")
        .into_inner();
    let first = events.message().await.expect("an event").expect("local");
    assert!(matches!(first.event, Some(Event::Local(_))), "{first:?}");
    tokio::time::timeout(WAIT, was_asked.recv())
        .await
        .expect("the silent partner was never asked");
    drop(events);
    drop(analyst);
    tokio::time::timeout(WAIT, was_cancelled.recv())
        .await
        .expect("the partner call outlived the client that asked");
}
