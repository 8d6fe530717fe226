//! `/api/v1/deposits`: a logged-in school's deposits from the browser. `GET` lists them;
//! `PUT /api/v1/deposits/{name}?kind=<id>` streams one file through the deposit service (the
//! path a WebDAV PUT takes), never holding the body in memory. The router sends these paths
//! here before the generic API, whose handler collects small bodies. The listing and the actor
//! of a school session are shared with the portal's "PPMS et plans" page.

use std::net::IpAddr;
use std::sync::Arc;

use dav_server::body::Body;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::json;

use super::{error, json_response, CSRF_REFUSED, NOT_LOGGED_IN, UNAVAILABLE};
use crate::auth::session::{Session, SessionRole, Stage, CSRF_HEADER};
use crate::deposit::{Actor, DepositError};
use crate::directory::Rne;
use crate::server::{App, BodyFault, GuardedBody};
use crate::storage::StoreError;

/// The collection's path.
pub const DEPOSITS_PATH: &str = "/api/v1/deposits";
/// Refusal of a logged-in account that is not a school's.
pub(crate) const SCHOOLS_ONLY: &str =
    "réservé aux établissements : ce compte ne dépose pas de plans";
/// Longest user agent kept in the audit trail.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Whether the router sends `path` here.
pub fn is_deposits_path(path: &str) -> bool {
    path == DEPOSITS_PATH
        || path
            .strip_prefix(DEPOSITS_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// One stored name of a school as the page table and the JSON list show it (latest version).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DepositRow {
    pub stored_name: String,
    pub bytes: u64,
    /// RFC 3339 time (UTC) the latest version was received.
    pub deposited_at: String,
    pub sha256: String,
    /// The plan kind declared with the latest version (`None` for WebDAV deposits).
    pub kind: Option<String>,
    /// What users read for the kind: the declared one's label, else the one the name suggests.
    pub kind_label: String,
    /// Number of the latest version.
    pub version: u32,
    /// How many versions are kept.
    pub versions: u32,
}

/// The school's deposits, sorted by stored name.
pub(crate) fn listing(app: &App, rne: &Rne) -> Result<Vec<DepositRow>, StoreError> {
    let depositor = app.fs.depositor();
    let store = depositor.store();
    if !store.has_deposits(rne) {
        return Ok(Vec::new());
    }
    let policy = depositor.policy();
    let mut rows = Vec::new();
    for file in store.list(rne)? {
        let versions = store.versions(rne, &file.path)?;
        let latest = versions.last();
        let kind = latest.and_then(|r| r.kind.clone());
        let kind_id = crate::report::kind::kind_of(kind.as_deref(), &file.name, policy);
        let kind_label = policy
            .plan_kind(&kind_id)
            .map_or(kind_id.clone(), |k| k.label.clone());
        rows.push(DepositRow {
            stored_name: file.path.clone(),
            bytes: file.bytes,
            deposited_at: latest.map(|r| r.deposited_at.clone()).unwrap_or_default(),
            sha256: file.sha256.clone(),
            kind,
            kind_label,
            version: file.version,
            versions: file.versions_kept,
        });
    }
    rows.sort_by(|a, b| a.stored_name.cmp(&b.stored_name));
    Ok(rows)
}

/// The establishment a logged-in session deposits for, `None` for other roles.
pub(crate) fn school_of(session: &Session) -> Option<&Rne> {
    match (&session.stage, &session.role) {
        (Stage::Done, Some(SessionRole::School(rne))) => Some(rne),
        _ => None,
    }
}

/// The audit trail's actor for a school session's deposit from `client`.
pub(crate) fn actor(session: &Session, client: IpAddr, headers: &http::HeaderMap) -> Actor {
    Actor {
        account: session.account.clone().unwrap_or_default(),
        role: "school",
        client_ip: Some(client.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(MAX_USER_AGENT_CHARS).collect()),
    }
}

/// The JSON error of a refused deposit, with its status.
pub(crate) fn deposit_error(err: &DepositError) -> Response<Body> {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error(status, &err.message_fr())
}

/// The status and French message of a body that failed while streaming.
pub(crate) fn body_fault(fault: Option<BodyFault>) -> (StatusCode, &'static str) {
    match fault {
        Some(BodyFault::TimedOut) => (
            StatusCode::REQUEST_TIMEOUT,
            "envoi trop lent ou interrompu : rien n'a été déposé",
        ),
        Some(BodyFault::TooLong) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "envoi plus long qu'annoncé : rien n'a été déposé",
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "envoi interrompu : rien n'a été déposé",
        ),
    }
}

/// The answer, the account to log, and the bytes received.
type Answer = (Response<Body>, Option<String>, u64);

/// `GET /api/v1/deposits` and `PUT /api/v1/deposits/{name}`.
pub async fn handle(app: &Arc<App>, client: IpAddr, req: Request<Incoming>) -> Answer {
    let session = match super::session_from_headers(app, req.headers()).await {
        Ok(session) => session.filter(|s| s.stage == Stage::Done),
        Err(err) => {
            tracing::error!(error = %err, "session lookup failed");
            return (error(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE), None, 0);
        }
    };
    let Some(session) = session else {
        return (error(StatusCode::UNAUTHORIZED, NOT_LOGGED_IN), None, 0);
    };
    let who = session.agent.clone();
    let path = req.uri().path().to_string();
    let name = path
        .strip_prefix(DEPOSITS_PATH)
        .and_then(|rest| rest.strip_prefix('/'));
    let method = req.method().clone();
    if method == Method::PUT && !csrf_ok(&session, req.headers()) {
        audit_csrf(app, &session, client, &req);
        return (error(StatusCode::FORBIDDEN, CSRF_REFUSED), who, 0);
    }
    let Some(rne) = school_of(&session).cloned() else {
        return (error(StatusCode::FORBIDDEN, SCHOOLS_ONLY), who, 0);
    };
    let (response, received) = match (method.as_str(), name) {
        ("GET", None | Some("")) => match listing(app, &rne) {
            Ok(rows) => (
                json_response(StatusCode::OK, json!({ "deposits": rows })),
                0,
            ),
            Err(err) => {
                tracing::error!(error = %err, rne = %rne, "listing deposits failed");
                (error(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE), 0)
            }
        },
        ("PUT", Some(name)) if !name.is_empty() => {
            let name = percent_decode_str(name).decode_utf8_lossy().into_owned();
            put(app, client, &session, &rne, &name, req).await
        }
        _ => (
            error(StatusCode::METHOD_NOT_ALLOWED, "méthode non autorisée"),
            0,
        ),
    };
    (response, who, received)
}

fn csrf_ok(session: &Session, headers: &http::HeaderMap) -> bool {
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|token| super::csrf_ok_token(session, token))
}

fn audit_csrf(app: &App, session: &Session, client: IpAddr, req: &Request<Incoming>) {
    app.audit.record(crate::audit::AuditEvent {
        event: "csrf_refused",
        outcome: "refused",
        principal: session.agent.clone(),
        method: Some(req.method().to_string()),
        path: Some(req.uri().path().to_string()),
        status: Some(403),
        client_ip: Some(client.to_string()),
        user_agent: actor(session, client, req.headers()).user_agent,
        ..crate::audit::AuditEvent::default()
    });
}

/// The value of `name` in a query string, percent-decoded.
pub(crate) fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| {
            percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// Streams one file into the deposit service; the answer and the bytes received.
// Limitation: a refusal known from the headers (kind, type, announced size or quota) is
// answered without reading the body, so a client still sending a large body may see the
// connection close before it reads the JSON reason (browsers generally do read it).
async fn put(
    app: &App,
    client: IpAddr,
    session: &Session,
    rne: &Rne,
    name: &str,
    req: Request<Incoming>,
) -> (Response<Body>, u64) {
    let kind = query_value(req.uri().query().unwrap_or_default(), "kind").unwrap_or_default();
    if kind.is_empty() {
        let message = "type de plan manquant (paramètre kind) : rien n'a été déposé";
        return (error(StatusCode::BAD_REQUEST, message), 0);
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let actor = actor(session, client, req.headers());
    let depositor = app.fs.depositor();
    let mut pending = match depositor.begin(actor, rne, name, announced).await {
        Ok(pending) => pending,
        Err(err) => return (deposit_error(&err), 0),
    };
    if let Err(err) = pending.declare_kind(&kind) {
        return (deposit_error(&err), 0);
    }
    let min_rate = app.config.body_min_rate_bytes_per_sec;
    let (mut body, watch) =
        GuardedBody::streaming(req.into_body(), app.body_timeout, min_rate, announced);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // Dropping the pending deposit stores nothing and audits the interruption.
            drop(pending);
            let (status, message) = body_fault(watch.fault());
            return (error(status, message), watch.received());
        };
        if let Ok(chunk) = frame.into_data() {
            if let Err(err) = pending.write(chunk).await {
                return (deposit_error(&err), watch.received());
            }
        }
    }
    let received = watch.received();
    match pending.finish_telling().await {
        Ok((stored, new_version)) => {
            let status = if new_version {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let body = json!({
                "stored_name": stored.path,
                "version": stored.version,
                "bytes": stored.bytes,
                "sha256": stored.sha256,
                "kind": kind,
                "new_version": new_version,
            });
            (json_response(status, body), received)
        }
        Err(err) => (deposit_error(&err), received),
    }
}
