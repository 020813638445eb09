//! `liaison bench --console`: what a local search page of the analyst console
//! costs at N stored records (issue 25's goal: under 50 ms at p99 at 100k). The
//! node is filled with [`super::preload`] and served on loopback; a console
//! (the same code as `liaison console`) talks to it over mTLS gRPC with the
//! node's admin certificate; the bench logs in with the one-time token and
//! GETs `/search?q=…` for a different stored number each time, over plain
//! HTTP as a browser would, timing from the request to the last byte of the
//! page. Never asserts a figure; it prints and reports them.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::report::Report;
use super::{ms, percentiles, phone, preload::preloaded_lab, rate};
use crate::client::NodeClient;
use crate::lab::LabNode;

pub async fn run(records: u64, samples: usize, report: &mut Report) -> Result<()> {
    if records == 0 || samples == 0 {
        bail!("--records and --samples: must be at least 1");
    }
    out!("liaison bench: console search pages at {records} records, {samples} samples");
    let (_root, dir) = preloaded_lab("liaison-bench-console-", records).await?;
    let node = LabNode::serve(dir.clone()).await?;
    let client = NodeClient::for_dir(&dir).await?;
    let args = crate::console::args_from(&["--listen", "127.0.0.1:0"])?;
    let address = crate::console::listen_address(&args.listen, None)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready, url) = tokio::sync::oneshot::channel();
    let console = tokio::spawn(async move {
        crate::console::serve(
            client,
            "the bench".into(),
            address,
            &args,
            async {
                let _ = stopped.await;
            },
            Some(ready),
        )
        .await
    });
    let url = url.await.context("bench: the console did not start")?;
    let (host, path) = url
        .trim_start_matches("http://")
        .split_once('/')
        .context("bench: the console's address")?;
    let login = get(host, &format!("/{path}"), None).await?;
    if login.status != 303 {
        bail!(
            "bench: the console's token exchange answered {}",
            login.status
        );
    }
    let cookie = login.cookie.context("bench: no session cookie")?;

    let mut took = Vec::with_capacity(samples);
    let mut bytes = 0;
    let all = Instant::now();
    for i in 0..samples as u64 {
        // Spread over the store, so no page is a repeat of the one before.
        let value = phone(i.wrapping_mul(7919) % records);
        let path = format!("/search?q={}", value.replace('+', "%2B"));
        let at = Instant::now();
        let page = get(host, &path, Some(&cookie)).await?;
        took.push(at.elapsed());
        if page.status != 200 || !page.body.contains("/record/") {
            bail!(
                "bench: {path} answered {} without the record: {}",
                page.status,
                &page.body[..page.body.len().min(300)]
            );
        }
        bytes = page.body.len();
    }
    let per_second = rate(samples as u64, all.elapsed());
    let p = percentiles(took);
    out!("\nConsole local search page at {records} records (HTTP GET to last byte, one browser)");
    out!(
        "  p50 {:.2} ms   p99 {:.2} ms   {per_second:.0} pages/s   {bytes} bytes/page",
        ms(p.p50),
        ms(p.p99)
    );
    let note = format!("console /search page, local, {records} records, HTTP on loopback");
    report.add("console.search_page_p50_ms", ms(p.p50), "ms", &note);
    report.add("console.search_page_p99_ms", ms(p.p99), "ms", &note);
    report.add("console.search_pages_per_second", per_second, "/s", &note);
    let _ = stop.send(());
    console.await.context("bench: the console task")??;
    node.stop().await?;
    Ok(())
}

struct Page {
    status: u16,
    cookie: Option<String>,
    body: String,
}

/// One HTTP/1.1 GET on a fresh connection, read to its end.
async fn get(host: &str, path: &str, cookie: Option<&str>) -> Result<Page> {
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{cookie}\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .context("bench: the console did not answer within 60 s")??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("bench: no HTTP status")?;
    let cookie = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("set-cookie")
            .then(|| value.trim().split(';').next().unwrap_or("").to_string())
    });
    Ok(Page {
        status,
        cookie,
        body: body.to_string(),
    })
}
