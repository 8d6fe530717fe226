//! The HTTP listener: accepts connections (HTTP/1.1 and HTTP/2), bounds how many are served at
//! once, and hands each request to the router until shutdown is asked.

mod app;
mod body;
mod dav_face;
mod forwarded;
mod limits;
mod messages;
pub mod one_file;
mod paths;
mod range_guard;
mod router;
mod tls;
mod xml_guard;

pub use app::{load_directory, load_policy, open_keys, open_state, App};
pub(crate) use body::{BodyFault, GuardedBody};
pub use paths::check_raw_path;
pub use range_guard::tame_range;
pub use tls::{self_signed, TlsState};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Most bytes hyper buffers per HTTP/1 connection. Above the 256 KiB chunks a download is
/// sent in (below that, GET ran ~30% slower: 2.0 against 2.85 GB/s measured), under hyper's
/// default (~400 KiB) to keep concurrent uploads' memory down (16 uploads: 28 MiB peak).
// Limitation: a hundred concurrent uploads still peak near 90 MiB (these buffers are per
// connection); capping them at 64 KiB halved that but cost downloads the 30% above.
const HTTP1_READ_BUFFER_BYTES: usize = 320 * 1024;

/// How often an idle HTTP/2 connection is pinged; one that does not answer is closed.
const HTTP2_PING_EVERY: Duration = Duration::from_secs(30);

/// Serves until `shutdown` completes, then stops accepting and lets open requests finish.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(app.config.max_connections.max(1)));
    let header_timeout = Duration::from_secs(app.config.header_timeout_secs.max(1));
    let per_ip = limits::PerIp::default();
    let mut shutdown = std::pin::pin!(shutdown);
    tracing::info!(addr = %listener.local_addr()?, "listening");
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("semaphore never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = per_ip.take(peer.ip(), app.config.max_connections_per_ip.max(1)) else {
            tracing::warn!(peer = %peer, "too many connections from one address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            // A connection that never speaks holds a place: it gets the header timeout to send
            // its first byte (protocol detection itself waits without limit).
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_timeout, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            match app.tls.as_ref().map(|tls| tls.acceptor()) {
                None => serve_io(app, peer, stream, header_timeout).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(header_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls_stream)) => serve_io(app, peer, tls_stream, header_timeout).await,
                        Ok(Err(err)) => {
                            tracing::debug!(peer = %peer, error = %err, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
                    }
                }
            }
            drop((permit, slot));
        });
    }
    tracing::info!("shutting down");
    Ok(())
}

/// Serves HTTP/1.1 or HTTP/2 on one connection, plain or TLS.
async fn serve_io<I>(app: Arc<App>, peer: SocketAddr, io: I, header_timeout: Duration)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| router::route(app.clone(), peer, req));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(HTTP1_READ_BUFFER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(HTTP2_PING_EVERY))
        .keep_alive_timeout(header_timeout);
    if let Err(err) = builder.serve_connection(TokioIo::new(io), service).await {
        tracing::debug!(peer = %peer, error = %err, "connection ended with an error");
    }
}

/// Reloads the TLS certificate on every SIGHUP, for as long as the server runs.
pub fn reload_tls_on_sighup(app: &Arc<App>) -> std::io::Result<()> {
    let Some(tls) = app.tls.clone() else {
        return Ok(());
    };
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if let Err(err) = tls.reload() {
                tracing::error!(error = %format!("{err:#}"), "TLS reload failed, keeping the old");
            }
        }
    });
    Ok(())
}

/// Binds the configured address.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    TcpListener::bind(addr).await
}
