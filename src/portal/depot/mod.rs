//! "PPMS et plans" at `/depot`, for schools: the deposit form and the list of what the school
//! has deposited. Without JavaScript the form posts `multipart/form-data` here, parsed as a
//! stream: each file part goes chunk by chunk through the deposit service (the one path every
//! deposit takes), and the answer lists each file's outcome. With JavaScript, `depot.js` sends
//! each file to `PUT /api/v1/deposits/{name}` instead, with a progress bar per file.

use std::net::IpAddr;
use std::sync::Arc;

use dav_server::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

mod form;

use super::format::{date, short_sha, size};
use super::{esc, html_page, Answer, Nav};
use crate::api::deposits::{listing, school_of, DepositRow, SCHOOLS_ONLY};
use crate::auth::session::{Session, Stage};
use crate::directory::Rne;
use crate::policy::DepositPolicy;
use crate::server::App;

/// Where the page lives.
pub const PAGE: &str = "/depot";
/// Name of the form's file input (and of its parts).
pub(super) const FILES_FIELD: &str = "fichiers";

/// The extensions the policy accepts, in its order, without duplicates.
pub(super) fn accepted_extensions(policy: &DepositPolicy) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for ext in policy.allowed_types.iter().flat_map(|t| &t.extensions) {
        if !all.contains(ext) {
            all.push(ext.clone());
        }
    }
    all
}

fn see_other(location: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static(location));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /depot` (the page) and `POST /depot` (the form without JavaScript).
pub(super) async fn handle(
    app: &Arc<App>,
    client: IpAddr,
    req: Request<Incoming>,
    session: Option<Session>,
) -> Answer {
    let Some(session) = session.filter(|s| s.stage == Stage::Done) else {
        return (see_other("/connexion"), None, 0);
    };
    let who = session.agent.clone();
    let nav = Nav::for_session(Some(&session));
    let Some(rne) = school_of(&session).cloned() else {
        let body = format!(
            "<p class=\"alert\" role=\"alert\">Accès {}.</p><p><a href=\"/\">Accueil</a></p>",
            esc(SCHOOLS_ONLY)
        );
        return (
            html_page(StatusCode::FORBIDDEN, "PPMS et plans", nav, &body),
            who,
            0,
        );
    };
    match *req.method() {
        Method::GET | Method::HEAD => {
            let body = page_body(app, &session, &rne, "");
            (
                html_page(StatusCode::OK, "PPMS et plans", nav, &body),
                who,
                0,
            )
        }
        Method::POST => {
            let (status, report, received) = form::receive(app, client, &session, &rne, req).await;
            let body = page_body(app, &session, &rne, &report);
            (
                html_page(status, "PPMS et plans", nav, &body),
                who,
                received,
            )
        }
        _ => {
            let body = "<p>Méthode non autorisée.</p>";
            let page = html_page(StatusCode::METHOD_NOT_ALLOWED, "PPMS et plans", nav, body);
            (page, who, 0)
        }
    }
}

/// The form, then `report` (the outcome of a form just sent), then the school's deposits.
fn page_body(app: &App, session: &Session, rne: &Rne, report: &str) -> String {
    let policy = app.fs.policy();
    let extensions = accepted_extensions(policy);
    let accept: Vec<String> = extensions.iter().map(|e| format!(".{e}")).collect();
    let options: String = policy
        .plan_kinds
        .iter()
        .map(|k| {
            format!(
                "<option value=\"{}\">{}</option>",
                esc(&k.id),
                esc(&k.label)
            )
        })
        .collect();
    let csrf = esc(&session.csrf);
    let max_files = app.config.portal_max_files_per_form;
    let form = format!(
        "<p>Établissement <strong>{rne}</strong> : vos fichiers seront nommés \
         <code>{rne}-…</code>. Votre dossier est créé par votre premier dépôt.</p>\
         <form id=\"form-depot\" class=\"card\" method=\"post\" action=\"{PAGE}\" \
         enctype=\"multipart/form-data\" data-csrf=\"{csrf}\" data-max-bytes=\"{max}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <p><label for=\"kind\">Type de document</label><br>\
         <select id=\"kind\" name=\"kind\">{options}</select><br>\
         <span class=\"hint\" id=\"aide-kind\">S'applique à tous les fichiers choisis ; avec \
         JavaScript, vous pouvez ensuite le changer pour chaque fichier.</span></p>\
         <div class=\"dropzone\" id=\"zone-depot\">\
         <p><label for=\"{FILES_FIELD}\">Sélectionner des fichiers</label> \
         <span class=\"hint js-only\">(ou glissez-les ici)</span></p>\
         <input type=\"file\" id=\"{FILES_FIELD}\" name=\"{FILES_FIELD}\" multiple required \
         accept=\"{accept}\" aria-describedby=\"aide-fichiers\">\
         <p class=\"hint\" id=\"aide-fichiers\">Formats acceptés : {types}. Taille maximale \
         d'un fichier : {max_text}. {max_files} fichiers au plus par envoi.</p></div>\
         <div id=\"liste-fichiers\" class=\"file-list\"></div>\
         <p><button type=\"submit\" id=\"deposer\">Déposer</button></p>\
         <p id=\"etat-depot\" class=\"hint\" role=\"status\" aria-live=\"polite\"></p>\
         </form>",
        rne = esc(rne.as_str()),
        max = policy.max_file_bytes,
        accept = esc(&accept.join(",")),
        types = esc(&extensions.join(", ")),
        max_text = size(policy.max_file_bytes),
    );
    let table = match listing(app, rne) {
        Ok(rows) => deposits_table(&rows),
        Err(err) => {
            tracing::error!(error = %err, rne = %rne, "listing deposits failed");
            "<p class=\"alert\" role=\"alert\">Liste des dépôts momentanément indisponible.</p>"
                .into()
        }
    };
    format!(
        "{report}{form}<h2>Vos dépôts</h2>{table}\
         <script src=\"/static/depot.js\" defer></script>"
    )
}

/// The table of a school's deposits (`id="depots"`, which `depot.js` refreshes).
fn deposits_table(rows: &[DepositRow]) -> String {
    let body: String = if rows.is_empty() {
        "<tr><td colspan=\"6\">Aucun dépôt pour l'instant.</td></tr>".into()
    } else {
        rows.iter()
            .map(|row| {
                let versions = if row.versions == row.version {
                    row.version.to_string()
                } else {
                    format!("{} ({} conservées)", row.version, row.versions)
                };
                let kind = if row.kind.is_some() {
                    esc(&row.kind_label)
                } else {
                    format!(
                        "{} <span class=\"hint\">(d'après le nom)</span>",
                        esc(&row.kind_label)
                    )
                };
                format!(
                    "<tr><td>{name}</td><td>{kind}</td><td class=\"num\">{size}</td>\
                     <td>{date}</td><td>{sha}</td>\
                     <td class=\"num\">{versions}</td></tr>",
                    name = esc(&row.stored_name),
                    size = size(row.bytes),
                    date = date(Some(&row.deposited_at)),
                    sha = short_sha(&row.sha256),
                )
            })
            .collect()
    };
    format!(
        "<table id=\"depots\"><caption>Fichiers déposés par l'établissement (dernière \
         version de chacun)</caption><thead><tr><th scope=\"col\">Fichier</th>\
         <th scope=\"col\">Type</th><th scope=\"col\" class=\"num\">Taille</th>\
         <th scope=\"col\">Déposé le</th><th scope=\"col\">Empreinte (sha256)</th>\
         <th scope=\"col\" class=\"num\">Version</th></tr></thead><tbody>{body}</tbody></table>"
    )
}
