//! The node caches a verified analyst certificate per TLS connection (issue 26),
//! but checks the deny list on every call: revoking a certificate refuses the
//! very next call of a connection that is already open and already verified,
//! while another analyst's open connection goes on being served.

use crate::common::TestNode;
use liaison::proto;

fn search(value: &str) -> proto::SearchRequest {
    proto::SearchRequest {
        value: value.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_refuses_the_next_call_of_an_open_connection() {
    let mut node = TestNode::init("Agency Open Connection (example)");
    node.start();
    let lost = node.issue("Analyst Open Laptop", "analyst");
    let kept = node.issue("Analyst Other Laptop", "analyst");
    let lost_client = node.client_with(&lost).await.expect("connect");
    let kept_client = node.client_with(&kept).await.expect("connect");
    let mut lost_analyst = lost_client.analyst();
    let mut kept_analyst = kept_client.analyst();
    // Several calls on each connection: the certificate is verified and cached.
    for _ in 0..3 {
        lost_analyst
            .search(search("+447700900571"))
            .await
            .expect("served before the revocation");
        kept_analyst
            .search(search("+447700900571"))
            .await
            .expect("served");
    }

    let cert = lost.join("client.crt");
    node.cli_ok(&["client", "revoke", "--cert", cert.to_str().expect("path")]);

    // The same channel, the same connection: refused now, on its next call.
    let refused = lost_analyst
        .search(search("+447700900571"))
        .await
        .expect_err("a revoked certificate was served on its open connection");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("this client certificate was revoked by the node's admin"),
        "{}",
        refused.message()
    );
    // And on every later call, not just the first.
    assert!(lost_analyst.search(search("+447700900571")).await.is_err());
    // The other analyst's open connection is unaffected.
    kept_analyst
        .search(search("+447700900571"))
        .await
        .expect("another certificate is still served");
}
