//! « Recherche » (`/cellule/recherche?q=`): one field over establishment name, RNE, postal
//! code, commune and stored file names, accents and case ignored (`etienne` finds
//! `ÉTIENNE MARCEL`). A plain GET form, so it works without JavaScript and a result page can
//! be bookmarked. Results link to the establishments' pages and to the matching files.

use std::sync::Arc;
use std::time::Instant;

use dav_server::body::Body;
use http::{Response, StatusCode};
use percent_encoding::percent_decode_str;

use super::format::{file_href, postal_href, school_href};
use super::{bad_request, blocking, deposits};
use crate::portal::esc;
use crate::report::search::{Results, SearchIndex, DEFAULT_LIMIT};
use crate::server::App;

/// Longest search text accepted, in characters (as the JSON search).
const MAX_QUERY_CHARS: usize = 200;

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

fn form(text: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/cellule/recherche\" role=\"search\">\
         <p><label for=\"recherche\">Entrer le texte à rechercher</label><br>\
         <input type=\"search\" name=\"q\" id=\"recherche\" value=\"{}\" \
         maxlength=\"{MAX_QUERY_CHARS}\" autocomplete=\"off\" \
         aria-describedby=\"recherche-aide\"> <button type=\"submit\">Rechercher</button></p>\
         <p id=\"recherche-aide\">Nom d'établissement, code RNE, code postal, commune ou nom de \
         fichier ; les accents et les majuscules sont ignorés.</p></form>",
        esc(text)
    )
}

pub async fn page(app: &Arc<App>, query: &str) -> Response<Body> {
    let text = param(query, "q").unwrap_or_default();
    let text = text.trim().to_string();
    if text.is_empty() {
        return page_with(StatusCode::OK, &form(""));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return bad_request("Texte à rechercher trop long.");
    }
    let cache = app.search_index.clone();
    let asked = text.clone();
    let found = blocking(app, move |app| {
        let started = Instant::now();
        let results = SearchIndex::query_cached(
            &cache,
            app.fs.directory(),
            &deposits(app),
            &asked,
            DEFAULT_LIMIT,
        )?;
        Ok((results, started.elapsed()))
    })
    .await;
    let (results, took) = match found {
        Ok(found) => found,
        Err(response) => return response,
    };
    tracing::debug!(
        took_ms = took.as_secs_f64() * 1000.0,
        hits = results.total,
        "search"
    );
    let body = format!("{}{}", form(&text), results_html(&results, took));
    page_with(StatusCode::OK, &body)
}

fn page_with(status: StatusCode, body: &str) -> Response<Body> {
    super::page(status, "Recherche", body)
}

fn results_html(results: &Results, took: std::time::Duration) -> String {
    let ms = format!("{:.1}", took.as_secs_f64() * 1000.0).replace('.', ",");
    let count = match results.total {
        0 => "Aucun établissement trouvé".to_string(),
        1 => "1 établissement trouvé".to_string(),
        n => format!("{n} établissements trouvés"),
    };
    let shown = if results.total > results.results.len() {
        format!(
            " ; les {} premiers sont affichés, précisez la recherche",
            results.results.len()
        )
    } else {
        String::new()
    };
    let mut html = format!(
        "<h2>Résultats</h2><p role=\"status\" id=\"resultats-nombre\">{count}{shown} \
         <span class=\"tag\">{ms} ms</span></p><ol id=\"resultats\">"
    );
    for hit in &results.results {
        let name = if hit.name.is_empty() {
            "(hors annuaire)".to_string()
        } else {
            esc(&hit.name)
        };
        let place = if hit.commune.is_empty() {
            esc(&hit.postal_code)
        } else {
            format!(
                "<a href=\"{}\">{}</a> {}",
                postal_href(&hit.postal_code),
                esc(&hit.postal_code),
                esc(&hit.commune)
            )
        };
        html.push_str(&format!(
            "<li><a href=\"{}\"><strong>{name}</strong></a> — <code>{}</code> — {place}",
            school_href(&hit.rne),
            hit.rne,
        ));
        if !hit.files.is_empty() {
            html.push_str("<ul>");
            for file in &hit.files {
                html.push_str(&format!(
                    "<li><a href=\"{}\">{}</a></li>",
                    file_href(&hit.rne, file),
                    esc(file)
                ));
            }
            html.push_str("</ul>");
        }
        html.push_str("</li>");
    }
    html.push_str("</ol>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_decoded() {
        assert_eq!(
            param("q=%C3%A9tienne+marcel", "q").unwrap(),
            "étienne marcel"
        );
        assert!(param("x=1", "q").is_none());
    }

    #[test]
    fn the_form_keeps_the_text_escaped() {
        let html = form("\"><script>");
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(html.contains("id=\"recherche\""));
    }
}
