//! Who may read the node's HTTP surfaces (TAXII 2.1 and the MISP feed), and
//! how it says no — checked with a plain Rust HTTPS client, so that these rules
//! are proved on every machine that builds the node, Python or not
//! (`taxii.rs` checks the same with stock Python clients).
//!
//! An analyst's certificate is served (200); an enrolled partner node's
//! certificate gets 403 with TAXII error JSON on both surfaces; a stranger's
//! certificate never gets an HTTP answer (the TLS handshake fails); malformed
//! query parameters get 400 naming the parameter; an unknown collection 404.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use common::TestNode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TAXII: &str = "application/taxii+json;version=2.1";

/// One HTTP/1.1 answer.
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

/// GET `path` at `node` over TLS 1.3 with the certificate `cert`/`key`,
/// trusting only the node's certificate `trust`. `Err` when no HTTP answer
/// came back (the handshake or the connection failed), with why.
async fn get(
    node: &TestNode,
    trust: &Path,
    cert: &Path,
    key: &Path,
    path: &str,
) -> Result<Answer, String> {
    let read = |p: &Path| liaison::identity::read_pem_cert(p).expect("certificate file");
    let key = liaison::identity::read_pem_key(key).expect("key file");
    let mut config =
        liaison::tls::client_config(&read(cert), &key, &read(trust)).expect("client TLS");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(node.address())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from(liaison::identity::NODE_CERT_NAME)
        .expect("server name");
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: {TAXII}\r\nConnection: close\r\n\r\n",
        liaison::identity::NODE_CERT_NAME
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    // A peer that closes without close_notify still gave us what it sent.
    let outcome = tls.read_to_end(&mut raw).await;
    if raw.is_empty() {
        return Err(format!("no answer: {outcome:?}"));
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {text}"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line: {head}"))?;
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_string())
    };
    let body = match header("transfer-encoding") {
        Some(coding) if coding.eq_ignore_ascii_case("chunked") => dechunk(body)?,
        _ => body.to_string(),
    };
    Ok(Answer {
        status,
        content_type: header("content-type").unwrap_or_default(),
        body: serde_json::from_str(&body).unwrap_or(Value::String(body)),
    })
}

fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest
            .split_once("\r\n")
            .ok_or_else(|| format!("bad chunk: {rest}"))?;
        let size = usize::from_str_radix(size.trim(), 16).map_err(|e| format!("{e}: {size}"))?;
        if size == 0 {
            return Ok(body);
        }
        let chunk = after
            .get(..size)
            .ok_or_else(|| format!("short chunk: {after}"))?;
        body.push_str(chunk);
        rest = after[size..].trim_start_matches("\r\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_agencys_own_certificates_read_taxii_and_the_misp_feed() {
    let mut node = TestNode::init("Agency A (example)");
    node.start();
    node.publish("domain", "pay-now.example.org", "green", &[]);
    let analyst = node.issue("Analyst Example", "analyst");
    let trust = analyst.join("node.crt");
    let (a_crt, a_key) = (analyst.join("client.crt"), analyst.join("client.key"));

    // An analyst is served on both surfaces.
    for at in ["/taxii2/", "/misp-feed/manifest.json"] {
        let served = get(&node, &trust, &a_crt, &a_key, at)
            .await
            .unwrap_or_else(|e| panic!("{at}: analyst refused: {e}"));
        assert_eq!(served.status, 200, "{at}: {}", served.body);
    }

    // An enrolled partner node's certificate: 403, TAXII error JSON saying why.
    let mut partner = TestNode::init("Agency P (example)");
    partner.start();
    node.enroll(&partner, "green", false);
    let p_tls = partner.dir().join("tls");
    let (p_crt, p_key) = (p_tls.join("node.crt"), p_tls.join("node.key"));
    for at in ["/taxii2/", "/misp-feed/manifest.json"] {
        let forbidden = get(&node, &trust, &p_crt, &p_key, at)
            .await
            .unwrap_or_else(|e| panic!("{at}: a partner got no HTTP answer: {e}"));
        assert_eq!(forbidden.status, 403, "{at}: {}", forbidden.body);
        assert_eq!(forbidden.body["http_status"], "403", "{}", forbidden.body);
        assert_eq!(forbidden.content_type, TAXII, "{at}");
        let description = forbidden.body["description"].as_str().unwrap_or_default();
        assert!(
            description.contains("partner nodes sync over gRPC"),
            "{at}: {}",
            forbidden.body
        );
    }

    // A stranger's node certificate (never enrolled): no HTTP answer at all.
    let stranger = TestNode::init("Agency S (example)");
    let s_tls = stranger.dir().join("tls");
    let (s_crt, s_key) = (s_tls.join("node.crt"), s_tls.join("node.key"));
    for at in ["/taxii2/", "/misp-feed/manifest.json"] {
        let refused = get(&node, &trust, &s_crt, &s_key, at).await;
        assert!(
            refused.is_err(),
            "{at}: a stranger got HTTP {:?}",
            refused.map(|a| (a.status, a.body))
        );
    }
    // The node is still serving its analyst afterwards.
    let after = get(&node, &trust, &a_crt, &a_key, "/taxii2/").await;
    assert_eq!(after.map(|a| a.status), Ok(200));
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_taxii_parameters_get_400_naming_the_parameter() {
    let mut node = TestNode::init("Agency A (example)");
    node.start();
    node.publish("ip", "192.0.2.10", "green", &[]);
    let analyst = node.issue("Analyst Example", "analyst");
    let trust = analyst.join("node.crt");
    let (crt, key) = (analyst.join("client.crt"), analyst.join("client.key"));
    let get = |at: String| {
        let (node, trust, crt, key) = (&node, &trust, &crt, &key);
        async move {
            get(node, trust, crt, key, &at)
                .await
                .unwrap_or_else(|e| panic!("{at}: {e}"))
        }
    };

    let collections = get("/taxii2/api/collections/".into()).await;
    assert_eq!(collections.status, 200, "{}", collections.body);
    let id = collections.body["collections"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no collection id: {}", collections.body))
        .to_string();
    let objects = format!("/taxii2/api/collections/{id}/objects/");
    let fine = get(format!("{objects}?limit=5")).await;
    assert_eq!(fine.status, 200, "{}", fine.body);
    assert_eq!(fine.content_type, TAXII);

    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("added_after=yesterday", "added_after"),
        ("next=zz", "next"),
        ("match[version]=newest", "match[version]"),
    ] {
        let bad = get(format!("{objects}?{query}")).await;
        assert_eq!(bad.status, 400, "{query}: {}", bad.body);
        assert_eq!(bad.body["http_status"], "400", "{query}: {}", bad.body);
        assert_eq!(bad.content_type, TAXII, "{query}");
        let description = bad.body["description"].as_str().unwrap_or_default();
        assert!(
            description.starts_with(field) && description.len() > field.len() + 5,
            "{query}: the description must name {field} and say what is wrong: {}",
            bad.body
        );
    }

    let unknown = "/taxii2/api/collections/00000000-0000-4000-8000-000000000000/objects/";
    let missing = get(unknown.into()).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.body["http_status"], "404", "{}", missing.body);
    node.stop();
}
