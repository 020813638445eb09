//! Pin hijack (a bundle or a TLS rotation statement carrying another partner's
//! certificate or the victim's own) and a revoked partner coming back.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_or_rotation_carrying_another_certificate_is_refused() {
    let mut victim = TestNode::init(VICTIM);
    let mut direct = TestNode::init(DIRECT);
    victim.start();
    direct.start();
    victim.enroll(&direct, "green", false);
    direct.enroll(&victim, "green", false);
    let direct_cert = identity_of(&direct.node_dir()).tls_cert_der;
    let victim_cert = identity_of(&victim.node_dir()).tls_cert_der;

    // Enrollment: a new agency's bundle carrying the direct partner's
    // certificate, or the victim's own.
    let hijacker = fresh_identity("Agency Hijack (example)");
    for (cert, reason) in [
        (&direct_cert, "already enrolled for another partner"),
        (&victim_cert, "this node's own TLS certificate"),
    ] {
        let claimed = with_cert(&hijacker, &hijacker.name, cert);
        let pem = Bundle::create(&claimed, vec!["127.0.0.1:9".into()], liaison::now_ms()).to_pem();
        let path = write_bundle(&victim, "hijack.pem", &pem);
        let out = victim.cli(&["partner", "add", &path, "--max-tlp", "green", "--yes"]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "a hijacking bundle was enrolled");
        assert!(said.contains(reason), "{said}");
    }
    let hijacker_id = hijacker.node_id().to_hex();
    let list = victim.cli_json(&["partner", "list"]);
    assert!(!list.to_string().contains(&hijacker_id), "{list}");
    let added: Vec<Value> = audit_entries(&victim, "partner.add");
    assert!(
        added.iter().all(|e| !e.to_string().contains(&hijacker_id)),
        "a refused enrollment is in the audit log as done: {added:?}"
    );

    // Rotation: an enrolled partner announcing a "new" certificate that is the
    // direct partner's, or the victim's own.
    let relay_dir = TestNode::init(RELAY);
    let relay = StepPeer::start(&relay_dir.node_dir(), &victim.node_dir()).await;
    enroll(&victim, &relay, &["--max-tlp", "green"]);
    let pin_before = partner_row(&victim, RELAY)["fingerprint"].clone();
    let mut client = FederationClient::new(relay.channel(&victim.address()).await.unwrap());
    client
        .ping(proto::PingRequest {})
        .await
        .expect("the partner is served");
    for (cert, code, reason) in [
        (
            &direct_cert,
            tonic::Code::AlreadyExists,
            "enrolled for another partner",
        ),
        (
            &victim_cert,
            tonic::Code::InvalidArgument,
            "this node's own TLS certificate",
        ),
    ] {
        let status = client
            .announce_tls_rotation(relay.rotation_to(cert))
            .await
            .expect_err("a hijacking rotation was accepted");
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(reason), "{status:?}");
    }
    let relay_short = &relay.identity.node_id().to_hex()[..8];
    let logged = victim.log();
    let refusals: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("partner's TLS rotation refused") && l.contains(relay_short))
        .collect();
    assert_eq!(
        refusals.len(),
        2,
        "refusals not logged against the partner:\n{logged}"
    );
    assert_eq!(partner_row(&victim, RELAY)["fingerprint"], pin_before);
    let rotated = audit_entries(&victim, "partner.tls_rotate");
    assert!(
        rotated.is_empty(),
        "a refused rotation is in the audit log as done: {rotated:?}"
    );
    // The direct partner's certificate still means the direct partner.
    let value = "+447700900921";
    let id = victim.publish("phone", value, "green", &[]);
    assert!(
        eventually(WAIT, || common::holds(&direct, value, &id)),
        "the direct partner no longer syncs; log:\n{}",
        victim.log()
    );
    // Control: a genuine rotation to a certificate of its own is taken.
    let fresh = fresh_identity(RELAY);
    client
        .announce_tls_rotation(relay.rotation_to(&fresh.tls_cert_der))
        .await
        .expect("a genuine rotation");
    assert_eq!(
        partner_row(&victim, RELAY)["fingerprint"],
        liaison::identity::fingerprint(&relay.identity.node_id(), &fresh.tls_cert_der)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_partner_is_refused_and_starts_from_zero_when_added_again() {
    let mut victim = TestNode::init(VICTIM);
    victim.start();
    let mine = victim.publish("phone", "+447700900931", "green", &[]);
    let relay_dir = TestNode::init(RELAY);
    let peer = StepPeer::start(&relay_dir.node_dir(), &victim.node_dir()).await;
    enroll(&victim, &peer, &["--max-tlp", "green"]);
    let key = peer.identity.signing_key.clone();
    let cursor = peer.send(Step {
        records: vec![record(&key, 1, "+447700900932")],
        origins: vec![],
    });
    settled(&victim, RELAY, cursor);

    // While enrolled: it pulls and searches.
    let channel = peer.channel(&victim.address()).await.unwrap();
    let mut client = FederationClient::new(channel);
    let mut stream = client
        .pull(proto::PullRequest {
            cursor: 0,
            ..Default::default()
        })
        .await
        .expect("pull while enrolled")
        .into_inner();
    let first = stream.message().await.unwrap().expect("a batch");
    assert!(first.records.iter().any(|r| id_of(r).to_hex() == mine));
    let query = || proto::FederatedQuery {
        queries: vec![proto::federated_query::Query {
            kind: proto::IndicatorKind::Phone as i32,
            value: "+447700900931".into(),
        }],
        analyst: "returning".into(),
        justification: "test".into(),
        case_reference: String::new(),
    };
    let answer = client.search(query()).await.expect("search while enrolled");
    assert_eq!(answer.get_ref().records.len(), 1);

    let peer_id = peer.identity.node_id().to_hex();
    victim.cli_ok(&["partner", "revoke", &peer_id]);
    // Its open stream ends; on the connection it kept, Pull and Search are refused.
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the open stream outlived the revocation");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
    // Not pinned any more, and not issued by the victim's CA: nothing, whatever
    // the call.
    let refused = |status: tonic::Status| {
        assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
        assert!(
            status.message().contains("partner enrollment revoked"),
            "{status:?}"
        );
    };
    refused(
        client
            .pull(proto::PullRequest {
                cursor: 0,
                ..Default::default()
            })
            .await
            .expect_err("pull after revocation"),
    );
    refused(
        client
            .search(query())
            .await
            .expect_err("search after revocation"),
    );
    // A new connection fails its handshake (the node names it in its log).
    let handshakes = victim.log().matches("TLS handshake refused").count();
    let reconnect = match peer.channel(&victim.address()).await {
        Ok(channel) => FederationClient::new(channel)
            .ping(proto::PingRequest {})
            .await
            .err()
            .map(|s| format!("{s:?}")),
        Err(e) => Some(e.to_string()),
    };
    assert!(reconnect.is_some(), "a revoked partner reconnected");
    assert!(
        eventually(WAIT, || victim
            .log()
            .matches("TLS handshake refused")
            .count()
            > handshakes),
        "the refused handshake is not in the log:\n{}",
        victim.log()
    );

    // Added again: the victim pulls from cursor 0, and the partner may pull
    // everything again.
    let pulls = peer.pulls();
    assert!(
        !pulls.is_empty() && pulls.iter().all(|c| *c <= 1),
        "{pulls:?}"
    );
    let cursor = peer.send(Step {
        records: vec![record(&key, 2, "+447700900933")],
        origins: vec![],
    });
    enroll(&victim, &peer, &["--max-tlp", "green"]);
    settled(&victim, RELAY, cursor);
    let again = &peer.pulls()[pulls.len()..];
    assert_eq!(
        again.first(),
        Some(&0),
        "re-added puller resumed at {again:?}"
    );
    let mut client = FederationClient::new(peer.channel(&victim.address()).await.unwrap());
    let mut stream = client
        .pull(proto::PullRequest {
            cursor: 0,
            ..Default::default()
        })
        .await
        .expect("pull after re-adding")
        .into_inner();
    let first = stream.message().await.unwrap().expect("a batch");
    assert!(first.records.iter().any(|r| id_of(r).to_hex() == mine));
    assert!(victim.search_ids("+447700900933").len() == 1);
}
