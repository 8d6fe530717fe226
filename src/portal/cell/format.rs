//! How the crisis cell's pages write sizes, dates, digests, plan kinds and links: French
//! conventions (`1,5 Mo`, `12/03/2026 10:05 UTC`), names percent-encoded in URLs and escaped
//! in HTML.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::super::esc;
use crate::directory::Rne;
use crate::report::coverage::KindInfo;

/// Characters left as they are in a URL path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Digits of a sha256 shown in tables (the full digest is in the cell's title).
const SHORT_SHA: usize = 12;

/// A size in bytes, ko, Mo or Go with a decimal comma.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["ko", "Mo", "Go"];
    if bytes < 1000 {
        return format!("{bytes} o");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let text = if value < 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    };
    format!("{} {}", text.replace('.', ","), UNITS[unit])
}

/// An RFC 3339 UTC time as `JJ/MM/AAAA HH:MM UTC`; a dash when absent, the text itself when
/// it is not in the store's format.
pub fn date(rfc3339: Option<&str>) -> String {
    let Some(time) = rfc3339.filter(|t| !t.is_empty()) else {
        return "—".to_string();
    };
    let bytes = time.as_bytes();
    let shaped = time.len() >= 16
        && time.is_ascii()
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':';
    if !shaped {
        return esc(time);
    }
    format!(
        "{}/{}/{} {} UTC",
        &time[8..10],
        &time[5..7],
        &time[0..4],
        &time[11..16]
    )
}

/// The first digits of a sha256, with the whole digest as a tooltip.
pub fn short_sha(sha256: &str) -> String {
    let short: String = sha256.chars().take(SHORT_SHA).collect();
    format!("<code title=\"{}\">{}</code>", esc(sha256), esc(&short))
}

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
    fn sizes_in_french() {
        assert_eq!(size(512), "512 o");
        assert_eq!(size(1_500), "1,5 ko");
        assert_eq!(size(2_345_678), "2,3 Mo");
        assert_eq!(size(45_000_000), "45 Mo");
        assert_eq!(size(3_000_000_000_000), "3000 Go");
    }

    #[test]
    fn dates_in_french() {
        assert_eq!(
            date(Some("2026-03-12T10:05:07.25Z")),
            "12/03/2026 10:05 UTC"
        );
        assert_eq!(date(None), "—");
        assert_eq!(date(Some("<bad>")), "&lt;bad&gt;");
    }

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
