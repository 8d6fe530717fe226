//! The portal: server-rendered French pages over the same core as the WebDAV face. Schools
//! get "Accueil" and "PPMS et plans" (deposits from the browser); the crisis cell gets the
//! tree, the search and the coverage report under `/cellule/`. Pages work without JavaScript;
//! the scripts under `/static/` only add comfort (per-file progress, drag and drop).
//! Who is asking comes from the login session's cookie; this module knows no WebDAV.

mod assets;
mod cell;
mod depot;
mod format;
mod home;
mod layout;
mod login;

pub(crate) use layout::{esc, html_page, Nav};

use std::net::IpAddr;
use std::sync::Arc;

use dav_server::body::Body;
use http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::auth::session::{cookie_value, Session, Stage};
use crate::server::App;

/// Whether the portal answers this path (the router sends it here).
pub fn is_portal_path(path: &str) -> bool {
    path == "/"
        || path == "/accueil"
        || path == depot::PAGE
        || cell::is_cell_path(path)
        || login::is_login_path(path)
        || assets::is_asset_path(path)
}

/// The answer, the account to log, and the bytes received.
pub type Answer = (Response<Body>, Option<String>, u64);

pub async fn handle(app: &Arc<App>, client: IpAddr, req: Request<Incoming>) -> Answer {
    let path = req.uri().path().to_string();
    if let Some(response) = assets::serve(&path) {
        return (response, None, 0);
    }
    if login::is_login_path(&path) {
        return login::handle(app, client, req).await;
    }
    let session = match session_of(app, req.headers()).await {
        Ok(session) => session,
        Err(err) => {
            tracing::error!(error = %err, "session lookup failed");
            let page = html_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service indisponible",
                Nav::for_session(None),
                "<p role=\"alert\">Service momentanément indisponible.</p>",
            );
            return (page, None, 0);
        }
    };
    if cell::is_cell_path(&path) {
        return cell::handle(app, client, &req, session).await;
    }
    let who = session.as_ref().and_then(|s| s.agent.clone());
    let nav = Nav::for_session(session.as_ref());
    let response = match path.as_str() {
        "/" | "/accueil" => home::page(app, logged_in(session).as_ref(), nav),
        depot::PAGE => return depot::handle(app, client, req, session).await,
        _ => html_page(
            StatusCode::NOT_FOUND,
            "Page introuvable",
            nav,
            "<p>Cette page n'existe pas.</p>",
        ),
    };
    (response, who, 0)
}

/// The session named by the request's cookie, if it is alive (at any stage).
pub(crate) async fn session_of(
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

/// The session if it finished the three stages.
pub(crate) fn logged_in(session: Option<Session>) -> Option<Session> {
    session.filter(|s| s.stage == Stage::Done)
}
