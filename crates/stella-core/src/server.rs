//! Core's accept loop: plain TCP or TLS (rustls), HTTP/1.1 with a header-read timeout (a
//! client that trickles its headers is dropped), the peer address for anonymous quotas, and a
//! graceful shutdown that finishes the requests in flight within a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::ServiceExt as _;

use crate::Core;

/// How long shutdown waits for the requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the certificate or key.
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A TLS configuration from a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or
/// SEC1), for HTTP/1.1.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let file_err = |p: &std::path::Path, m: String| TlsError::File {
        path: p.display().to_string(),
        message: m,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_err(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(cert, format!("not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(file_err(cert, "no CERTIFICATE block in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| file_err(key, format!("not a PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Serves until `shutdown` completes, then finishes the requests in flight (at most 30 s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    core: Arc<Core>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = crate::router(core.clone());
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(core.config.header_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of file descriptors and the like: wait rather than spin
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let svc = app
            .clone()
            .map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            });
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let http = http.clone();
        let watcher = graceful.watcher();
        // a TLS handshake gets as long as the headers would
        let handshake = core.config.header_timeout;
        match &acceptor {
            None => {
                let conn = http.serve_connection(TokioIo::new(stream), svc);
                tokio::spawn(async move {
                    let _ = watcher.watch(conn).await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let tls = match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let conn = http.serve_connection(TokioIo::new(tls), svc);
                    let _ = watcher.watch(conn).await;
                });
            }
        }
    }
    drop(listener);
    core.stop_workers();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still running after {} s; stopping anyway", DRAIN.as_secs());
        }
    }
    Ok(())
}
