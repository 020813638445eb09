//! One node, real processes: init, serve, publish, search, mTLS, durability.

use crate::common;

use common::{eventually, TestNode, WAIT};
use liaison::proto;

#[test]
fn init_writes_private_keys_0600_and_refuses_to_overwrite() {
    let node = TestNode::init("Agency Init (example)");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [
            "keys/signing.key",
            "tls/node.key",
            "ca/ca.key",
            "admin/client.key",
        ] {
            let mode = std::fs::metadata(node.dir().join(key))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{key} has mode {mode:o}");
        }
    }
    let again = std::process::Command::new(common::BIN)
        .args(["init", "--dir"])
        .arg(node.dir())
        .args(["--name", "Other", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
}

#[test]
fn publish_and_search_across_processes_with_normalisation() {
    let mut node = TestNode::init("Agency One (example)");
    node.start();
    let id = node.publish(
        "phone",
        "07700 900123",
        "green",
        &["--label", "scam-centre", "--evaluation", "B2"],
    );
    let id2 = node.publish(
        "wallet",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        "amber",
        &["--label", "money-laundering"],
    );
    // Searched in another written form, it is the same number.
    assert_eq!(node.search_ids("+44 7700 900123"), vec![id.clone()]);
    assert_eq!(
        node.search_ids("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        vec![id2]
    );
    let found = node.cli_json(&["search", "+447700900123"]);
    let record = &found["records"][0];
    // The proto3 JSON mapping: enum names, nested messages, lowerCamelCase.
    let indicator = &record["indicator"];
    assert_eq!(indicator["kind"], "INDICATOR_KIND_PHONE");
    assert_eq!(indicator["tlp"], "TLP_GREEN");
    assert_eq!(indicator["evaluation"]["sourceReliability"], "B");
    assert_eq!(indicator["evaluation"]["informationAccuracy"], 2);
    assert_eq!(indicator["labels"][0], "scam-centre");
    assert_eq!(
        indicator["outsideKnownRanges"], true,
        "drama range is flagged, not refused"
    );
    let got = node.cli_json(&["get", &id]);
    assert_eq!(got["indicator"]["value"], "+447700900123");
    node.stop();
}

#[test]
fn invalid_values_are_refused_with_a_message_naming_the_problem() {
    let mut node = TestNode::init("Agency Bad Input (example)");
    node.start();
    let cases: &[(&[&str], &str)] = &[
        (&["--kind", "phone", "--value", "hello world"], "phone"),
        (
            &["--kind", "iban", "--value", "GB82 WEST 1234 5698 7654 33"],
            "iban",
        ),
        (
            &[
                "--kind",
                "wallet",
                "--value",
                "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            ],
            "wallet",
        ),
        (&["--kind", "domain", "--value", "exa_mple.org"], "domain"),
        (&["--kind", "ip", "--value", "192.168.001.1"], "ip"),
        (
            &["--kind", "phash", "--value", "0x8f373714acfcf4d0"],
            "phash",
        ),
        (
            &["--kind", "handle", "--value", "myspace:@someone"],
            "handle",
        ),
        (&["--kind", "email", "--value", "a@b@example.org"], "email"),
        (
            &[
                "--kind",
                "phone",
                "--value",
                "+44 7700 900123",
                "--evaluation",
                "Z9",
            ],
            "evaluation",
        ),
        (
            &[
                "--kind",
                "phone",
                "--value",
                "+44 7700 900123",
                "--label",
                "jaywalking",
            ],
            // Refused by the command line itself, which lists the labels.
            "scam-centre",
        ),
        (
            &[
                "--kind",
                "phone",
                "--value",
                "+44 7700 900123",
                "--tlp",
                "red",
            ],
            "recipient",
        ),
        (
            &[
                "--kind",
                "phone",
                "--value",
                "+44 7700 900123",
                "--handling",
                "H3",
            ],
            "H3",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["publish"];
        all.extend_from_slice(args);
        if !args.contains(&"--tlp") {
            all.extend_from_slice(&["--tlp", "green"]);
        }
        let out = node.cli(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        // The node's refusal ("invalid input"), or the command line's for a
        // value outside an enumeration ("invalid value").
        assert!(
            (stderr.contains("invalid input") || stderr.contains("invalid value"))
                && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
    }
    let identity = node.cli_json(&["identity", "show"]);
    assert_eq!(
        common::int(&identity["records"]),
        0,
        "nothing may be stored from bad input"
    );
    node.stop();
}

#[test]
fn records_survive_restart_and_sequences_keep_rising() {
    let mut node = TestNode::init("Agency Restart (example)");
    node.start();
    let first = node.publish("domain", "Recruit-Example.ORG", "clear", &[]);
    node.stop();
    node.start();
    assert_eq!(node.search_ids("recruit-example.org"), vec![first.clone()]);
    let second = node.publish("domain", "recruit-example.org", "clear", &[]);
    let seq1 = common::int(&node.cli_json(&["get", &first])["sequence"]);
    let seq2 = common::int(&node.cli_json(&["get", &second])["sequence"]);
    assert!(seq2 > seq1, "sequence went from {seq1} to {seq2}");
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_during_a_publish_burst_loses_no_acknowledged_record() {
    let mut node = TestNode::init("Agency Crash (example)");
    node.start();
    let client = node.admin_client().await;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for writer in 0..8u32 {
        let mut analyst = client.analyst();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..10_000u32 {
                let request = proto::PublishRequest {
                    kind: proto::IndicatorKind::Phone as i32,
                    value: format!("+4477009{:05}", (writer * 10_000 + i) % 100_000),
                    tlp: proto::Tlp::Green as i32,
                    ..Default::default()
                };
                match analyst.publish(request).await {
                    Ok(response) => acknowledged
                        .lock()
                        .unwrap()
                        .push(response.into_inner().record_id),
                    Err(_) => return,
                }
            }
        }));
    }
    assert!(eventually(WAIT, || acknowledged.lock().unwrap().len() >= 300));
    node.kill();
    for writer in writers {
        let _ = writer.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    node.start();
    let client = node.admin_client().await;
    let mut analyst = client.analyst();
    for id in &acknowledged {
        let view = analyst
            .get(proto::GetRequest {
                record_id: id.clone(),
            })
            .await;
        assert!(view.is_ok(), "acknowledged record {id} lost after kill -9");
        // The index entry came with it: the value finds the record.
        let value = view.unwrap().into_inner().indicator.unwrap().value;
        let found = analyst
            .search(proto::SearchRequest {
                value,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            found.records.iter().any(|r| &r.record_id == id),
            "index entry for {id} missing"
        );
    }
    let stored = client
        .admin()
        .show_identity(proto::ShowIdentityRequest {})
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(stored >= acknowledged.len() as u64);
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyst_certificate_is_accepted_for_analyst_calls_only() {
    let mut node = TestNode::init("Agency Roles (example)");
    node.start();
    let analyst_dir = node.issue("Analyst Example", "analyst");
    let client = node.client_with(&analyst_dir).await.expect("connect");
    let published = client
        .analyst()
        .publish(proto::PublishRequest {
            kind: proto::IndicatorKind::Email as i32,
            value: "Recruiter@Example.ORG".into(),
            tlp: proto::Tlp::Green as i32,
            ..Default::default()
        })
        .await
        .expect("analyst may publish")
        .into_inner();
    assert_eq!(published.normalized_value, "recruiter@example.org");
    let denied = client
        .admin()
        .list_partners(proto::ListPartnersRequest {})
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_from_another_agency_ca_is_refused_at_first_call() {
    let mut node = TestNode::init("Agency Home (example)");
    let stranger = TestNode::init("Agency Stranger (example)");
    node.start();
    let foreign = stranger.issue("Mallory Example", "admin");
    // Trust the right server certificate, but present a certificate from another CA.
    std::fs::copy(node.dir().join("tls/node.crt"), foreign.join("node.crt")).unwrap();
    let outcome = match node.client_with(&foreign).await {
        Err(_) => Err(()),
        Ok(client) => client
            .analyst()
            .search(proto::SearchRequest {
                value: "+447700900123".into(),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(|_| ()),
    };
    assert!(
        outcome.is_err(),
        "a foreign certificate must not get an answer"
    );
    // The node logs the refusal as the client reads its alert: wait for the line.
    assert!(
        crate::common::eventually(crate::common::WAIT, || node
            .log()
            .contains("TLS handshake refused")),
        "{}",
        node.log()
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_is_refused() {
    use std::sync::Arc;
    let mut node = TestNode::init("Agency NoCert (example)");
    node.start();
    let server_cert = liaison::identity::read_pem_cert(&node.dir().join("tls/node.crt")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(server_cert))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(liaison::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(node.address())
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from(liaison::identity::NODE_CERT_NAME).unwrap();
    // In TLS 1.3 the client learns of the refusal when it next reads.
    let refused = match connector.connect(name, tcp).await {
        Err(_) => true,
        Ok(mut tls) => {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
            let mut buf = [0u8; 64];
            !matches!(tls.read(&mut buf).await, Ok(n) if n > 0)
        }
    };
    assert!(
        refused,
        "a connection without a client certificate was served"
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_analyst_certificate_is_refused_on_open_and_new_connections() {
    let mut node = TestNode::init("Agency Lost Laptop (example)");
    node.start();
    let laptop = node.issue("Analyst Lost Laptop", "analyst");
    let kept = node.issue("Analyst Kept", "analyst");
    let open = node.client_with(&laptop).await.expect("connect");
    let search = || proto::SearchRequest {
        value: "192.0.2.55".into(),
        ..Default::default()
    };
    open.analyst()
        .search(search())
        .await
        .expect("works before revocation");
    let cert = laptop.join("client.crt");
    node.cli_ok(&["client", "revoke", "--cert", cert.to_str().unwrap()]);
    // The connection it already holds gets nothing more…
    let refused = open.analyst().search(search()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    // …a new one fails, and the revocation survives a restart.
    node.stop();
    node.start();
    let again = match node.client_with(&laptop).await {
        Err(_) => true,
        Ok(client) => client.analyst().search(search()).await.is_err(),
    };
    assert!(again, "a revoked certificate was served after restart");
    let other = node.client_with(&kept).await.expect("connect");
    other
        .analyst()
        .search(search())
        .await
        .expect("other analysts are unaffected");
    assert!(std::fs::read_to_string(node.dir().join("audit.log"))
        .unwrap()
        .contains("client.revoke"));
    node.stop();
}
