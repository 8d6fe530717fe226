//! How the crisis cell's pages write plan kinds and links: names percent-encoded in URLs and
//! escaped in HTML (sizes, dates and digests as every portal page writes them, from
//! `portal::format`).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

pub use crate::portal::format::{date, short_sha, size};

use super::super::esc;
use crate::directory::Rne;
use crate::report::coverage::KindInfo;

/// Characters left as they are in a URL path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The label of a plan kind id, the id itself when the policy no longer has it.
pub fn kind_label<'a>(kinds: &'a [KindInfo], id: &'a str) -> &'a str {
    kinds
        .iter()
        .find(|k| k.id == id)
        .map_or(id, |k| k.label.as_str())
}

/// Tags for plan kinds: `done` for those present (✓), `missing` for those absent (✗), so
/// that the difference does not rest on colour alone.
pub fn kind_tags(kinds: &[KindInfo], ids: &[String], class: &str) -> String {
    let mark = if class == "missing" { "✗" } else { "✓" };
    ids.iter()
        .map(|id| {
            format!(
                "<span class=\"tag {class}\">{mark} {}</span> ",
                esc(kind_label(kinds, id))
            )
        })
        .collect()
}

/// One URL path segment, percent-encoded.
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// The page of one establishment.
pub fn school_href(rne: &Rne) -> String {
    format!("/cellule/etablissement/{rne}")
}

/// The download link of one stored file (its path relative to the school folder).
pub fn file_href(rne: &Rne, path: &str) -> String {
    let encoded: Vec<String> = path.split('/').map(segment).collect();
    format!("/cellule/fichier/{rne}/{}", encoded.join("/"))
}

/// The page of one postal code.
pub fn postal_href(code: &str) -> String {
    format!("/cellule/cp/{}", segment(code))
}

/// A percentage rounded down to a whole number (0 when there is nothing to count).
pub fn percent(part: usize, whole: usize) -> usize {
    (part * 100).checked_div(whole).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_encoded() {
        let rne = Rne::parse("0752401C").unwrap();
        assert_eq!(
            file_href(&rne, "sous dossier/0752401C-plan é.pdf"),
            "/cellule/fichier/0752401C/sous%20dossier/0752401C-plan%20%C3%A9.pdf"
        );
        assert_eq!(segment("../x"), "..%2Fx");
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(0, 0), 0);
    }
}
