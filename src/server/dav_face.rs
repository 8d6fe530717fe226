//! One WebDAV request: path checks, Basic authentication with a mount key, the crisis cell's
//! read-only rule, then the crate's handler over `DepositFs`; a refusal the file system
//! explained is answered with its status and French reason, and audited.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use dav_server::body::Body;
use dav_server::DavHandler;
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::app::App;
use super::body::GuardedBody;
use super::paths::check_raw_path;
use super::router::{text, DAV_PREFIX};
use crate::audit::AuditEvent;
use crate::auth::{parse_basic, Principal, Role};
use crate::dav::{DavContext, DepositLs};
use crate::deposit::Actor;

/// Read size for GET: large reads keep the thread hops per byte low.
const READ_BUF_BYTES: usize = 256 * 1024;
const CHALLENGE: &str = "Basic realm=\"ppms-depot\", charset=\"UTF-8\"";

fn header_text(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn is_read_method(method: &Method) -> bool {
    matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "PROPFIND")
}

pub async fn handle(
    app: &Arc<App>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> (Response<Body>, Option<String>, u64) {
    let user_agent = header_text(&req, "user-agent");
    let client_ip = peer.ip().to_string();
    if let Err(bad) = check_raw_path(req.uri().path()) {
        tracing::warn!(path = %req.uri().path(), reason = bad.0, "bad path");
        return (text(StatusCode::BAD_REQUEST, bad.0), None, 0);
    }
    let principal = match authenticate(app, &req, &client_ip, user_agent.as_deref()).await {
        Ok(principal) => principal,
        Err(response) => return (response, None, 0),
    };
    let account = principal.account.clone();
    let method = req.method().clone();
    let actor = Actor {
        account: account.clone(),
        role: principal.role_name(),
        client_ip: Some(client_ip),
        user_agent,
    };
    if principal.role == Role::CrisisCell && !is_read_method(&method) {
        let message = "accès en lecture seule : la cellule de crise ne dépose rien";
        audit_denial(app, &principal, &actor, &req, 403, message);
        return (text(StatusCode::FORBIDDEN, message), Some(account), 0);
    }
    let ctx = DavContext::new(principal, actor, method);
    let announced = announced_length(&req);
    let (parts, incoming) = req.into_parts();
    let (body, received) = GuardedBody::new(incoming, app.body_timeout, announced);
    let req = Request::from_parts(parts, body);
    let (method, path) = (req.method().clone(), req.uri().path().to_string());

    let handler = DavHandler::builder()
        .filesystem(Box::new(app.fs.clone()))
        .locksystem(Box::new(DepositLs::new(
            app.locks.clone(),
            app.fs.clone(),
            ctx.clone(),
        )))
        .strip_prefix(DAV_PREFIX)
        .read_buf_size(READ_BUF_BYTES)
        .build_handler();
    let response = handler
        .handle_guarded(req, account.clone(), ctx.clone())
        .await;
    let received = received.load(Ordering::Relaxed);

    if response.status().as_u16() >= 400 {
        if let Some(denial) = ctx.denial() {
            let status = StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN);
            if denial.status == 403 || denial.status == 400 {
                // Deposit refusals are audited by the deposit service; these are the others.
                app.audit.record(AuditEvent {
                    event: "denied",
                    outcome: "refused",
                    principal: Some(ctx.principal.account.clone()),
                    role: Some(ctx.principal.role_name()),
                    rne: ctx.principal.school_rne().map(|r| r.to_string()),
                    method: Some(method.to_string()),
                    path: Some(path),
                    status: Some(denial.status),
                    reason: Some(denial.message.clone()),
                    client_ip: ctx.actor.client_ip.clone(),
                    user_agent: ctx.actor.user_agent.clone(),
                    ..AuditEvent::default()
                });
            }
            let mut answer = text(status, &denial.message);
            answer
                .headers_mut()
                .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
            return (answer, Some(account), received);
        }
    }
    (response, Some(account), received)
}

/// `X-Expected-Entity-Length` bounds a chunked body that has no `Content-Length` (Finder).
fn announced_length(req: &Request<Incoming>) -> Option<u64> {
    if req.headers().contains_key(header::CONTENT_LENGTH) {
        return None;
    }
    header_text(req, "x-expected-entity-length").and_then(|v| v.trim().parse().ok())
}

async fn authenticate(
    app: &Arc<App>,
    req: &Request<Incoming>,
    client_ip: &str,
    user_agent: Option<&str>,
) -> Result<Principal, Response<Body>> {
    let challenge = |message: &str| {
        let mut response = text(StatusCode::UNAUTHORIZED, message);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static(CHALLENGE),
        );
        response
    };
    let Some(header_value) = header_text(req, "authorization") else {
        return Err(challenge("identifiant et clé de montage requis"));
    };
    let Some((account, secret)) = parse_basic(&header_value) else {
        return Err(challenge("en-tête d'authentification illisible"));
    };
    match app.keys.verify(&account, &secret).await {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => {
            tracing::warn!(account = %account, client_ip, "mount key refused");
            app.audit.record(AuditEvent {
                event: "auth_failed",
                outcome: "refused",
                principal: Some(account),
                reason: Some("unknown, revoked or expired mount key".into()),
                client_ip: Some(client_ip.to_string()),
                user_agent: user_agent.map(str::to_string),
                ..AuditEvent::default()
            });
            Err(challenge("identifiant ou clé de montage refusé"))
        }
        Err(err) => {
            tracing::error!(error = %err, "key store unavailable");
            Err(text(
                StatusCode::SERVICE_UNAVAILABLE,
                "service momentanément indisponible",
            ))
        }
    }
}

fn audit_denial(
    app: &App,
    principal: &Principal,
    actor: &Actor,
    req: &Request<Incoming>,
    status: u16,
    message: &str,
) {
    app.audit.record(AuditEvent {
        event: "denied",
        outcome: "refused",
        principal: Some(principal.account.clone()),
        role: Some(principal.role_name()),
        rne: principal.school_rne().map(|r| r.to_string()),
        method: Some(req.method().to_string()),
        path: Some(req.uri().path().to_string()),
        status: Some(status),
        reason: Some(message.to_string()),
        client_ip: actor.client_ip.clone(),
        user_agent: actor.user_agent.clone(),
        ..AuditEvent::default()
    });
}
