//! The tree as JSON, for scripts and pages: `tree` (postal codes with their counts, then the
//! establishments absent from the directory), `tree/<postal code>` (its establishments with
//! counts, plan kinds and last deposit) and `schools/<RNE>` (one establishment and its current
//! files). The same summaries as the `/cellule/` pages (see `report::tree`).

use std::sync::Arc;

use dav_server::body::Body;
use http::{Response, StatusCode};
use serde::Serialize;

use super::super::{error, json_response};
use super::{blocking, deposits};
use crate::directory::Rne;
use crate::report::coverage::{postal_coverage, school_coverage, Coverage};
use crate::report::tree::{PostalTree, TreeOverview};
use crate::server::App;

fn json<T: Serialize>(value: &T) -> Response<Body> {
    match serde_json::to_value(value) {
        Ok(value) => json_response(StatusCode::OK, value),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "erreur interne"),
    }
}

/// `GET /api/v1/tree`.
pub(super) async fn overview(app: &Arc<App>) -> Response<Body> {
    let built = blocking(app, |app| {
        Coverage::build(app.fs.directory(), app.fs.policy(), &deposits(app))
            .map(|c| TreeOverview::of(&c))
    })
    .await;
    match built {
        Ok(tree) => json(&tree),
        Err(response) => response,
    }
}

/// `GET /api/v1/tree/<postal code>`.
pub(super) async fn postal_code(app: &Arc<App>, code: &str) -> Response<Body> {
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return error(StatusCode::NOT_FOUND, "code postal inconnu");
    }
    let code = code.to_string();
    let built = blocking(app, move |app| {
        let found = postal_coverage(app.fs.directory(), app.fs.policy(), &deposits(app), &code)?;
        Ok(found.map(|p| PostalTree::of(&p)))
    })
    .await;
    match built {
        Ok(Some(tree)) => json(&tree),
        Ok(None) => error(StatusCode::NOT_FOUND, "code postal inconnu"),
        Err(response) => response,
    }
}

/// `GET /api/v1/schools/<RNE>`.
pub(super) async fn school(app: &Arc<App>, rne: &str) -> Response<Body> {
    let Ok(rne) = Rne::parse(rne) else {
        return error(StatusCode::NOT_FOUND, "code RNE invalide");
    };
    let built = blocking(app, move |app| {
        school_coverage(app.fs.directory(), app.fs.policy(), &deposits(app), &rne)
    })
    .await;
    match built {
        Ok(Some(school)) => json(&school),
        Ok(None) => error(StatusCode::NOT_FOUND, "établissement inconnu"),
        Err(response) => response,
    }
}
