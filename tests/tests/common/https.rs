//! A minimal HTTPS GET for the node's HTTP side (TAXII, the MISP feed): TLS 1.3
//! with an issued client certificate, trusting only the node certificate
//! written beside it (the CLI's own pinned configuration), HTTP/1.0 so the
//! body is simply everything up to the close. No verification is relaxed.

use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response: status, headers (names lower-cased) and body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{e}: {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// GETs `path` from the node at `address` with the certificate folder `client`
/// (`client.crt`, `client.key`, `node.crt`, as `liaison client issue` writes).
pub async fn get(address: &str, client: &Path, path: &str) -> Response {
    use liaison::identity::{read_pem_cert, read_pem_key};
    let mut config = liaison::tls::client_config(
        &read_pem_cert(&client.join("client.crt")).expect("client.crt"),
        &read_pem_key(&client.join("client.key")).expect("client.key"),
        &read_pem_cert(&client.join("node.crt")).expect("node.crt"),
    )
    .expect("client TLS configuration");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("liaison-node").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: liaison-node\r\nAccept: application/taxii+json;version=2.1, application/json, text/csv\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    // The server may close without a TLS close_notify once the body is sent.
    if let Err(e) = tls.read_to_end(&mut raw).await {
        assert!(
            e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty(),
            "reading the response: {e}"
        );
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}
