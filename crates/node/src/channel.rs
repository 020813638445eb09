//! Outgoing gRPC channels over pinned mutual TLS: how this node (or the CLI)
//! reaches a partner or its own node. The TLS rules themselves (which server
//! certificate is trusted) are `liaison_identity::tls`'s; this module only dials
//! (and waits for the server's first records, so that a refusal of our
//! certificate arrives as its TLS alert). It must never build a rustls
//! configuration of its own.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::Error;

/// How long to wait for the server's first records after the handshake
/// (well under the endpoint's 5 s connect timeout).
const FIRST_FLIGHT: Duration = Duration::from_secs(2);

/// In TLS 1.3 the client's handshake ends before the server has checked the
/// client's certificate, so a refusal (an alert such as `certificate_revoked`)
/// arrives afterwards; once hyper and h2 see it, only its text survives, or the
/// call is merely "canceled". Reading the server's first records here surfaces
/// the alert as the rustls error itself: a node that accepts the certificate
/// sends its session tickets at once (rustls's default), one that refuses it
/// sends the alert instead. Whatever arrives stays in the session for hyper.
async fn server_first_flight(
    tls: &mut tokio_rustls::client::TlsStream<TcpStream>,
) -> std::io::Result<()> {
    let (tcp, session) = tls.get_mut();
    let wait = async {
        loop {
            tcp.readable().await?;
            match session.read_tls(&mut TryRead(tcp)) {
                // Closed without an alert: the next layer reports it.
                Ok(0) => return Ok(()),
                Ok(_) => {
                    session
                        .process_new_packets()
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    };
    // A server that says nothing first is left to the layers above.
    tokio::time::timeout(FIRST_FLIGHT, wait)
        .await
        .unwrap_or(Ok(()))
}

/// Non-blocking reads for rustls's synchronous `read_tls`.
struct TryRead<'a>(&'a TcpStream);

impl std::io::Read for TryRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.try_read(buf)
    }
}

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
            let mut tls = connector.connect(name, tcp).await?;
            server_first_flight(&mut tls).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    Ok(match lazy {
        true => Ok(endpoint.connect_with_connector_lazy(connect)),
        false => endpoint.connect_with_connector(connect).await,
    })
}
