//! "Connexion" at `/connexion`, in the portal's shell, over the same login service and session
//! as the JSON API: the three stage forms, then the logged-in page "Connecter un lecteur
//! réseau" that mints a mount key (shown once), says how to map the drive on each system and
//! lists the account's keys with a button to revoke each. Every form posts its CSRF field.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dav_server::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;

mod drive;

use super::{esc, html_page, Answer, Nav};
use crate::api::keys;
use crate::api::{cookie_header, csrf_ok_token, current_session, ApiRequest};
use crate::api::{CSRF_REFUSED, UNAVAILABLE};
use crate::auth::session::{set_cookie, Session, SessionRole, Stage};
use crate::auth::{Attempt, LoginError};
use crate::server::App;

/// Where the forms live.
pub const PAGE: &str = "/connexion";
const MINT: &str = "/connexion/cle";
pub(super) const REVOKE: &str = "/connexion/revoquer";
const LOGOUT: &str = "/connexion/deconnexion";
/// Largest form body read (the stage fields, a label, a key id).
const MAX_FORM_BYTES: usize = 16 * 1024;
/// Longest user agent kept in the audit trail.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Whether `path` is one of the login pages.
pub(super) fn is_login_path(path: &str) -> bool {
    path == PAGE || path.starts_with("/connexion/")
}

/// The value of `name` in an `application/x-www-form-urlencoded` body.
pub(super) fn field(body: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| {
                percent_decode_str(&value.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
        .unwrap_or_default()
}

/// A page of this module: the shell with the navigation of `session`.
fn page(status: StatusCode, session: Option<&Session>, title: &str, body: &str) -> Response<Body> {
    html_page(status, title, Nav::for_session(session), body)
}

fn input(label: &str, name: &str, kind: &str, hint: &str) -> String {
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!("<br><span class=\"hint\" id=\"aide-{name}\">{hint}</span>")
    };
    let described = if hint.is_empty() {
        String::new()
    } else {
        format!(" aria-describedby=\"aide-{name}\"")
    };
    format!(
        "<p><label for=\"champ-{name}\">{label}</label>{hint}<br>\
         <input id=\"champ-{name}\" name=\"{name}\" type=\"{kind}\" required \
         autocomplete=\"off\"{described}></p>"
    )
}

pub(super) fn csrf_field(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

/// What a role is called on the page.
fn role_fr(role: Option<&SessionRole>) -> &'static str {
    match role {
        Some(SessionRole::School(_)) => "établissement",
        Some(SessionRole::CrisisCell) => "cellule de crise",
        Some(SessionRole::Helpdesk) => "assistance",
        None => "",
    }
}

/// The form of the session's next stage.
fn stage_form(session: &Session) -> String {
    let csrf = csrf_field(session);
    let form = |stage: u8, title: &str, fields: String| {
        let steps: String = (1..=3)
            .map(|n| {
                let class = match n.cmp(&stage) {
                    std::cmp::Ordering::Less => " class=\"done\"",
                    std::cmp::Ordering::Equal => " class=\"current\" aria-current=\"step\"",
                    std::cmp::Ordering::Greater => "",
                };
                format!("<li{class}>Étape {n}</li>")
            })
            .collect();
        format!(
            "<ol class=\"stages\" aria-label=\"Progression\">{steps}</ol>\
             <h2>Étape {stage} sur 3 : {title}</h2>\
             <form class=\"card\" method=\"post\" action=\"{PAGE}\">\
             {csrf}<input type=\"hidden\" name=\"stage\" value=\"{stage}\">{fields}\
             <p><button type=\"submit\">Valider</button></p></form>"
        )
    };
    match session.stage {
        Stage::Start => form(
            1,
            "identifiant et code",
            input(
                "Identifiant",
                "personal_id",
                "text",
                "Votre identifiant personnel.",
            ) + &input(
                "Code PIN suivi du code affiché",
                "passcode",
                "password",
                "Le PIN de votre jeton, puis le code qu'il affiche, sans espace.",
            ),
        ),
        Stage::FirstCode => form(
            2,
            "second code",
            input(
                "Code PIN suivi du nouveau code",
                "passcode",
                "password",
                "Attendez que le code du jeton change, puis saisissez à nouveau le PIN suivi \
                 du nouveau code.",
            ),
        ),
        Stage::SecondCode => form(
            3,
            "compte de l'établissement",
            input(
                "Compte",
                "account",
                "text",
                "ce.RNE pour un établissement (ex. ce.0752401C), sinon votre identifiant.",
            ) + &input("Mot de passe", "password", "password", ""),
        ),
        Stage::Done => String::new(),
    }
}

/// The logged-in page: who is connected, the next step, the network drive section.
async fn logged_in_body(app: &App, req: &ApiRequest, session: &Session, extra: &str) -> String {
    let csrf = csrf_field(session);
    let account = session.account.as_deref().unwrap_or("");
    let next = match session.role {
        Some(SessionRole::School(_)) => {
            "<p class=\"notice\">Pour déposer vos plans depuis ce navigateur : \
             <a class=\"button\" href=\"/depot\">PPMS et plans</a></p>"
        }
        Some(SessionRole::CrisisCell) => {
            "<p class=\"notice\">Pour consulter les plans déposés : \
             <a class=\"button\" href=\"/cellule/\">Arborescence</a></p>"
        }
        _ => "",
    };
    let drive = if matches!(
        session.role,
        Some(SessionRole::School(_) | SessionRole::CrisisCell)
    ) {
        format!(
            "<h2>Connecter un lecteur réseau</h2>\
             <p>Une clé de montage permet d'ouvrir le dossier comme un lecteur réseau, sans \
             repasser par les trois étapes. Créez-en une par poste.</p>\
             {extra}\
             <form class=\"card\" method=\"post\" action=\"{MINT}\">{csrf}\
             <p><label for=\"champ-label\">Poste (ex. PC secrétariat)</label><br>\
             <input id=\"champ-label\" name=\"label\" type=\"text\" maxlength=\"100\"></p>\
             <p><button type=\"submit\">Créer une clé de montage</button></p></form>\
             {instructions}{keys}",
            instructions = drive::instructions(
                account,
                &keys::dav_url(app, req),
                session.role == Some(SessionRole::CrisisCell),
            ),
            keys = drive::keys_table(app, session).await,
        )
    } else {
        extra.to_string()
    };
    format!(
        "<p>Connecté : {account} ({role}).</p>{next}{drive}\
         <form method=\"post\" action=\"{LOGOUT}\">{csrf}\
         <p><button type=\"submit\" class=\"secondary\">Se déconnecter</button></p></form>",
        account = esc(account),
        role = role_fr(session.role.as_ref()),
    )
}

/// The page of the session's state with `message` (an error, or a notice) on top.
async fn render(
    app: &App,
    req: &ApiRequest,
    status: StatusCode,
    session: &Session,
    message: &str,
    extra: &str,
) -> Response<Body> {
    let note = if message.is_empty() {
        String::new()
    } else if status.is_success() {
        format!("<p class=\"success\" role=\"status\">{}</p>", esc(message))
    } else {
        format!("<p class=\"alert\" role=\"alert\">{}</p>", esc(message))
    };
    let (title, body) = if session.stage == Stage::Done {
        let title = match session.role {
            Some(SessionRole::Helpdesk) => "Compte",
            _ => "Lecteur réseau",
        };
        (title, logged_in_body(app, req, session, extra).await)
    } else {
        ("Connexion", stage_form(session))
    };
    page(status, Some(session), title, &format!("{note}{body}"))
}

/// Reads a small form body within the body timeout.
async fn read_form(app: &App, incoming: Incoming) -> Result<bytes::Bytes, StatusCode> {
    let limited = http_body_util::Limited::new(incoming, MAX_FORM_BYTES);
    let timeout = Duration::from_secs(app.config.body_timeout_secs.max(1));
    match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}

/// `GET /connexion`, `POST /connexion` (a stage), `POST /connexion/cle` (mint a key),
/// `POST /connexion/revoquer` (revoke one), `POST /connexion/deconnexion`.
pub(super) async fn handle(app: &Arc<App>, client: IpAddr, req: Request<Incoming>) -> Answer {
    let (parts, incoming) = req.into_parts();
    let method = parts.method.clone();
    let body = if method == Method::POST {
        match read_form(app, incoming).await {
            Ok(body) => body,
            Err(status) => {
                let text = "<p class=\"alert\" role=\"alert\">Formulaire refusé (trop long ou \
                            trop lent).</p>";
                return (page(status, None, "Connexion", text), None, 0);
            }
        }
    } else {
        bytes::Bytes::new()
    };
    let received = body.len() as u64;
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_USER_AGENT_CHARS).collect());
    let req = ApiRequest {
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
    let (response, who) = match respond(app, &req).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::error!(error = %err, path = %req.path, "login page failed");
            let text = format!("<p class=\"alert\" role=\"alert\">{UNAVAILABLE}.</p>");
            let response = page(StatusCode::SERVICE_UNAVAILABLE, None, "Connexion", &text);
            (response, None)
        }
    };
    (response, who, received)
}

async fn respond(
    app: &App,
    req: &ApiRequest,
) -> Result<(Response<Body>, Option<String>), sqlx::Error> {
    let session = current_session(app, req).await?;
    if req.method == Method::GET && req.path == PAGE {
        if let Some(session) = session {
            let who = session.agent.clone();
            let response = render(app, req, StatusCode::OK, &session, "", "").await;
            return Ok((response, who));
        }
        let lifetime = app.login.login_window_secs();
        let (id, session) = app.login.sessions.create(app.login.now(), lifetime).await?;
        let mut response = render(app, req, StatusCode::OK, &session, "", "").await;
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cookie_header(app, &id));
        return Ok((response, None));
    }
    if req.method != Method::POST || !matches!(req.path.as_str(), PAGE | MINT | REVOKE | LOGOUT) {
        let (status, text) = if req.method == Method::POST || req.method == Method::GET {
            (StatusCode::NOT_FOUND, "Cette page n'existe pas.")
        } else {
            (StatusCode::METHOD_NOT_ALLOWED, "Méthode non autorisée.")
        };
        let body = format!("<p>{text}</p><p><a href=\"{PAGE}\">Connexion</a></p>");
        return Ok((page(status, session.as_ref(), "Connexion", &body), None));
    }
    let token = field(&req.body, "csrf");
    let Some(mut session) = session.filter(|s| csrf_ok_token(s, &token)) else {
        let body = format!(
            "<p class=\"alert\" role=\"alert\">{CSRF_REFUSED}</p>\
             <p><a href=\"{PAGE}\">Recommencer</a></p>"
        );
        return Ok((page(StatusCode::FORBIDDEN, None, "Connexion", &body), None));
    };
    let at = &req.attempt;
    let login = &app.login;
    let mut new_cookie = None;
    let mut extra = String::new();
    let (status, message) = match req.path.as_str() {
        LOGOUT => {
            if let Err(err) = login.logout(&session, at).await {
                tracing::error!(error = %err, "logout failed");
            }
            let body = format!(
                "<p class=\"success\" role=\"status\">Vous êtes déconnecté.</p>\
                 <p><a class=\"button\" href=\"{PAGE}\">Se reconnecter</a></p>"
            );
            let mut response = page(StatusCode::OK, None, "Déconnexion", &body);
            let expired = set_cookie("", 0, app.tls.is_some());
            if let Ok(value) = HeaderValue::from_str(&expired) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            return Ok((response, session.agent));
        }
        MINT => match drive::mint(app, req, &session).await {
            Ok(notice) => {
                extra = notice;
                (StatusCode::OK, String::new())
            }
            Err((status, message)) => (status, message.to_string()),
        },
        REVOKE => drive::revoke(app, req, &session).await,
        _ => stage(app, req, &mut session, &mut new_cookie).await,
    };
    let who = session.agent.clone();
    let mut response = render(app, req, status, &session, &message, &extra).await;
    if let Some(cookie) = new_cookie {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cookie_header(app, &cookie));
    }
    Ok((response, who))
}

/// Runs the stage the form names; the status and the message to show.
async fn stage(
    app: &App,
    req: &ApiRequest,
    session: &mut Session,
    new_cookie: &mut Option<String>,
) -> (StatusCode, String) {
    let body = &req.body;
    let at = &req.attempt;
    let login = &app.login;
    let result = match field(body, "stage").as_str() {
        "1" => {
            let id = field(body, "personal_id");
            login
                .stage1(session, &id, &field(body, "passcode"), at)
                .await
        }
        "2" => login.stage2(session, &field(body, "passcode"), at).await,
        "3" => {
            let (account, password) = (field(body, "account"), field(body, "password"));
            login
                .stage3(session, &account, &password, at)
                .await
                .map(|cookie| *new_cookie = Some(cookie))
        }
        _ => Err(LoginError::Refused {
            back_to_start: false,
        }),
    };
    match result {
        Ok(()) => (StatusCode::OK, String::new()),
        Err(LoginError::Locked) => (
            StatusCode::TOO_MANY_REQUESTS,
            LoginError::Locked.to_string(),
        ),
        Err(err @ (LoginError::Refused { .. } | LoginError::Expired)) => {
            (StatusCode::UNAUTHORIZED, err.to_string())
        }
        Err(err) => {
            tracing::error!(error = %err, "login stage failed");
            (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE.to_string())
        }
    }
}
