//! Connecting to a running node as one of its users: the CLI with the admin
//! certificate from the node directory, or any tool with an issued certificate.
//! The node's certificate is pinned; nothing here opens the database.

use std::path::Path;

use tonic::transport::Channel;

use liaison_core::proto::{admin_client::AdminClient, analyst_client::AnalystClient};
use liaison_identity::identity::NodeDir;
use liaison_identity::identity::{read_pem_cert, read_pem_key};
use liaison_node::error::{Error, Result};
use liaison_server::config::NodeDirSetup;
use liaison_server::service::MAX_SYNC_MESSAGE_BYTES;

/// A connection to a node, with typed clients for its services.
#[derive(Clone)]
pub struct NodeClient {
    channel: Channel,
}

impl NodeClient {
    /// Connects to the node in `dir` as its admin (the CLI's identity).
    pub async fn for_dir(dir: &NodeDir) -> Result<NodeClient> {
        let config = dir.load_config()?;
        // A node listening on port 0 says where it is in DIR/node.addr.
        let address = match std::fs::read_to_string(dir.bound_address()) {
            Ok(bound) if config.node.listen.ends_with(":0") => bound.trim().to_string(),
            _ => local_address(&config.node.listen),
        };
        NodeClient::connect(
            &address,
            &dir.admin_cert(),
            &dir.admin_key(),
            &dir.tls_cert(),
        )
        .await
        .map_err(|e| match e {
            // It answered, and refused this certificate: not a reachability problem.
            Error::PermissionDenied(_) => e,
            e => Error::InvalidRequest(format!(
                "cannot reach the node at {address} ({e}); is `liaison run --dir {}` running?",
                dir.root.display()
            )),
        })
    }

    /// Connects with a client certificate and key (PEM files), trusting only the
    /// node certificate in `node_cert`.
    pub async fn connect(
        address: &str,
        cert: &Path,
        key: &Path,
        node_cert: &Path,
    ) -> Result<NodeClient> {
        let config = liaison_identity::tls::client_config(
            &read_pem_cert(cert)?,
            &read_pem_key(key)?,
            &read_pem_cert(node_cert)?,
        )?;
        let channel = liaison_node::channel::connect_now(address, config)
            .await?
            .map_err(|e| match liaison_identity::tls::revoked_by_peer(&e) {
                // The node's verifier sends this alert for a certificate its admin
                // revoked: say so, not "cannot connect".
                true => Error::PermissionDenied(format!(
                    "{address} refused the TLS handshake (alert certificate_revoked): {}; ask the admin for a new one",
                    liaison_identity::tls::REVOKED_CLIENT
                )),
                false => Error::Tls(format!("cannot connect to {address}: {e}")),
            })?;
        Ok(NodeClient { channel })
    }

    pub fn analyst(&self) -> AnalystClient<Channel> {
        AnalystClient::new(self.channel.clone()).max_decoding_message_size(MAX_SYNC_MESSAGE_BYTES)
    }

    pub fn admin(&self) -> AdminClient<Channel> {
        AdminClient::new(self.channel.clone())
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }
}

/// A wildcard listen address is reached on loopback.
fn local_address(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => listen.to_string(),
    }
}
