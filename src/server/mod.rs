//! The HTTP listener: accepts connections (HTTP/1.1 and HTTP/2), bounds how many are served at
//! once, and hands each request to the router until shutdown is asked.

mod app;
mod body;
mod dav_face;
mod paths;
mod router;

pub use app::{load_directory, load_policy, open_keys, App};
pub use paths::check_raw_path;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Serves until `shutdown` completes, then stops accepting and lets open requests finish.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(app.config.max_connections.max(1)));
    let header_timeout = Duration::from_secs(app.config.header_timeout_secs.max(1));
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
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| router::route(app.clone(), peer, req));
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let io = TokioIo::new(stream);
            if let Err(err) = builder.serve_connection(io, service).await {
                tracing::debug!(peer = %peer, error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    tracing::info!("shutting down");
    Ok(())
}

/// Binds the configured address.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    TcpListener::bind(addr).await
}
