//! The crisis cell's report endpoints, authenticated like WebDAV (Basic with a mount key) or by
//! a crisis-cell login session's cookie, and open to the crisis cell only (401 without valid
//! credentials, 403 for a school or the helpdesk):
//!
//! - `GET /api/v1/coverage`: coverage per postal code and establishment (JSON);
//! - `GET /api/v1/coverage.csv`: the same as CSV (see `report::coverage::Coverage::to_csv`);
//! - `GET /api/v1/search?q=<text>&limit=<n>`: establishments by name, RNE, postal code,
//!   commune or file name (JSON);
//! - `GET /api/v1/export/<postal code>.zip`: the current plans of a postal code;
//! - `GET /api/v1/export/school/<RNE>.zip`: the current plans of one establishment. By RNE
//!   rather than by folder name: an RNE is short, ASCII and stable, a folder name needs
//!   percent-encoding and changes when a namesake arrives;
//! - `GET /api/v1/tree`, `tree/<postal code>`, `schools/<RNE>`: the tree (see `tree`).
//!
//! Every refusal carries a French reason as `{"error": "..."}`; exports are audited.

mod body;
mod session;
mod tree;

use std::net::IpAddr;
use std::sync::Arc;

use dav_server::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;

use super::{error, json_response, API_PREFIX};
use crate::audit::AuditEvent;
use crate::auth::refusal_audit::{self, Verdict};
use crate::auth::{parse_basic, KeyUse, Principal, Role};
use crate::report::coverage::Coverage;
use crate::report::export::{postal_code_entries, school_entries, ExportEntry, ZipStream};
use crate::report::search::{SearchIndex, DEFAULT_LIMIT};
use crate::report::Deposits;
use crate::server::App;

/// Every path these endpoints answer, relative to [`API_PREFIX`], as the OpenAPI file names
/// them (`{…}` is a parameter).
pub const ROUTES: &[&str] = &[
    "coverage",
    "coverage.csv",
    "search",
    "export/{postal_code}.zip",
    "export/school/{rne}.zip",
    "tree",
    "tree/{postal_code}",
    "schools/{rne}",
];
/// Longest search text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Longest `Authorization` header a real account and key can make (as the WebDAV face).
const MAX_AUTH_HEADER_BYTES: usize = 512;
const CHALLENGE: &str = "Basic realm=\"ppms-depot\", charset=\"UTF-8\"";
const CELL_ONLY: &str = "réservé à la cellule de crise";
const UNAVAILABLE: &str = "service momentanément indisponible";
const EXPORT_PREFIX: &str = "export/";

/// Whether a path is one of [`ROUTES`] (the router sends it here): routing follows the list
/// the OpenAPI test checks, so no route escapes the documentation.
pub fn is_report_path(path: &str) -> bool {
    path.strip_prefix(API_PREFIX)
        .is_some_and(|rest| ROUTES.iter().any(|route| matches_route(route, rest)))
}

/// Whether `rest` fits a route template, a `{…}` parameter standing for one non-empty segment.
fn matches_route(route: &str, rest: &str) -> bool {
    let Some((prefix, tail)) = route.split_once('{') else {
        return route == rest;
    };
    let suffix = tail.split_once('}').map_or("", |(_, suffix)| suffix);
    rest.len() > prefix.len() + suffix.len()
        && rest.starts_with(prefix)
        && rest.ends_with(suffix)
        && !rest[prefix.len()..rest.len() - suffix.len()].contains('/')
}

type Answer = (Response<Body>, Option<String>, u64);

pub async fn handle(app: &Arc<App>, client: IpAddr, req: Request<Incoming>) -> Answer {
    if req.method() != Method::GET {
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "seule la méthode GET est admise",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return (response, None, 0);
    }
    let principal = match authenticate(app, &req, client).await {
        Ok(principal) => principal,
        Err(response) => return (response, None, 0),
    };
    let account = principal.account.clone();
    let path = req.uri().path().to_string();
    if principal.role != Role::CrisisCell {
        app.audit.record(AuditEvent {
            event: "denied",
            outcome: "refused",
            principal: Some(account.clone()),
            role: Some(principal.role_name()),
            rne: principal.school_rne().map(|r| r.to_string()),
            method: Some("GET".into()),
            path: Some(path.chars().take(512).collect()),
            status: Some(403),
            reason: Some(CELL_ONLY.into()),
            client_ip: Some(client.to_string()),
            ..AuditEvent::default()
        });
        return (error(StatusCode::FORBIDDEN, CELL_ONLY), Some(account), 0);
    }
    let rest = path.strip_prefix(API_PREFIX).unwrap_or_default();
    let query = req.uri().query().unwrap_or_default();
    let response = match rest {
        "coverage" | "coverage.csv" => coverage(app, rest == "coverage.csv").await,
        "search" => search(app, query).await,
        "tree" => tree::overview(app).await,
        _ if rest.starts_with("tree/") => tree::postal_code(app, &rest["tree/".len()..]).await,
        _ if rest.starts_with("schools/") => tree::school(app, &rest["schools/".len()..]).await,
        _ => export(app, &principal, client, rest).await,
    };
    (response, Some(account), 0)
}

async fn authenticate(
    app: &App,
    req: &Request<Incoming>,
    client: IpAddr,
) -> Result<Principal, Response<Body>> {
    let challenge = |message: &str| {
        let mut response = error(StatusCode::UNAUTHORIZED, message);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(CHALLENGE),
        );
        response
    };
    let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return match session::principal(app, req.headers()).await? {
            Some(principal) => Ok(principal),
            None => Err(challenge("identifiant et clé de montage requis")),
        };
    };
    if value.len() > MAX_AUTH_HEADER_BYTES {
        return Err(challenge("en-tête d'authentification trop long"));
    }
    let Some((account, secret)) = parse_basic(value) else {
        return Err(challenge("en-tête d'authentification illisible"));
    };
    let client_ip = client.to_string();
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let used = KeyUse {
        client_ip: &client_ip,
        user_agent,
    };
    match app.keys.verify_use(&account, &secret, &used).await {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => {
            let now = std::time::Instant::now();
            if let Verdict::Write { skipped } = app.refused_keys.refused(&client_ip, now) {
                // The account is not logged: a key typed in the wrong field must not reach a
                // log.
                tracing::warn!(client = %client, skipped, "report API: mount key refused");
                app.audit.record(AuditEvent {
                    event: "auth_failed",
                    outcome: "refused",
                    reason: Some(refusal_audit::reason(skipped)),
                    path: Some(req.uri().path().chars().take(512).collect()),
                    client_ip: Some(client_ip.clone()),
                    ..AuditEvent::default()
                });
            }
            Err(challenge("identifiant ou clé de montage refusé"))
        }
        Err(err) => {
            tracing::error!(error = %err, "key store unavailable");
            Err(error(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE))
        }
    }
}

/// Runs report work (file reads) off the async threads.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&App) -> std::io::Result<T> + Send + 'static,
) -> Result<T, Response<Body>> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || work(&app)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "report failed");
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "erreur de lecture des dépôts",
            ))
        }
        Err(err) => {
            tracing::error!(error = %err, "report task failed");
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, "erreur interne"))
        }
    }
}

fn deposits(app: &App) -> Deposits<'_> {
    Deposits::of_store(app.fs.depositor().store())
}

async fn coverage(app: &Arc<App>, csv: bool) -> Response<Body> {
    let built = blocking(app, |app| {
        Coverage::build(app.fs.directory(), app.fs.policy(), &deposits(app))
    })
    .await;
    let report = match built {
        Ok(report) => report,
        Err(response) => return response,
    };
    if !csv {
        return match serde_json::to_value(&report) {
            Ok(value) => json_response(StatusCode::OK, value),
            Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "erreur interne"),
        };
    }
    let bytes = report.to_csv();
    let length = bytes.len();
    let mut response = Response::new(Body::from(bytes::Bytes::from(bytes)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"couverture-ppms.csv\""),
    );
    response
}

/// One query-string parameter, `+` and percent-escapes decoded.
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| {
            percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

async fn search(app: &Arc<App>, query: &str) -> Response<Body> {
    let Some(text) = param(query, "q").filter(|q| !q.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "paramètre q requis : le texte à rechercher",
        );
    };
    if text.chars().count() > MAX_QUERY_CHARS {
        return error(StatusCode::BAD_REQUEST, "texte à rechercher trop long");
    }
    let limit = match param(query, "limit").map(|l| l.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit)) if limit > 0 => limit,
        Some(_) => return error(StatusCode::BAD_REQUEST, "limit : un entier positif"),
    };
    let cached = app.search_index.clone();
    let found = blocking(app, move |app| {
        let deposits = deposits(app);
        SearchIndex::query_cached(&cached, app.fs.directory(), &deposits, &text, limit)
    })
    .await;
    match found {
        Ok(results) => match serde_json::to_value(&results) {
            Ok(value) => json_response(StatusCode::OK, value),
            Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "erreur interne"),
        },
        Err(response) => response,
    }
}

/// What an export path names.
enum Target {
    PostalCode(String),
    School(crate::directory::Rne),
}

fn export_target(rest: &str) -> Option<Target> {
    let name = rest.strip_prefix(EXPORT_PREFIX)?.strip_suffix(".zip")?;
    if let Some(rne) = name.strip_prefix("school/") {
        let rne = crate::directory::Rne::parse(rne).ok()?;
        return Some(Target::School(rne));
    }
    let postal = name.len() == 5 && name.bytes().all(|b| b.is_ascii_digit());
    postal.then(|| Target::PostalCode(name.to_string()))
}

async fn export(
    app: &Arc<App>,
    principal: &Principal,
    client: IpAddr,
    rest: &str,
) -> Response<Body> {
    let Some(target) = export_target(rest) else {
        return error(StatusCode::NOT_FOUND, "introuvable");
    };
    let (filename, rne) = match &target {
        Target::PostalCode(code) => (format!("{code}.zip"), None),
        Target::School(rne) => (format!("{rne}.zip"), Some(rne.to_string())),
    };
    let planned = blocking(
        app,
        move |app| -> std::io::Result<Option<Vec<ExportEntry>>> {
            let deposits = deposits(app);
            match &target {
                Target::PostalCode(code) => {
                    postal_code_entries(app.fs.directory(), &deposits, code)
                }
                Target::School(rne) => school_entries(app.fs.directory(), &deposits, rne),
            }
        },
    )
    .await;
    let entries = match planned {
        Ok(Some(entries)) => entries,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "code postal ou établissement inconnu",
            )
        }
        Err(response) => return response,
    };
    let stream = ZipStream::new(entries);
    app.audit.record(AuditEvent {
        event: "export",
        outcome: "ok",
        principal: Some(principal.account.clone()),
        role: Some(principal.role_name()),
        rne,
        method: Some("GET".into()),
        path: Some(format!("{API_PREFIX}{rest}")),
        status: Some(200),
        bytes: Some(stream.len()),
        client_ip: Some(client.to_string()),
        ..AuditEvent::default()
    });
    body::zip_response(stream, &filename).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths() {
        assert!(is_report_path("/api/v1/coverage"));
        assert!(is_report_path("/api/v1/coverage.csv"));
        assert!(is_report_path("/api/v1/search"));
        assert!(is_report_path("/api/v1/export/75001.zip"));
        assert!(is_report_path("/api/v1/export/school/0752401C.zip"));
        assert!(!is_report_path("/api/v1/export/a/b.zip"));
        assert!(!is_report_path("/api/v1/export/.zip"));
        assert!(!is_report_path("/api/v1/login"));
        assert!(!is_report_path("/api/v1/coverage/x"));
    }

    #[test]
    fn export_targets() {
        assert!(
            matches!(export_target("export/75001.zip"), Some(Target::PostalCode(c)) if c == "75001")
        );
        assert!(matches!(
            export_target("export/school/0752401c.zip"),
            Some(Target::School(r)) if r.as_str() == "0752401C"
        ));
        assert!(export_target("export/7500.zip").is_none());
        assert!(export_target("export/school/0752401D.zip").is_none());
        assert!(export_target("export/75001").is_none());
    }

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            param("q=%C3%A9tienne+marcel&limit=5", "q").unwrap(),
            "étienne marcel"
        );
        assert_eq!(param("q=a&limit=5", "limit").unwrap(), "5");
        assert!(param("x=1", "q").is_none());
    }
}
