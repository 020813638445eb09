//! Outgoing gRPC channels over pinned mutual TLS: how this node (or the CLI)
//! reaches a partner or its own node. The TLS rules themselves (which server
//! certificate is trusted) are `liaison_identity::tls`'s; this module only dials.
//! It must never build a rustls configuration of its own.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::Error;

/// A gRPC channel to `address` (host:port) over pinned mTLS. `lazy` channels
/// connect on first use and reconnect by themselves.
pub async fn connect_channel(
    address: &str,
    config: ClientConfig,
    lazy: bool,
) -> Result<Channel, Error> {
    dial(address, config, lazy)
        .await?
        .map_err(|e| Error::Tls(format!("cannot connect to {address}: {e}")))
}

/// Connects now. The outer error is a bad address; the inner one keeps the
/// transport's source chain (the partner's TLS alert, a refused connection)
/// for `partner_state` to name.
pub async fn connect_now(
    address: &str,
    config: ClientConfig,
) -> Result<Result<Channel, tonic::transport::Error>, Error> {
    dial(address, config, false).await
}

async fn dial(
    address: &str,
    config: ClientConfig,
    lazy: bool,
) -> Result<Result<Channel, tonic::transport::Error>, Error> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| Error::InvalidRequest(format!("bad address {address:?}: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10));
    let connector = TlsConnector::from(Arc::new(config));
    let target = address.to_string();
    let connect = tower::service_fn(move |_uri: Uri| {
        let connector = connector.clone();
        let target = target.clone();
        async move {
            let tcp = TcpStream::connect(&target).await?;
            tcp.set_nodelay(true)?;
            let name = ServerName::try_from(liaison_identity::identity::NODE_CERT_NAME)
                .map_err(std::io::Error::other)?;
            let tls = connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    Ok(match lazy {
        true => Ok(endpoint.connect_with_connector_lazy(connect)),
        false => endpoint.connect_with_connector(connect).await,
    })
}
