//! One WebDAV request: path checks, Basic authentication with a mount key, the role rules that
//! need no file system (the crisis cell writes nothing, a school makes no folders and moves
//! nothing unless the policy allows it), small XML bodies read and checked, then the crate's
//! handler over `DepositFs`. Every error leaves with a status and a French reason.

use std::net::IpAddr;
use std::sync::Arc;

use dav_server::body::Body;
use dav_server::DavHandler;
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::app::App;
use super::body::{read_small, GuardedBody};
use super::messages;
use super::paths::check_raw_path;
use super::router::{text, DAV_PREFIX};
use super::xml_guard::{too_deep, MAX_XML_DEPTH};
use crate::audit::AuditEvent;
use crate::auth::refusal_audit::{self, Verdict};
use crate::auth::{parse_basic, KeyUse, Principal, Role};
use crate::dav::{DavContext, DepositLs, PropfindAsk};
use crate::deposit::Actor;

/// Read size for GET: large reads keep the thread hops per byte low.
const READ_BUF_BYTES: usize = 256 * 1024;
/// Largest XML body of PROPFIND or PROPPATCH (the crate's own limit).
const MAX_XML_BODY_BYTES: usize = 64 * 1024;
/// Largest LOCK body: a lock owner is a name or a URL, and every lock is kept in memory.
const MAX_LOCK_BODY_BYTES: usize = 8 * 1024;
/// Longest `Authorization` header a real account and key can make.
const MAX_AUTH_HEADER_BYTES: usize = 512;
const CHALLENGE: &str = "Basic realm=\"ppms-depot\", charset=\"UTF-8\"";
const READ_ONLY: &str = "accès en lecture seule : la cellule de crise ne dépose rien";
const NO_FOLDERS: &str = "les dossiers sont créés automatiquement au premier dépôt";
const NO_MOVE: &str = "déplacement, renommage et copie interdits : un dépôt est conservé";

fn header_text(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn is_read_method(method: &Method) -> bool {
    matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "PROPFIND")
}

/// An account name fit for the audit trail: bounded, and never something shaped like a mount
/// key (a key typed in the user-name field must not end up in a log).
fn loggable_account(account: &str) -> String {
    let compact: String = account.chars().filter(|c| *c != '-').collect();
    let key_like = compact.len() >= 24
        && compact
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c));
    if key_like {
        return "[masqué]".into();
    }
    account.chars().take(64).collect()
}

/// The refusal a role rule gives before the file system is asked, if any.
fn role_refusal(app: &App, principal: &Principal, method: &Method) -> Option<&'static str> {
    if principal.role == Role::CrisisCell {
        return (!is_read_method(method)).then_some(READ_ONLY);
    }
    let policy = app.fs.policy();
    match method.as_str() {
        "MKCOL" if !policy.allow_subfolders => Some(NO_FOLDERS),
        "MOVE" | "COPY" if !policy.allow_move_copy => Some(NO_MOVE),
        _ => None,
    }
}

pub async fn handle(
    app: &Arc<App>,
    client: IpAddr,
    req: Request<Incoming>,
) -> (Response<Body>, Option<String>, u64) {
    let user_agent = header_text(&req, "user-agent");
    let client_ip = client.to_string();
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
    let ctx = DavContext::new(principal, actor, method.clone());
    if let Some(message) = role_refusal(app, &ctx.principal, &method) {
        audit_denial(app, &ctx, &method, req.uri().path(), 403, message);
        return (text(StatusCode::FORBIDDEN, message), Some(account), 0);
    }

    let (mut parts, incoming) = req.into_parts();
    super::range_guard::tame_range(&mut parts.headers);
    let streamed = matches!(method.as_str(), "PUT" | "PATCH");
    let mut xml_body = bytes::Bytes::new();
    let (body, watch) = if streamed {
        let announced = announced_length(&parts.headers);
        let min_rate = app.config.body_min_rate_bytes_per_sec;
        let (body, watch) = GuardedBody::streaming(incoming, app.body_timeout, min_rate, announced);
        (body, Some(watch))
    } else {
        let max = if method.as_str() == "LOCK" {
            MAX_LOCK_BODY_BYTES
        } else {
            MAX_XML_BODY_BYTES
        };
        match read_small(incoming, app.body_timeout, max).await {
            Ok(bytes) if too_deep(&bytes, MAX_XML_DEPTH) => {
                let message = "XML trop imbriqué";
                tracing::warn!(account = %account, "request XML nested too deep");
                return (
                    text(StatusCode::BAD_REQUEST, message),
                    Some(account),
                    bytes.len() as u64,
                );
            }
            Ok(bytes) => {
                xml_body = bytes.clone();
                (GuardedBody::buffered(bytes), None)
            }
            Err(fault) => {
                let (status, message) = match fault {
                    super::body::BodyFault::TooLong => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "corps de requête trop volumineux",
                    ),
                    other => messages::for_body_fault(other),
                };
                return (text(status, message), Some(account), 0);
            }
        }
    };
    if method.as_str() == "PROPFIND" {
        if let Some(answer) = propfind_here(app, &parts, &xml_body, &ctx) {
            return (answer, Some(account), xml_body.len() as u64);
        }
    }
    let req = Request::from_parts(parts, body);
    let path = req.uri().path().to_string();

    let handler = DavHandler::builder()
        .filesystem(Box::new(app.fs.clone()))
        .locksystem(Box::new(DepositLs::new(
            app.locks.clone(),
            app.lock_quota.clone(),
            app.fs.clone(),
            ctx.clone(),
        )))
        .strip_prefix(DAV_PREFIX)
        .read_buf_size(READ_BUF_BYTES)
        .build_handler();
    let response = handler
        .handle_guarded(req, account.clone(), ctx.clone())
        .await;
    let received = watch.as_ref().map(|w| w.received()).unwrap_or(0);
    if response.status().as_u16() < 400 {
        if method.as_str() == "PROPPATCH" {
            let relative = path.strip_prefix(DAV_PREFIX).unwrap_or(&path);
            if let Ok(dav_path) = dav_server::davpath::DavPath::new(relative) {
                app.fs.apply_client_time(&dav_path, &xml_body, &ctx);
            }
        }
        return (with_location(app, &ctx, response), Some(account), received);
    }
    if let Some(fault) = watch.as_ref().and_then(|w| w.fault()) {
        let (status, message) = messages::for_body_fault(fault);
        return (closing(text(status, message)), Some(account), received);
    }
    if let Some(denial) = ctx.denial() {
        let status = StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN);
        if denial.status == 403 || denial.status == 400 {
            // Deposit refusals are audited by the deposit service; these are the others.
            audit_denial(app, &ctx, &method, &path, denial.status, &denial.message);
        }
        return (
            closing(text(status, &denial.message)),
            Some(account),
            received,
        );
    }
    (with_reason(response), Some(account), received)
}

/// A PROPFIND of Depth 0 or 1 answered without the crate (see `dav::propfind`), or `None`.
fn propfind_here(
    app: &App,
    parts: &http::request::Parts,
    body: &[u8],
    ctx: &DavContext,
) -> Option<Response<Body>> {
    let depth = parts.headers.get("depth")?.to_str().ok()?.trim();
    let depth_one = match depth {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let ask = PropfindAsk {
        uri_path: parts.uri.path(),
        prefix: DAV_PREFIX,
        depth_one,
        body,
        user_agent,
        locks_idle: app.lock_quota.none_held(),
    };
    let answer = app.fs.propfind(&ask, ctx)?;
    let length = answer.body.len();
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::MULTI_STATUS;
    let headers = response.headers_mut();
    let value = http::HeaderValue::from_static;
    headers.insert(header::CACHE_CONTROL, value("no-cache"));
    headers.insert(header::PRAGMA, value("no-cache"));
    headers.insert(
        header::CONTENT_TYPE,
        value("application/xml; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from(length));
    if let Some(location) = answer.content_location {
        if let Ok(location) = http::HeaderValue::from_str(&location) {
            headers.insert(header::CONTENT_LOCATION, location);
        }
    }
    Some(response)
}

/// Tells the client where its deposit went (`Content-Location`), since the name it used is not
/// the stored one.
fn with_location(app: &App, ctx: &DavContext, mut response: Response<Body>) -> Response<Body> {
    let (Some(rel), Some(rne)) = (ctx.stored(), ctx.principal.school_rne()) else {
        return response;
    };
    let directory = app.fs.directory();
    let (Some(school), Some(folder)) = (directory.get(rne), directory.folder_name(rne)) else {
        return response;
    };
    let encode = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let rel: Vec<String> = rel.split('/').map(encode).collect();
    let href = format!(
        "{DAV_PREFIX}/{}/{}/{}",
        encode(&school.postal_code),
        encode(folder),
        rel.join("/")
    );
    if let Ok(value) = http::HeaderValue::from_str(&href) {
        response
            .headers_mut()
            .insert(header::CONTENT_LOCATION, value);
    }
    response
}

fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    response
}

/// Gives an empty error response from the crate its French reason, keeping its headers.
fn with_reason(response: Response<Body>) -> Response<Body> {
    let empty = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0");
    if !empty {
        return response;
    }
    let mut answer = text(response.status(), messages::for_status(response.status()));
    for (name, value) in response.headers() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// `X-Expected-Entity-Length` bounds a chunked body that has no `Content-Length` (Finder).
fn announced_length(headers: &http::HeaderMap) -> Option<u64> {
    if headers.contains_key(header::CONTENT_LENGTH) {
        return None;
    }
    headers
        .get("x-expected-entity-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
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
    if header_value.len() > MAX_AUTH_HEADER_BYTES {
        return Err(challenge("en-tête d'authentification trop long"));
    }
    let Some((account, secret)) = parse_basic(&header_value) else {
        return Err(challenge("en-tête d'authentification illisible"));
    };
    let used = KeyUse {
        client_ip,
        user_agent,
    };
    match app.keys.verify_use(&account, &secret, &used).await {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => {
            let now = std::time::Instant::now();
            if let Verdict::Write { skipped } = app.refused_keys.refused(client_ip, now) {
                let shown = loggable_account(&account);
                tracing::warn!(account = %shown, client_ip, skipped, "mount key refused");
                app.audit.record(AuditEvent {
                    event: "auth_failed",
                    outcome: "refused",
                    principal: Some(shown),
                    reason: Some(refusal_audit::reason(skipped)),
                    client_ip: Some(client_ip.to_string()),
                    user_agent: user_agent.map(|ua| ua.chars().take(200).collect()),
                    ..AuditEvent::default()
                });
            }
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

fn audit_denial(app: &App, ctx: &DavContext, method: &Method, path: &str, status: u16, why: &str) {
    app.audit.record(AuditEvent {
        event: "denied",
        outcome: "refused",
        principal: Some(ctx.principal.account.clone()),
        role: Some(ctx.principal.role_name()),
        rne: ctx.principal.school_rne().map(|r| r.to_string()),
        method: Some(method.to_string()),
        path: Some(path.chars().take(512).collect()),
        status: Some(status),
        reason: Some(why.to_string()),
        client_ip: ctx.actor.client_ip.clone(),
        user_agent: ctx.actor.user_agent.clone(),
        ..AuditEvent::default()
    });
}

#[cfg(test)]
mod tests {
    use super::loggable_account;

    #[test]
    fn keys_never_reach_the_log_as_accounts() {
        assert_eq!(loggable_account("ce.0752401C"), "ce.0752401C");
        assert_eq!(
            loggable_account("ggxs-k47e-ol56-qiyj-qjwv-wzra-tg4d-5wik"),
            "[masqué]"
        );
        assert_eq!(loggable_account(&"É".repeat(500)).chars().count(), 64);
    }
}
