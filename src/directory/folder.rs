//! Folder names of the virtual tree: turning an official establishment name into a name every
//! WebDAV client (Windows, macOS, Linux) can show and open, and telling namesakes apart.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

use super::Rne;

/// What replaces a character no client may have in a file name. An underscore rather than a
/// hyphen, because hyphens are common in real names (`Saint-Maur`) and a replacement should
/// stay visible as one.
pub const REPLACEMENT: char = '_';

/// The name given when nothing usable is left of the input (empty, only dots or spaces).
pub const EMPTY_NAME: &str = "_";

/// Longest folder name in bytes. File systems cap a name at 255 bytes; the margin leaves room
/// for the RNE suffix and for clients that append their own marks.
pub const MAX_FOLDER_BYTES: usize = 200;

/// Windows refuses these as names, with or without an extension, in any case.
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Makes a folder name from an establishment name.
///
/// - Unicode NFC (macOS sends NFD, the data is NFC: one form is needed to compare).
/// - `/ \ : * ? " < > |` and control characters become [`REPLACEMENT`] (`_`); whitespace of
///   any kind (tab, new line, no-break spaces common in French typography) becomes a plain
///   space, and runs of spaces collapse to one.
/// - Invisible format characters (zero-width spaces, bidirectional overrides, byte-order
///   mark, soft hyphen) are removed: they make two names look equal while differing, or
///   reverse how a name is displayed.
/// - Leading and trailing spaces and dots are trimmed: Windows drops trailing ones, and a
///   leading dot hides the folder on macOS and Linux. So `.` and `..` never come out.
/// - A Windows reserved device name (`CON`, `NUL.txt`, `COM1`, ...) gets `_` after its stem.
/// - At most [`MAX_FOLDER_BYTES`] bytes, cut on a character boundary; never empty
///   ([`EMPTY_NAME`]).
pub fn safe_folder_name(name: &str) -> String {
    fit_folder_name(name, MAX_FOLDER_BYTES)
}

/// [`safe_folder_name`] within `max_bytes` (at least 1).
fn fit_folder_name(name: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.nfc() {
        let c = if c.is_whitespace() {
            ' '
        } else if is_invisible(c) {
            continue;
        } else if c.is_control()
            || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        {
            REPLACEMENT
        } else {
            c
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let mut out = trim_ends(&out).to_string();
    if let Some(stem_len) = windows_reserved_stem(&out) {
        // Windows looks at the part before the first dot: `NUL.txt` is the device too.
        out.insert(stem_len, '_');
    }
    if out.len() > max_bytes {
        let mut cut = max_bytes;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        // The cut may leave a space or a dot at the end.
        out = trim_ends(&out).to_string();
    }
    if out.is_empty() {
        out.push_str(EMPTY_NAME);
    }
    out
}

fn trim_ends(name: &str) -> &str {
    name.trim_matches(|c| c == ' ' || c == '.')
}

/// Format characters that render as nothing (or reorder text) but still make names differ:
/// soft hyphen, zero-width and direction marks, BOM.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The length of the name's stem when that stem is a Windows device name.
fn windows_reserved_stem(name: &str) -> Option<usize> {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    WINDOWS_RESERVED
        .iter()
        .any(|reserved| stem.eq_ignore_ascii_case(reserved))
        .then_some(stem.len())
}

/// The folder name of an establishment whose safe name is shared in its postal code:
/// `"<name> (<RNE>)"`, the name shortened so that the whole stays within the byte limit.
pub(super) fn disambiguated(name: &str, rne: &Rne) -> String {
    let suffix = format!(" ({rne})");
    let base = fit_folder_name(name, MAX_FOLDER_BYTES - suffix.len());
    format!("{base}{suffix}")
}

/// Chooses the folder name of each establishment of one postal code.
///
/// `members` are (name, RNE) pairs; the result has the same order. A name shared by several
/// members gets the RNE suffix on all of them, so no establishment keeps the plain name by the
/// luck of coming first and the result does not depend on the input order. Names are compared
/// ignoring case, because Windows and macOS clients cannot hold two folders that differ only in
/// case. A suffixed name could in theory equal another member's plain name; rounds repeat
/// until every name is unique, which takes at most two since suffixes carry distinct RNEs.
pub(super) fn assign_folder_names(members: &[(&str, &Rne)]) -> Vec<String> {
    let mut names: Vec<String> = members
        .iter()
        .map(|(name, _)| safe_folder_name(name))
        .collect();
    let mut suffixed = vec![false; members.len()];
    loop {
        let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            seen.entry(name.to_lowercase()).or_default().push(i);
        }
        let clashing: Vec<usize> = seen
            .into_values()
            .filter(|group| group.len() > 1)
            .flatten()
            .filter(|&i| !suffixed[i])
            .collect();
        if clashing.is_empty() {
            return names;
        }
        for i in clashing {
            let (name, rne) = members[i];
            names[i] = disambiguated(name, rne);
            suffixed[i] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_are_kept() {
        for name in [
            "E E PU ARBRE SEC",
            "Ecole élémentaire Robert Doisneau",
            "Ecole maternelle Jacques Prévert 1",
            "E P PR NOTRE DAME SAINT ROCH",
        ] {
            assert_eq!(safe_folder_name(name), name);
        }
    }

    #[test]
    fn unsafe_characters_are_replaced() {
        assert_eq!(
            safe_folder_name(r#"Ecole A/B\C:D*E?F"G<H>I|J"#),
            "Ecole A_B_C_D_E_F_G_H_I_J"
        );
        assert_eq!(
            safe_folder_name("Ecole\u{0}\u{7}\u{7f}\u{85}X"),
            "Ecole___ X"
        );
        assert_eq!(safe_folder_name("Ecole\tdes\r\nLilas"), "Ecole des Lilas");
    }

    #[test]
    fn spaces_collapse_and_ends_are_trimmed() {
        assert_eq!(
            safe_folder_name("  E E   PU\u{a0}\u{202f}ARBRE  SEC .. "),
            "E E PU ARBRE SEC"
        );
        assert_eq!(safe_folder_name(".hidden"), "hidden");
    }

    #[test]
    fn invisible_characters_are_removed() {
        assert_eq!(
            safe_folder_name("Eco\u{200b}le\u{202e} A\u{feff}"),
            "Ecole A"
        );
    }

    #[test]
    fn never_empty_nor_dot_names() {
        for name in ["", "   ", ".", "..", "...", " . ", "\u{200b}"] {
            assert_eq!(safe_folder_name(name), EMPTY_NAME, "{name:?}");
        }
    }

    #[test]
    fn windows_device_names_are_suffixed() {
        assert_eq!(safe_folder_name("con"), "con_");
        assert_eq!(safe_folder_name("NUL.txt"), "NUL_.txt");
        assert_eq!(safe_folder_name("COM1 "), "COM1_");
        assert_eq!(safe_folder_name("CONDORCET"), "CONDORCET");
    }

    #[test]
    fn nfd_becomes_nfc() {
        let nfd = "Ecole e\u{301}le\u{301}mentaire";
        assert_eq!(safe_folder_name(nfd), "Ecole élémentaire");
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let name = "é".repeat(150);
        let safe = safe_folder_name(&name);
        assert_eq!(safe.len(), 200);
        assert_eq!(safe, "é".repeat(100));
        let odd = format!("a{}", "é".repeat(150));
        assert_eq!(safe_folder_name(&odd).len(), 199);
        let spaced = format!("{} b", "a".repeat(199));
        assert_eq!(safe_folder_name(&spaced), "a".repeat(199));
    }

    #[test]
    fn namesakes_all_get_their_rne() {
        let a = Rne::parse("0750203N").unwrap();
        let b = Rne::parse("0750229S").unwrap();
        let c = Rne::parse("0750132L").unwrap();
        let members = [
            ("E P PR FENELON SAINTE MARIE", &a),
            ("E P PR NOTRE DAME SAINT ROCH", &c),
            ("E P PR FENELON SAINTE MARIE", &b),
        ];
        let names = assign_folder_names(&members);
        assert_eq!(
            names,
            [
                "E P PR FENELON SAINTE MARIE (0750203N)",
                "E P PR NOTRE DAME SAINT ROCH",
                "E P PR FENELON SAINTE MARIE (0750229S)",
            ]
        );
        let reversed: Vec<_> = members.iter().rev().copied().collect();
        let mut again = assign_folder_names(&reversed);
        again.reverse();
        assert_eq!(again, names);
    }

    #[test]
    fn names_differing_in_case_or_unsafe_characters_clash() {
        let a = Rne::parse("0750203N").unwrap();
        let b = Rne::parse("0750229S").unwrap();
        let names = assign_folder_names(&[("Ecole A/B", &a), ("ECOLE A:B", &b)]);
        assert_eq!(names, ["Ecole A_B (0750203N)", "ECOLE A_B (0750229S)"]);
    }

    #[test]
    fn a_suffixed_name_never_equals_another_plain_name() {
        let a = Rne::parse("0750203N").unwrap();
        let b = Rne::parse("0750229S").unwrap();
        let c = Rne::parse("0750132L").unwrap();
        let names = assign_folder_names(&[("X", &a), ("X", &b), ("X (0750203N)", &c)]);
        assert_eq!(
            names,
            ["X (0750203N)", "X (0750229S)", "X (0750203N) (0750132L)"]
        );
    }

    #[test]
    fn suffixed_long_names_stay_within_the_limit() {
        let a = Rne::parse("0750203N").unwrap();
        let b = Rne::parse("0750229S").unwrap();
        let long = "é".repeat(150);
        let names = assign_folder_names(&[(&long, &a), (&long, &b)]);
        for name in &names {
            assert!(name.len() <= MAX_FOLDER_BYTES, "{}", name.len());
        }
        assert!(names[0].ends_with(" (0750203N)"));
    }
}
