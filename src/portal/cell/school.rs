//! One establishment (`/cellule/etablissement/<RNE>`): what the directory says of it, the
//! plan kinds it has and misses, and its current files (latest versions) with size, deposit
//! date, short sha256, plan kind and number of versions kept, each with its download link;
//! plus the link to the ZIP of all of them. Establishments absent from the directory are
//! shown too, as long as they have deposits.

use std::sync::Arc;

use dav_server::body::Body;
use http::{Response, StatusCode};

use super::format::{date, file_href, kind_label, kind_tags, postal_href, short_sha, size};
use super::{blocking, deposits, not_found, page};
use crate::directory::Rne;
use crate::portal::esc;
use crate::portal::format::plural;
use crate::report::coverage::{kind_infos, school_coverage, UNLISTED};
use crate::server::App;

async fn page_for(app: &Arc<App>, rne: Rne) -> Response<Body> {
    let built = blocking(app, move |app| {
        let policy = app.fs.policy();
        let found = school_coverage(app.fs.directory(), policy, &deposits(app), &rne)?;
        Ok(found.map(|school| (kind_infos(policy), school)))
    })
    .await;
    let (kinds, school) = match built {
        Ok(Some(found)) => found,
        Ok(None) => return not_found("Aucun établissement connu n'a ce code RNE."),
        Err(response) => return response,
    };
    let listed = school.postal_code != UNLISTED;
    let title = if listed {
        school.name.clone()
    } else {
        format!("{} ({})", school.rne, UNLISTED)
    };
    let crumbs = if listed {
        format!(
            "<a href=\"{}\">{}</a>",
            postal_href(&school.postal_code),
            esc(&school.postal_code)
        )
    } else {
        format!("<a href=\"/cellule/#hors-annuaire\">{}</a>", esc(UNLISTED))
    };
    let mut body = format!(
        "<p><a href=\"/cellule/\">Arborescence</a> › {crumbs} › {}</p>\
         <table class=\"fiche\"><tbody>\
         <tr><th scope=\"row\">RNE</th><td><code>{}</code></td></tr>\
         <tr><th scope=\"row\">Code postal</th><td>{}</td></tr>\
         <tr><th scope=\"row\">Commune</th><td>{}</td></tr>\
         <tr><th scope=\"row\">Secteur</th><td>{}</td></tr>\
         <tr><th scope=\"row\">Type</th><td>{}</td></tr>\
         <tr><th scope=\"row\">Dossier</th><td>{}</td></tr>\
         <tr><th scope=\"row\">Plans</th><td>{}{}</td></tr>\
         </tbody></table>",
        esc(&school.folder),
        school.rne,
        esc(&school.postal_code),
        esc(&school.commune),
        esc(&school.sector),
        esc(&school.establishment_kind),
        esc(&school.folder),
        kind_tags(&kinds, &school.kinds, "done"),
        kind_tags(&kinds, &school.missing, "missing"),
    );
    if school.files.is_empty() {
        body.push_str(
            "<p class=\"notice\" id=\"fichiers\">Cet établissement n'a encore rien déposé.</p>",
        );
        return page(StatusCode::OK, &title, &body);
    }
    body.push_str(&format!(
        "<h2>Fichiers déposés</h2>\
         <p>{} {}, {} au total. <a class=\"button\" \
         href=\"/api/v1/export/school/{}.zip\" download>Tout télécharger (zip)</a></p>\
         <table id=\"fichiers\"><caption>Dernière version de chaque fichier</caption><thead>\
         <tr><th scope=\"col\">Fichier</th><th scope=\"col\">Type de plan</th>\
         <th scope=\"col\" class=\"num\">Taille</th><th scope=\"col\">Déposé le</th>\
         <th scope=\"col\" class=\"num\">Versions</th>\
         <th scope=\"col\">Empreinte (sha256)</th></tr></thead><tbody>",
        school.files.len(),
        plural(school.files.len(), "fichier", "fichiers"),
        size(school.bytes),
        school.rne,
    ));
    for file in &school.files {
        let versions = if file.versions_kept == file.version {
            file.version.to_string()
        } else {
            // Older versions were pruned by the policy: the latest number says how many came.
            format!("{} (dernière : n° {})", file.versions_kept, file.version)
        };
        body.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"{href}\">{name}</a></th><td>{kind}</td>\
             <td class=\"num\">{}</td><td>{}</td><td class=\"num\">{versions}</td>\
             <td>{}</td></tr>",
            size(file.bytes),
            date(Some(&file.deposited_at)),
            short_sha(&file.sha256),
            href = file_href(&school.rne, &file.name),
            name = esc(&file.name),
            kind = esc(kind_label(&kinds, &file.kind)),
        ));
    }
    body.push_str("</tbody></table>");
    page(StatusCode::OK, &title, &body)
}

/// `/cellule/etablissement/<RNE>`, the RNE checked first.
pub async fn show(app: &Arc<App>, rne: &str) -> Response<Body> {
    match Rne::parse(rne) {
        Ok(rne) => page_for(app, rne).await,
        Err(_) => not_found("Code RNE invalide."),
    }
}
