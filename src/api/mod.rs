//! The JSON API under `/api/v1/`: the staged login (`login`, `login/stage1..3`, `logout`) and
//! the mount keys of the logged-in session (`mount-keys`). A session cookie carries the login;
//! every state-changing request (POST, DELETE) must echo the session's CSRF token in the
//! `X-CSRF-Token` header. Messages shown to users are French. The school's deposits
//! (`deposits`) stream their bodies and are routed to [`deposits`] before this module's
//! collected-body handler.

pub mod deposits;
pub(crate) mod keys;
pub mod reports;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dav_server::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use crate::audit::AuditEvent;
use crate::auth::session::{cookie_value, set_cookie, Session, SessionRole, Stage, CSRF_HEADER};
use crate::auth::{Attempt, LoginError};
use crate::server::App;

/// Where the API is mounted.
pub const API_PREFIX: &str = "/api/v1/";
/// Largest JSON body the API reads.
const MAX_BODY_BYTES: usize = 16 * 1024;
pub(crate) const CSRF_REFUSED: &str = "jeton CSRF manquant ou invalide : rechargez la page";
pub(crate) const NOT_LOGGED_IN: &str = "connexion requise";
pub(crate) const UNAVAILABLE: &str = "service momentanément indisponible";

/// A request as the API handlers see it.
pub(crate) struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub attempt: Attempt,
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let body = format!("{value}\n");
    let mut response = Response::new(Body::from(body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, json!({ "error": message }))
}

pub async fn handle(
    app: &Arc<App>,
    client: IpAddr,
    req: Request<Incoming>,
) -> (Response<Body>, Option<String>, u64) {
    let (parts, incoming) = req.into_parts();
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect());
    let limited = http_body_util::Limited::new(incoming, MAX_BODY_BYTES);
    let timeout = Duration::from_secs(app.config.body_timeout_secs.max(1));
    let body = match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => {
            return (
                error(StatusCode::PAYLOAD_TOO_LARGE, "requête trop longue"),
                None,
                0,
            )
        }
        Err(_) => return (error(StatusCode::REQUEST_TIMEOUT, "délai dépassé"), None, 0),
    };
    let received = body.len() as u64;
    let request = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts.headers,
        body,
        attempt: Attempt {
            client_ip: client.to_string(),
            user_agent,
        },
    };
    let (response, who) = match route(app, &request).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::error!(error = %err, path = %request.path, "API request failed");
            (error(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE), None)
        }
    };
    (response, who, received)
}

/// The session named by the request's cookie, if it is alive.
pub(crate) async fn current_session(
    app: &App,
    req: &ApiRequest,
) -> Result<Option<Session>, sqlx::Error> {
    session_from_headers(app, &req.headers).await
}

/// The session named by the cookie among `headers`, if it is alive (at any stage).
pub(crate) async fn session_from_headers(
    app: &App,
    headers: &http::HeaderMap,
) -> Result<Option<Session>, sqlx::Error> {
    let Some(id) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(cookie_value)
    else {
        return Ok(None);
    };
    app.login.sessions.find(id, app.login.now()).await
}

pub(crate) fn cookie_header(app: &App, id: &str) -> HeaderValue {
    let max_age = app.config.session_lifetime_secs as i64;
    HeaderValue::from_str(&set_cookie(id, max_age, app.tls.is_some()))
        .expect("cookie value is base64url")
}

/// Whether the request carries the session's CSRF token.
fn csrf_ok(req: &ApiRequest, session: &Session) -> bool {
    req.headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|token| csrf_ok_token(session, token))
}

/// Whether `token` (from a header or a form field) is the session's CSRF token.
pub(crate) fn csrf_ok_token(session: &Session, token: &str) -> bool {
    !token.is_empty() && session.csrf_matches(token)
}

fn audit_csrf(app: &App, req: &ApiRequest, session: Option<&Session>) {
    app.audit.record(AuditEvent {
        event: "csrf_refused",
        outcome: "refused",
        principal: session.and_then(|s| s.agent.clone()),
        method: Some(req.method.to_string()),
        path: Some(req.path.clone()),
        status: Some(403),
        client_ip: Some(req.attempt.client_ip.clone()),
        user_agent: req.attempt.user_agent.clone(),
        ..AuditEvent::default()
    });
}

/// What the login state looks like to the client.
fn state_json(session: &Session) -> serde_json::Value {
    json!({
        "stage": session.stage.next(),
        "logged_in": session.stage == Stage::Done,
        "csrf_token": session.csrf,
        "personal_id": session.agent,
        "account": session.account,
        "role": session.role.as_ref().map(SessionRole::name),
        "rne": match &session.role {
            Some(SessionRole::School(rne)) => Some(rne.to_string()),
            _ => None,
        },
        "helpdesk": session.helpdesk,
    })
}

pub(crate) type Answer = (Response<Body>, Option<String>);

async fn route(app: &Arc<App>, req: &ApiRequest) -> Result<Answer, sqlx::Error> {
    let rest = req.path.strip_prefix(API_PREFIX).unwrap_or_default();
    let session = current_session(app, req).await?;
    if rest == "login" && req.method == Method::GET {
        return login_state(app, session).await;
    }
    let changing = req.method == Method::POST || req.method == Method::DELETE;
    if changing && !session.as_ref().is_some_and(|s| csrf_ok(req, s)) {
        audit_csrf(app, req, session.as_ref());
        return Ok((error(StatusCode::FORBIDDEN, CSRF_REFUSED), None));
    }
    match (req.method.as_str(), rest, session) {
        ("POST", "login/stage1" | "login/stage2" | "login/stage3", Some(session)) => {
            stage(app, req, rest, session).await
        }
        ("POST", "logout", Some(session)) => {
            if let Err(err) = app.login.logout(&session, &req.attempt).await {
                tracing::error!(error = %err, "logout failed");
            }
            let mut response = json_response(StatusCode::OK, json!({ "logged_out": true }));
            let expired = HeaderValue::from_str(&set_cookie("", 0, app.tls.is_some()))
                .expect("static cookie");
            response.headers_mut().insert(header::SET_COOKIE, expired);
            Ok((response, session.agent))
        }
        (_, "mount-keys", session) | (_, "mount-keys/", session) => {
            keys::collection(app, req, session).await
        }
        (_, other, session) if other.starts_with("mount-keys/") => {
            let id = &other["mount-keys/".len()..];
            keys::item(app, req, session, id).await
        }
        _ => Ok((error(StatusCode::NOT_FOUND, "introuvable"), None)),
    }
}

/// `GET /api/v1/login`: the session's stage and CSRF token, creating the session if needed.
async fn login_state(app: &App, session: Option<Session>) -> Result<Answer, sqlx::Error> {
    if let Some(session) = session {
        let who = session.agent.clone();
        return Ok((json_response(StatusCode::OK, state_json(&session)), who));
    }
    let lifetime = app.login.login_window_secs();
    let (id, session) = app.login.sessions.create(app.login.now(), lifetime).await?;
    let mut response = json_response(StatusCode::OK, state_json(&session));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie_header(app, &id));
    Ok((response, None))
}

#[derive(Deserialize)]
struct StageBody {
    #[serde(default)]
    personal_id: String,
    #[serde(default)]
    passcode: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    password: String,
}

/// `POST /api/v1/login/stageN`.
async fn stage(
    app: &App,
    req: &ApiRequest,
    which: &str,
    mut session: Session,
) -> Result<Answer, sqlx::Error> {
    let Ok(body) = serde_json::from_slice::<StageBody>(&req.body) else {
        let message = "corps JSON attendu";
        return Ok((error(StatusCode::BAD_REQUEST, message), session.agent));
    };
    let login = &app.login;
    let at = &req.attempt;
    let mut new_cookie = None;
    let result = match which {
        "login/stage1" => {
            login
                .stage1(&mut session, &body.personal_id, &body.passcode, at)
                .await
        }
        "login/stage2" => login.stage2(&mut session, &body.passcode, at).await,
        _ => login
            .stage3(&mut session, &body.account, &body.password, at)
            .await
            .map(|cookie| new_cookie = Some(cookie)),
    };
    let who = session.agent.clone();
    let response = match result {
        Ok(()) => {
            let mut response = json_response(StatusCode::OK, state_json(&session));
            if let Some(cookie) = new_cookie {
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, cookie_header(app, &cookie));
            }
            response
        }
        Err(err) => {
            let status = match &err {
                LoginError::Refused { .. } | LoginError::Expired => StatusCode::UNAUTHORIZED,
                LoginError::Locked => StatusCode::TOO_MANY_REQUESTS,
                other => {
                    tracing::error!(error = %other, stage = which, "login stage failed");
                    return Ok((error(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE), who));
                }
            };
            let message = err.to_string();
            json_response(
                status,
                json!({ "error": message, "stage": session.stage.next() }),
            )
        }
    };
    Ok((response, who))
}

/// The session if it is logged in.
pub(crate) fn logged_in(session: Option<Session>) -> Option<Session> {
    session.filter(|s| s.stage == Stage::Done)
}

/// The answer to a request that needs a login.
pub(crate) fn not_logged_in() -> Answer {
    (error(StatusCode::UNAUTHORIZED, NOT_LOGGED_IN), None)
}
