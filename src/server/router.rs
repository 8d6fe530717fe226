//! Routes a request: `/healthz`, `OPTIONS` anywhere (answered without credentials, revealing
//! nothing), the WebDAV face under `/dav/`, the portal's pages; and logs one line per request.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use dav_server::body::Body;
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::app::App;
use super::dav_face;
use super::forwarded::client_ip;

/// Where the WebDAV tree is mounted.
pub const DAV_PREFIX: &str = "/dav";

/// Methods the WebDAV face answers (some with 403 under the deposit rules).
const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, PROPFIND, PROPPATCH, LOCK, UNLOCK, MKCOL, DELETE, \
                     COPY, MOVE";

pub async fn route(
    app: Arc<App>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let client = client_ip(peer.ip(), &app.config.trusted_proxies, req.headers());
    let (response, principal, received) = dispatch(&app, client, req).await;
    let sent = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    tracing::info!(
        method = %method,
        path = %path,
        client = %client,
        principal = principal.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        bytes_in = received,
        bytes_out = sent,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(response)
}

async fn dispatch(
    app: &Arc<App>,
    client: IpAddr,
    req: Request<Incoming>,
) -> (Response<Body>, Option<String>, u64) {
    let path = req.uri().path();
    if req.method() == Method::OPTIONS {
        return (options(), None, 0);
    }
    if path == "/healthz" {
        return (text(StatusCode::OK, "ok\n"), None, 0);
    }
    if crate::api::reports::is_report_path(path) {
        return crate::api::reports::handle(app, client, req).await;
    }
    if crate::api::deposits::is_deposits_path(path) {
        return crate::api::deposits::handle(app, client, req).await;
    }
    if path.starts_with(crate::api::API_PREFIX) {
        return crate::api::handle(app, client, req).await;
    }
    if path == DAV_PREFIX || path.starts_with("/dav/") {
        return dav_face::handle(app, client, req).await;
    }
    // A browser asking for a page that does not exist gets the portal's 404 page.
    let reading = req.method() == Method::GET || req.method() == Method::HEAD;
    if crate::portal::is_portal_path(path) || reading {
        return crate::portal::handle(app, client, req).await;
    }
    (text(StatusCode::NOT_FOUND, "introuvable\n"), None, 0)
}

/// `OPTIONS` needs no credentials: Windows' first request has none and gives up on a 401.
fn options() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert("DAV", http::HeaderValue::from_static("1, 2"));
    headers.insert(header::ALLOW, http::HeaderValue::from_static(ALLOW));
    headers.insert("MS-Author-Via", http::HeaderValue::from_static("DAV"));
    headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from_static("0"));
    response
}

/// A plain-text answer (French message for the user).
pub fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut body = message.to_string();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let mut response = Response::new(Body::from(body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
    response
}
