//! `liaison bench --misp-feed-records N`: what MISP feed requests cost at N
//! stored records. The node is filled with [`super::preload`], served on
//! loopback, and read over HTTPS with the node's admin certificate exactly as
//! a MISP instance reads it: the first request after start (whatever the feed
//! builds before it can answer), then `manifest.json`, `hashes.csv` and one
//! event, each `--samples` times in a row (latency, requests/s, response bytes), then the
//! first `hashes.csv` and `manifest.json` after a record is published (the
//! feed's state moved). Never asserts a figure; it prints them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ms, percentiles, phone, preload::preloaded_lab, rate};
use crate::lab::LabNode;
use liaison_identity::identity::{read_pem_cert, read_pem_key, NodeDir};

/// Publishes (and so rebuilds) measured after the steady-state samples.
const AFTER_WRITE: usize = 5;

pub async fn run(records: u64, samples: usize) -> Result<()> {
    if records == 0 || samples == 0 {
        bail!("--misp-feed-records and --samples: must be at least 1");
    }
    out!("liaison bench: MISP feed requests at {records} records, {samples} samples each");
    let (_root, dir) = preloaded_lab("liaison-bench-misp-feed-", records).await?;
    let node = LabNode::serve(dir.clone()).await?;
    let reader = Reader::new(&dir)?;
    let at = Instant::now();
    let manifest = reader.get("/misp-feed/manifest.json").await?;
    out!(
        "  first request after start (manifest.json) {:>8.1} ms",
        ms(at.elapsed())
    );
    let first_event =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&manifest.body)
            .context("bench: manifest.json")?
            .keys()
            .next()
            .cloned()
            .context("bench: the feed has no event")?;
    out!("  endpoint                 first ms    p50 ms    p99 ms     req/s   bytes/response");
    for path in [
        "/misp-feed/manifest.json".to_string(),
        "/misp-feed/hashes.csv".to_string(),
        format!("/misp-feed/{first_event}.json"),
    ] {
        reader.measure(&path, samples).await?;
    }
    // The feed's state moves with every durable write: the next request pays
    // whatever rebuilding that costs.
    let mut published = records;
    for path in ["/misp-feed/hashes.csv", "/misp-feed/manifest.json"] {
        let mut took = Vec::new();
        for _ in 0..AFTER_WRITE {
            published += 1;
            let value = phone(published);
            node.publish(crate::lab::request(
                liaison_core::proto::IndicatorKind::Phone,
                &value,
                liaison_core::proto::Tlp::Green,
            ))
            .await?;
            let at = Instant::now();
            reader.get(path).await?;
            took.push(at.elapsed());
        }
        let p = percentiles(took);
        out!(
            "  {:<24} after a write: p50 {:.1} ms, p99 {:.1} ms",
            path.trim_start_matches("/misp-feed/"),
            ms(p.p50),
            ms(p.p99)
        );
    }
    node.stop().await?;
    Ok(())
}

/// An HTTPS reader with the node's admin certificate.
struct Reader {
    address: String,
    config: Arc<rustls::ClientConfig>,
}

struct Response {
    body: Vec<u8>,
}

impl Reader {
    fn new(dir: &NodeDir) -> Result<Reader> {
        let address = std::fs::read_to_string(dir.bound_address())?
            .trim()
            .to_string();
        let config = client_config(&dir.admin_cert(), &dir.admin_key(), &dir.tls_cert())?;
        Ok(Reader { address, config })
    }

    async fn measure(&self, path: &str, samples: usize) -> Result<()> {
        let at = Instant::now();
        let first = self.get(path).await?;
        let first_ms = ms(at.elapsed());
        let mut took: Vec<Duration> = Vec::with_capacity(samples);
        let all = Instant::now();
        for _ in 0..samples {
            let at = Instant::now();
            self.get(path).await?;
            took.push(at.elapsed());
        }
        let per_second = rate(samples as u64, all.elapsed());
        let p = percentiles(took);
        out!(
            "  {:<22} {:>9.1} {:>9.1} {:>9.1} {:>9.1}   {:>12}",
            short(path),
            first_ms,
            ms(p.p50),
            ms(p.p99),
            per_second,
            first.body.len()
        );
        Ok(())
    }

    async fn get(&self, path: &str) -> Result<Response> {
        let (status, body) = https_get(&self.address, self.config.clone(), path).await?;
        if status != 200 {
            bail!(
                "bench: {path} answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(Response { body })
    }
}

fn short(path: &str) -> String {
    let name = path.trim_start_matches("/misp-feed/");
    match name.len() > 20 {
        true => format!("{}….json", &name[..8]),
        false => name.to_string(),
    }
}

/// The CLI's pinned TLS 1.3 client configuration, offering HTTP/1.1.
pub fn client_config(
    cert: &Path,
    key: &Path,
    node_cert: &Path,
) -> Result<Arc<rustls::ClientConfig>> {
    let mut config = liaison_identity::tls::client_config(
        &read_pem_cert(cert)?,
        &read_pem_key(key)?,
        &read_pem_cert(node_cert)?,
    )?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One HTTP/1.0 GET over TLS (the body is everything up to the close): the
/// status and the body.
pub async fn https_get(
    address: &str,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<(u16, Vec<u8>)> {
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let name = rustls::pki_types::ServerName::try_from("liaison-node")?;
    let mut tls = connector.connect(name, tcp).await?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: liaison-node\r\nAccept: */*\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    // The server may close without a TLS close_notify once the body is sent.
    if let Err(e) = tls.read_to_end(&mut raw).await {
        if e.kind() != std::io::ErrorKind::UnexpectedEof || raw.is_empty() {
            return Err(e.into());
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("bench: no end of the response head")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("bench: no status")?;
    Ok((status, raw[split + 4..].to_vec()))
}
