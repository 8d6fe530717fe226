//! A minimal server-rendered login form at `/connexion` (French), over the same login service
//! and session as the JSON API: the three stages, then "Connecter un lecteur réseau" which
//! mints a mount key, shows it once and says how to map the drive.
// Limitation: one plain page without styling (the portal's pages are a later issue).

use http::{header, HeaderValue, Method, Response, StatusCode};
use percent_encoding::percent_decode_str;

use dav_server::body::Body;

use super::{cookie_header, csrf_ok_token, current_session, Answer, ApiRequest};
use crate::auth::session::{Session, SessionRole, Stage};
use crate::auth::{KeySubject, LoginError};
use crate::server::App;

/// Where the form lives.
pub const PAGE: &str = "/connexion";
const MINT: &str = "/connexion/cle";
const LOGOUT: &str = "/connexion/deconnexion";

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The value of `name` in an `application/x-www-form-urlencoded` body.
fn field(body: &[u8], name: &str) -> String {
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

fn html(status: StatusCode, body: String) -> Response<Body> {
    let page = format!(
        "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\">\
         <title>Connexion — Recueil des PPMS</title><h1>Connexion</h1>{body}</html>\n"
    );
    let mut response = Response::new(Body::from(page.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(page.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; form-action 'self'"),
    );
    response
}

fn input(label: &str, name: &str, kind: &str) -> String {
    format!(
        "<p><label>{label}<br><input name=\"{name}\" type=\"{kind}\" required \
         autocomplete=\"off\"></label></p>"
    )
}

/// The form of the session's next stage (or the logged-in page), with `message` on top.
fn render(session: &Session, message: &str, extra: &str) -> String {
    let csrf = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    );
    let note = if message.is_empty() {
        String::new()
    } else {
        format!("<p role=\"alert\"><strong>{}</strong></p>", esc(message))
    };
    let form = |stage: u8, title: &str, fields: String| {
        format!(
            "<h2>Étape {stage} sur 3 : {title}</h2><form method=\"post\" action=\"{PAGE}\">\
             {csrf}<input type=\"hidden\" name=\"stage\" value=\"{stage}\">{fields}\
             <p><button>Valider</button></p></form>"
        )
    };
    let body = match session.stage {
        Stage::Start => form(
            1,
            "identifiant et code",
            input("Identifiant", "personal_id", "text")
                + &input("Code PIN suivi du code affiché", "passcode", "password"),
        ),
        Stage::FirstCode => form(
            2,
            "second code",
            "<p>Attendez que le code change, puis saisissez à nouveau le PIN suivi du \
             nouveau code.</p>"
                .to_string()
                + &input("Code PIN suivi du nouveau code", "passcode", "password"),
        ),
        Stage::SecondCode => form(
            3,
            "compte de l'établissement",
            input("Compte (ce.RNE, ou votre identifiant)", "account", "text")
                + &input("Mot de passe", "password", "password"),
        ),
        Stage::Done => format!(
            "<p>Connecté : {account} ({role}).</p>{extra}\
             <h2>Connecter un lecteur réseau</h2><form method=\"post\" action=\"{MINT}\">\
             {csrf}<p><label>Poste (ex. PC secrétariat)<br><input name=\"label\" \
             maxlength=\"100\"></label></p><p><button>Créer une clé de montage</button></p>\
             </form><form method=\"post\" action=\"{LOGOUT}\">{csrf}\
             <p><button>Se déconnecter</button></p></form>",
            account = esc(session.account.as_deref().unwrap_or("")),
            role = session.role.as_ref().map_or("", SessionRole::name),
        ),
    };
    format!("{note}{body}")
}

/// The key just minted and how to map the drive with it.
fn key_notice(account: &str, key: &str, url: &str) -> String {
    let (account, key, url) = (esc(account), esc(key), esc(url));
    format!(
        "<h2>Votre clé de montage</h2><p>Notez-la maintenant : elle ne sera plus affichée.</p>\
         <p>Compte : <code>{account}</code><br>Clé : <code>{key}</code><br>\
         Adresse : <code>{url}</code></p><ul>\
         <li>Windows : Ce PC → « Connecter un lecteur réseau » → Dossier <code>{url}</code> → \
         « Se connecter à l'aide d'informations d'identification différentes » → compte et \
         clé.</li>\
         <li>macOS : Finder → Aller → « Se connecter au serveur… » → <code>{url}</code>.</li>\
         <li>Linux : <code>mount -t davfs {url} /mnt/ppms</code> (davfs2).</li>\
         <li>rclone : <code>rclone copy plan.pdf \":webdav,url={url},vendor=other,\
         user={account},pass=$(rclone obscure CLÉ):\"</code></li></ul>"
    )
}

/// `GET /connexion`, `POST /connexion`, `POST /connexion/cle`, `POST /connexion/deconnexion`.
pub(super) async fn handle(app: &App, req: &ApiRequest) -> Result<Answer, sqlx::Error> {
    let session = current_session(app, req).await?;
    if req.method == Method::GET && req.path == PAGE {
        if let Some(session) = session {
            let who = session.agent.clone();
            return Ok((html(StatusCode::OK, render(&session, "", "")), who));
        }
        let lifetime = app.login.login_window_secs();
        let (id, session) = app.login.sessions.create(app.login.now(), lifetime).await?;
        let mut response = html(StatusCode::OK, render(&session, "", ""));
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cookie_header(app, &id));
        return Ok((response, None));
    }
    if req.method != Method::POST {
        return Ok((
            super::error(StatusCode::METHOD_NOT_ALLOWED, "méthode non autorisée"),
            None,
        ));
    }
    let Some(mut session) = session.filter(|s| csrf_ok_token(s, &field(&req.body, "csrf"))) else {
        let body = format!(
            "<p role=\"alert\">{}</p><p><a href=\"{PAGE}\">Recommencer</a></p>",
            super::CSRF_REFUSED
        );
        return Ok((html(StatusCode::FORBIDDEN, body), None));
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
            let body =
                format!("<p>Vous êtes déconnecté.</p><p><a href=\"{PAGE}\">Connexion</a></p>");
            return Ok((html(StatusCode::OK, body), session.agent));
        }
        MINT => match mint(app, req, &session).await {
            Ok(notice) => {
                extra = notice;
                (StatusCode::OK, String::new())
            }
            Err(message) => (StatusCode::FORBIDDEN, message.to_string()),
        },
        PAGE => {
            let body = &req.body;
            let result = match field(body, "stage").as_str() {
                "1" => {
                    let id = field(body, "personal_id");
                    login
                        .stage1(&mut session, &id, &field(body, "passcode"), at)
                        .await
                }
                "2" => {
                    login
                        .stage2(&mut session, &field(body, "passcode"), at)
                        .await
                }
                "3" => {
                    let (account, password) = (field(body, "account"), field(body, "password"));
                    login
                        .stage3(&mut session, &account, &password, at)
                        .await
                        .map(|cookie| new_cookie = Some(cookie))
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
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        super::UNAVAILABLE.to_string(),
                    )
                }
            }
        }
        _ => return Ok((super::error(StatusCode::NOT_FOUND, "introuvable"), None)),
    };
    let who = session.agent.clone();
    let mut response = html(status, render(&session, &message, &extra));
    if let Some(cookie) = new_cookie {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cookie_header(app, &cookie));
    }
    Ok((response, who))
}

/// Mints a key for the logged-in session; the HTML notice, or the refusal's message.
async fn mint(app: &App, req: &ApiRequest, session: &Session) -> Result<String, &'static str> {
    if session.stage != Stage::Done {
        return Err("connexion requise");
    }
    let account = session.account.clone().unwrap_or_default();
    let subject = match &session.role {
        Some(SessionRole::School(rne)) => KeySubject::School {
            account: account.clone(),
            rne: rne.clone(),
        },
        Some(SessionRole::CrisisCell) => KeySubject::CrisisCell {
            account: account.clone(),
        },
        _ => return Err("pas de lecteur réseau pour ce compte"),
    };
    let label: String = field(&req.body, "label")
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let issued = super::keys::issue(app, req, session, &subject, &label)
        .await
        .map_err(|_| super::UNAVAILABLE)?;
    Ok(key_notice(
        &issued.account,
        &issued.secret,
        &super::keys::dav_url(app, req),
    ))
}
