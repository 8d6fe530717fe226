//! « Arborescence »: the postal codes with their counts (`/cellule/`), then the establishments
//! of one postal code (`/cellule/cp/<code>`) with name, RNE, sector, kind, deposits and the
//! last deposit date. Establishments absent from the directory are listed at the top level,
//! under « RNE hors annuaire ».

use std::sync::Arc;

use dav_server::body::Body;
use http::{Response, StatusCode};

use super::format::{date, kind_tags, postal_href, school_href, size};
use super::{blocking, deposits, not_found, page};
use crate::portal::esc;
use crate::portal::format::plural;
use crate::report::coverage::{postal_coverage, Coverage, KindInfo, UNLISTED};
use crate::report::tree::{PostalTree, SchoolSummary, TreeOverview};
use crate::server::App;

/// `/cellule/`: every postal code, then the establishments absent from the directory.
pub async fn overview(app: &Arc<App>) -> Response<Body> {
    let built = blocking(app, |app| {
        Coverage::build(app.fs.directory(), app.fs.policy(), &deposits(app))
            .map(|c| TreeOverview::of(&c))
    })
    .await;
    let tree = match built {
        Ok(tree) => tree,
        Err(response) => return response,
    };
    let totals = &tree.totals;
    let mut body = format!(
        "<p class=\"notice\">{} établissements dans l'annuaire, {} {} ({} {}, {}). \
         Dernier dépôt : {}.</p>\
         <p>Choisissez un code postal pour voir ses établissements, ou \
         <a href=\"/cellule/recherche\">recherchez</a> un établissement ou un fichier.</p>\
         <table id=\"codes-postaux\"><caption>Codes postaux</caption><thead><tr>\
         <th scope=\"col\">Code postal</th><th scope=\"col\" class=\"num\">Établissements</th>\
         <th scope=\"col\" class=\"num\">Ayant déposé</th>\
         <th scope=\"col\" class=\"num\">Fichiers</th><th scope=\"col\">Dernier dépôt</th>\
         <th scope=\"col\">Archive</th></tr></thead><tbody>",
        totals.establishments,
        totals.with_deposits,
        plural(totals.with_deposits, "a déposé", "ont déposé"),
        totals.deposits,
        plural(totals.deposits, "fichier", "fichiers"),
        size(totals.bytes),
        date(totals.last_deposit.as_deref()),
    );
    for postal in &tree.postal_codes {
        let code = esc(&postal.postal_code);
        let archive = if postal.deposits > 0 {
            format!("<a href=\"/api/v1/export/{code}.zip\" download>{code}.zip</a>")
        } else {
            "—".to_string()
        };
        body.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"{href}\">{code}</a></th>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{archive}</td></tr>",
            postal.establishments,
            postal.with_deposits,
            postal.deposits,
            date(postal.last_deposit.as_deref()),
            href = postal_href(&postal.postal_code),
        ));
    }
    body.push_str("</tbody></table>");
    body.push_str(&format!("<h2 id=\"hors-annuaire\">{}</h2>", esc(UNLISTED)));
    if tree.unlisted.is_empty() {
        body.push_str("<p>Aucun dépôt d'un établissement absent de l'annuaire.</p>");
    } else {
        body.push_str(
            "<p>Ces établissements ont déposé mais ne figurent pas dans l'annuaire chargé.</p>",
        );
        body.push_str(&schools_table(
            &tree.kinds,
            &tree.unlisted,
            "hors-annuaire-liste",
        ));
    }
    page(StatusCode::OK, "Arborescence", &body)
}

/// `/cellule/cp/<code>`: the establishments of one postal code.
pub async fn postal_code(app: &Arc<App>, code: &str) -> Response<Body> {
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return not_found("Code postal inconnu : cinq chiffres attendus.");
    }
    let wanted = code.to_string();
    let built = blocking(app, move |app| {
        let policy = app.fs.policy();
        let found = postal_coverage(app.fs.directory(), policy, &deposits(app), &wanted)?;
        let kinds = crate::report::coverage::kind_infos(policy);
        Ok(found.map(|p| (kinds, PostalTree::of(&p))))
    })
    .await;
    let (kinds, tree) = match built {
        Ok(Some(found)) => found,
        Ok(None) => return not_found("Aucun établissement de l'annuaire n'a ce code postal."),
        Err(response) => return response,
    };
    let summary = &tree.summary;
    let code = esc(&summary.postal_code);
    let archive = if summary.deposits > 0 {
        format!(
            " <a class=\"button\" href=\"/api/v1/export/{code}.zip\" download>\
             Télécharger les plans du {code} (zip)</a>"
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p><a href=\"/cellule/\">Arborescence</a> › {code}</p>\
         <p class=\"notice\">{} établissements, {} {}, {} {} ; {} {} ({}). \
         Dernier dépôt : {}.{archive}</p>{}",
        summary.establishments,
        summary.with_deposits,
        plural(summary.with_deposits, "a déposé", "ont déposé"),
        summary.complete,
        plural(summary.complete, "complet", "complets"),
        summary.deposits,
        plural(summary.deposits, "fichier", "fichiers"),
        size(summary.bytes),
        date(summary.last_deposit.as_deref()),
        schools_table(&kinds, &tree.schools, "etablissements"),
    );
    page(
        StatusCode::OK,
        &format!("Code postal {}", summary.postal_code),
        &body,
    )
}

/// A table of establishments with their counts, linking to their pages.
fn schools_table(kinds: &[KindInfo], schools: &[SchoolSummary], id: &str) -> String {
    let mut table = format!(
        "<table id=\"{id}\"><thead><tr><th scope=\"col\">Établissement</th>\
         <th scope=\"col\">RNE</th><th scope=\"col\">Secteur</th><th scope=\"col\">Type</th>\
         <th scope=\"col\" class=\"num\">Fichiers</th><th scope=\"col\">Dernier dépôt</th>\
         <th scope=\"col\">Plans</th></tr></thead><tbody>"
    );
    for school in schools {
        let name = if school.name.is_empty() {
            "(hors annuaire)".to_string()
        } else {
            esc(&school.name)
        };
        table.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"{href}\">{name}</a></th><td><code>{rne}</code></td>\
             <td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&school.sector),
            esc(&school.establishment_kind),
            school.deposits,
            date(school.last_deposit.as_deref()),
            kind_tags(kinds, &school.kinds, "done"),
            kind_tags(kinds, &school.missing, "missing"),
            href = school_href(&school.rne),
            rne = school.rne,
        ));
    }
    table.push_str("</tbody></table>");
    table
}
