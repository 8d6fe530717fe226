//! « Couverture » (`/cellule/couverture`): per postal code, how many establishments have each
//! expected plan kind, with totals, a bar chart of the coverage and, folded per postal code,
//! the establishments still missing something. The chart is inline SVG with attributes only
//! (the pages' CSP allows no inline style). The same report is offered as CSV.

use std::sync::Arc;

use dav_server::body::Body;
use http::{Response, StatusCode};

use super::format::{date, kind_tags, percent, postal_href, school_href};
use super::{blocking, deposits, page as cell_page};
use crate::portal::esc;
use crate::portal::format::plural;
use crate::report::coverage::{Coverage, KindInfo, PostalCoverage};
use crate::server::App;

/// Bar colour: the portal's accent.
const BAR_FILL: &str = "#000091";

/// Plans expected and plans present (establishments × expected kinds) in a postal code.
fn plans(kinds: &[KindInfo], postal: &PostalCoverage) -> (usize, usize) {
    let expected: Vec<&KindInfo> = kinds.iter().filter(|k| k.expected).collect();
    let present = expected
        .iter()
        .map(|k| postal.per_kind.get(&k.id).copied().unwrap_or(0))
        .sum();
    (postal.establishments * expected.len(), present)
}

pub async fn page(app: &Arc<App>) -> Response<Body> {
    let built = blocking(app, |app| {
        Coverage::build(app.fs.directory(), app.fs.policy(), &deposits(app))
    })
    .await;
    let report = match built {
        Ok(report) => report,
        Err(response) => return response,
    };
    let totals = &report.totals;
    let (all_expected, all_present) = report
        .postal_codes
        .iter()
        .map(|p| plans(&report.kinds, p))
        .fold((0, 0), |(e, p), (e2, p2)| (e + e2, p + p2));
    let mut body = format!(
        "<p class=\"notice\">{} établissements ; {} {} au moins un fichier, {} {} \
         tous les plans attendus. {} % des plans attendus sont déposés. Dernier dépôt : {}.</p>\
         <p><a class=\"button\" id=\"csv\" href=\"/api/v1/coverage.csv\" download>\
         Télécharger le rapport (CSV)</a></p>",
        totals.establishments,
        totals.with_deposits,
        plural(totals.with_deposits, "a déposé", "ont déposé"),
        totals.complete,
        plural(totals.complete, "a", "ont"),
        percent(all_present, all_expected),
        date(totals.last_deposit.as_deref()),
    );
    body.push_str(&chart(&report));
    body.push_str(&table(&report, all_expected, all_present));
    body.push_str(&missing(&report));
    if !report.unlisted.is_empty() {
        body.push_str(&format!(
            "<p>{} établissements hors annuaire ont aussi déposé : voir \
             l'<a href=\"/cellule/#hors-annuaire\">arborescence</a>.</p>",
            report.unlisted.len()
        ));
    }
    cell_page(StatusCode::OK, "Couverture", &body)
}

/// One bar per postal code: the share of expected plans deposited.
fn chart(report: &Coverage) -> String {
    let mut html = String::from(
        "<h2 id=\"graphique\">Plans attendus déposés, par code postal</h2>\
         <div class=\"bar-chart\" aria-labelledby=\"graphique\">",
    );
    for postal in &report.postal_codes {
        let (expected, present) = plans(&report.kinds, postal);
        let share = percent(present, expected);
        html.push_str(&format!(
            "<span>{code}</span>\
             <svg class=\"track\" width=\"100%\" height=\"16\" viewBox=\"0 0 100 16\" \
             preserveAspectRatio=\"none\" aria-hidden=\"true\" focusable=\"false\">\
             <rect x=\"0\" y=\"0\" width=\"{share}\" height=\"16\" fill=\"{BAR_FILL}\"/></svg>\
             <span class=\"num\">{share} %</span>",
            code = esc(&postal.postal_code),
        ));
    }
    html.push_str("</div>");
    html
}

/// The numbers behind the chart, with the totals in the footer.
fn table(report: &Coverage, all_expected: usize, all_present: usize) -> String {
    let kind_heads: String = report
        .kinds
        .iter()
        .map(|k| format!("<th scope=\"col\" class=\"num\">{}</th>", esc(&k.label)))
        .collect();
    let mut html = format!(
        "<table id=\"couverture\"><caption>Établissements ayant déposé chaque type de plan\
         </caption><thead><tr><th scope=\"col\">Code postal</th>\
         <th scope=\"col\" class=\"num\">Établissements</th>\
         <th scope=\"col\" class=\"num\">Ayant déposé</th>\
         <th scope=\"col\" class=\"num\">Complets</th>{kind_heads}\
         <th scope=\"col\" class=\"num\">Couverture</th></tr></thead><tbody>"
    );
    for postal in &report.postal_codes {
        let (expected, present) = plans(&report.kinds, postal);
        let per_kind: String = report
            .kinds
            .iter()
            .map(|k| {
                let n = postal.per_kind.get(&k.id).copied().unwrap_or(0);
                format!("<td class=\"num\">{n}</td>")
            })
            .collect();
        html.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"{}\">{}</a></th><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td>{per_kind}\
             <td class=\"num\">{} %</td></tr>",
            postal_href(&postal.postal_code),
            esc(&postal.postal_code),
            postal.establishments,
            postal.with_deposits,
            postal.complete,
            percent(present, expected),
        ));
    }
    let totals = &report.totals;
    let per_kind: String = report
        .kinds
        .iter()
        .map(|k| {
            let n = totals.per_kind.get(&k.id).copied().unwrap_or(0);
            format!("<td class=\"num\">{n}</td>")
        })
        .collect();
    html.push_str(&format!(
        "</tbody><tfoot><tr><th scope=\"row\">Total</th><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td>{per_kind}\
         <td class=\"num\">{} %</td></tr></tfoot></table>",
        totals.establishments,
        totals.with_deposits,
        totals.complete,
        percent(all_present, all_expected),
    ));
    html
}

/// Per postal code, folded, the establishments missing an expected plan and which.
fn missing(report: &Coverage) -> String {
    let incomplete: usize = report
        .postal_codes
        .iter()
        .map(|p| p.establishments - p.complete)
        .sum();
    let mut html = format!(
        "<h2 id=\"manquants-titre\">Plans manquants</h2>\
         <p>{incomplete} établissements n'ont pas encore tous les plans attendus. Ouvrez un code \
         postal pour voir lesquels.</p><div id=\"manquants\">"
    );
    for postal in &report.postal_codes {
        let lacking: Vec<_> = postal
            .schools
            .iter()
            .filter(|s| !s.missing.is_empty())
            .collect();
        if lacking.is_empty() {
            continue;
        }
        html.push_str(&format!(
            "<details><summary>{} — {} établissements incomplets</summary><ul>",
            esc(&postal.postal_code),
            lacking.len()
        ));
        for school in lacking {
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a> (<code>{}</code>) : {}</li>",
                school_href(&school.rne),
                esc(&school.name),
                school.rne,
                kind_tags(&report.kinds, &school.missing, "missing"),
            ));
        }
        html.push_str("</ul></details>");
    }
    html.push_str("</div>");
    html
}
