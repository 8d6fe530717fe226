//! The crisis cell's pages under `/cellule/`: the tree (postal codes, then establishments,
//! then one establishment's files), file downloads, the search and the coverage report. Only a
//! session logged in as crisis cell reads them: a visitor is sent to the login (303), anyone
//! else gets a French 403 page. Pages are read-only GETs, so no CSRF token is involved.

mod coverage;
mod download;
mod file_body;
mod format;
mod school;
mod search;
mod tree;

use std::net::IpAddr;
use std::sync::Arc;

use dav_server::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::{esc, html_page, logged_in, Answer, Nav};
use crate::audit::AuditEvent;
use crate::auth::session::{Session, SessionRole};
use crate::report::Deposits;
use crate::server::App;

/// Where the crisis cell's pages live.
pub const PREFIX: &str = "/cellule/";
/// Where a visitor is sent to log in.
const LOGIN: &str = "/connexion";
const CELL_ONLY: &str = "Ces pages sont réservées à la cellule de crise.";

/// Whether a path belongs to the crisis cell's pages.
pub fn is_cell_path(path: &str) -> bool {
    path == "/cellule" || path.starts_with(PREFIX)
}

/// Who is reading, for the audit trail.
pub(crate) struct Reader {
    pub account: String,
    pub client: IpAddr,
}

pub async fn handle(
    app: &Arc<App>,
    client: IpAddr,
    req: &Request<Incoming>,
    session: Option<Session>,
) -> Answer {
    let path = req.uri().path();
    let Some(session) = logged_in(session) else {
        return (redirect(LOGIN), None, 0);
    };
    let account = session.account.clone().unwrap_or_default();
    if session.role != Some(SessionRole::CrisisCell) {
        return (forbidden(app, &session, client, path), Some(account), 0);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut response = page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Méthode refusée",
            "<p>Ces pages se consultent seulement.</p>",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return (response, Some(account), 0);
    }
    let reader = Reader {
        account: account.clone(),
        client,
    };
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    let query = req.uri().query().unwrap_or("");
    let response = if path == "/cellule" {
        redirect(PREFIX)
    } else if rest.is_empty() {
        tree::overview(app).await
    } else if let Some(code) = rest.strip_prefix("cp/") {
        tree::postal_code(app, code).await
    } else if let Some(rne) = rest.strip_prefix("etablissement/") {
        school::show(app, rne).await
    } else if let Some(target) = rest.strip_prefix("fichier/") {
        download::serve(app, &reader, req, target).await
    } else if rest == "recherche" {
        search::page(app, query).await
    } else if rest == "couverture" {
        coverage::page(app).await
    } else {
        not_found("Cette page n'existe pas.")
    };
    (response, Some(account), 0)
}

/// A page of the crisis cell's navigation.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response<Body> {
    html_page(status, title, Nav::CrisisCell, body)
}

pub(crate) fn not_found(message: &str) -> Response<Body> {
    page(
        StatusCode::NOT_FOUND,
        "Introuvable",
        &format!("<p class=\"alert\">{}</p>", esc(message)),
    )
}

pub(crate) fn bad_request(message: &str) -> Response<Body> {
    page(
        StatusCode::BAD_REQUEST,
        "Demande invalide",
        &format!("<p class=\"alert\">{}</p>", esc(message)),
    )
}

fn redirect(to: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static(to));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The 403 page for a session that is not the crisis cell's, audited as a denial.
fn forbidden(app: &App, session: &Session, client: IpAddr, path: &str) -> Response<Body> {
    let (role, rne, why) = match &session.role {
        Some(SessionRole::School(rne)) => (
            "school",
            Some(rne.to_string()),
            "Vous êtes connecté avec le compte d'un établissement : déposez vos plans dans \
             « PPMS et plans ».",
        ),
        Some(SessionRole::Helpdesk) => (
            "helpdesk",
            None,
            "Le compte d'assistance ne consulte pas les plans déposés.",
        ),
        _ => ("unknown", None, ""),
    };
    app.audit.record(AuditEvent {
        event: "denied",
        outcome: "refused",
        principal: session.account.clone(),
        role: Some(role),
        rne,
        method: Some("GET".into()),
        path: Some(path.chars().take(512).collect()),
        status: Some(403),
        reason: Some("crisis cell only".into()),
        client_ip: Some(client.to_string()),
        ..AuditEvent::default()
    });
    html_page(
        StatusCode::FORBIDDEN,
        "Accès refusé",
        Nav::for_session(Some(session)),
        &format!(
            "<p class=\"alert\" role=\"alert\">{} {}</p>",
            esc(CELL_ONLY),
            esc(why)
        ),
    )
}

/// The deposits the pages read.
pub(crate) fn deposits(app: &App) -> Deposits<'_> {
    Deposits::of_store(app.fs.depositor().store())
}

/// Runs store reads off the async threads; a failure becomes a French error page.
pub(crate) async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&App) -> std::io::Result<T> + Send + 'static,
) -> Result<T, Response<Body>> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || work(&app)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "crisis-cell page: reading the deposits failed");
            Err(page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur",
                "<p class=\"alert\">Les dépôts n'ont pas pu être lus. Réessayez dans un \
                 instant.</p>",
            ))
        }
        Err(err) => {
            tracing::error!(error = %err, "crisis-cell page: task failed");
            Err(page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur",
                "<p class=\"alert\">Erreur interne.</p>",
            ))
        }
    }
}
