//! The page shell every portal page shares: French title, header, navigation by role, main
//! content, footer; the security headers of an HTML answer; escaping.

use dav_server::body::Body;
use http::{header, HeaderValue, Response, StatusCode};

use crate::auth::session::{Session, SessionRole, Stage};

/// Name of the service, as every page heads it.
pub const SERVICE_NAME: &str = "Recueil des PPMS et plans";

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Which links the navigation bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Not logged in: Accueil, Connexion.
    Visitor,
    /// A school: Accueil, PPMS et plans, Lecteur réseau, Déconnexion.
    School,
    /// The crisis cell: Arborescence, Recherche, Couverture, Lecteur réseau, Déconnexion.
    CrisisCell,
    /// The helpdesk: Accueil, Déconnexion.
    Helpdesk,
}

impl Nav {
    pub fn for_session(session: Option<&Session>) -> Nav {
        match session
            .filter(|s| s.stage == Stage::Done)
            .and_then(|s| s.role.as_ref())
        {
            Some(SessionRole::School(_)) => Nav::School,
            Some(SessionRole::CrisisCell) => Nav::CrisisCell,
            Some(SessionRole::Helpdesk) => Nav::Helpdesk,
            None => Nav::Visitor,
        }
    }

    fn links(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Nav::Visitor => &[("/", "Accueil"), ("/connexion", "Connexion")],
            Nav::School => &[
                ("/", "Accueil"),
                ("/depot", "PPMS et plans"),
                ("/connexion", "Lecteur réseau"),
            ],
            Nav::CrisisCell => &[
                ("/cellule/", "Arborescence"),
                ("/cellule/recherche", "Recherche"),
                ("/cellule/couverture", "Couverture"),
                ("/connexion", "Lecteur réseau"),
            ],
            Nav::Helpdesk => &[("/", "Accueil"), ("/connexion", "Compte")],
        }
    }
}

/// A complete HTML page: `title` in the tab and as the main heading, `body` already escaped.
pub fn html_page(status: StatusCode, title: &str, nav: Nav, body: &str) -> Response<Body> {
    let links: String = nav
        .links()
        .iter()
        .map(|(href, label)| format!("<li><a href=\"{href}\">{label}</a></li>"))
        .collect();
    let page = format!(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — {SERVICE_NAME}</title>\
         <link rel=\"stylesheet\" href=\"/static/portal.css\"></head>\
         <body><a class=\"skip\" href=\"#contenu\">Aller au contenu</a>\
         <header><div class=\"bar\"><p class=\"brand\"><a href=\"/\">{SERVICE_NAME}</a></p>\
         <nav aria-label=\"Menu principal\"><ul>{links}</ul></nav></div></header>\
         <main id=\"contenu\"><h1>{title}</h1>\n{body}\n</main>\
         <footer><p>Plans particuliers de mise en sûreté — dépôt sécurisé</p></footer>\
         <script src=\"/static/portal.js\" defer></script></body></html>\n",
        title = esc(title),
    );
    html_response(status, page)
}

/// An HTML answer with the headers every page carries: no caching of personal pages, no
/// framing, no inline script, forms posting only here.
pub fn html_response(status: StatusCode, page: String) -> Response<Body> {
    let len = page.len();
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-src 'self'; object-src 'self'; form-action 'self'; \
             frame-ancestors 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(esc("ÉTIENNE MARCEL"), "ÉTIENNE MARCEL");
    }

    #[test]
    fn the_navigation_follows_the_role() {
        assert!(Nav::CrisisCell
            .links()
            .iter()
            .any(|(h, _)| *h == "/cellule/recherche"));
        assert!(!Nav::School
            .links()
            .iter()
            .any(|(h, _)| h.starts_with("/cellule")));
        assert!(Nav::Visitor.links().iter().any(|(h, _)| *h == "/connexion"));
    }
}
