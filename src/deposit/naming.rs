//! How a name sent by a client becomes a stored name: Unicode NFC, checked for characters no
//! client file system accepts, prefixed with the school's RNE exactly once.

use unicode_normalization::UnicodeNormalization;

use crate::directory::Rne;
use crate::storage::MAX_STORED_NAME_BYTES;

/// Why a requested name cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty file name")]
    Empty,
    #[error("file name contains a slash, backslash, colon or control character")]
    Forbidden,
    #[error("file name is over {MAX_STORED_NAME_BYTES} bytes once prefixed")]
    TooLong,
}

impl NameError {
    /// What the user reads.
    pub fn message_fr(&self) -> &'static str {
        match self {
            NameError::Empty => "nom de fichier vide",
            NameError::Forbidden => "nom de fichier invalide (caractère interdit)",
            NameError::TooLong => "nom de fichier trop long (255 octets au plus, préfixe compris)",
        }
    }
}

/// The NFC form of a name, as every comparison in the tree uses it.
pub fn nfc(name: &str) -> String {
    name.nfc().collect()
}

/// The stored name for `requested` deposited by `rne`: `<RNE>-<name>`, never `RNE-RNE-…`
/// (a name already carrying this school's prefix, in any case, keeps one), while a name
/// starting with another school's RNE gets this school's prefix in front.
pub fn stored_name(rne: &Rne, requested: &str) -> Result<String, NameError> {
    let name = nfc(requested.trim());
    if name.is_empty() || name == "." || name == ".." {
        return Err(NameError::Empty);
    }
    let forbidden = |c: char| c == '/' || c == '\\' || c == ':' || c.is_control();
    if name.chars().any(forbidden) {
        return Err(NameError::Forbidden);
    }
    let prefix = format!("{rne}-");
    let rest = match name.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(&prefix) => &name[prefix.len()..],
        _ => name.as_str(),
    };
    if rest.is_empty() {
        return Err(NameError::Empty);
    }
    let stored = format!("{prefix}{rest}");
    if stored.len() > MAX_STORED_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rne() -> Rne {
        Rne::parse("0752401C").unwrap()
    }

    #[test]
    fn prefixes_once() {
        assert_eq!(
            stored_name(&rne(), "plan.pdf").unwrap(),
            "0752401C-plan.pdf"
        );
        assert_eq!(
            stored_name(&rne(), "0752401C-plan.pdf").unwrap(),
            "0752401C-plan.pdf"
        );
        assert_eq!(
            stored_name(&rne(), "0752401c-plan.pdf").unwrap(),
            "0752401C-plan.pdf"
        );
        assert_eq!(
            stored_name(&rne(), "0750132L-plan.pdf").unwrap(),
            "0752401C-0750132L-plan.pdf"
        );
        assert_eq!(
            stored_name(&rne(), "0752401Cplan.pdf").unwrap(),
            "0752401C-0752401Cplan.pdf"
        );
    }

    #[test]
    fn normalises_to_nfc() {
        let nfd = "e\u{301}cole.pdf";
        assert_eq!(stored_name(&rne(), nfd).unwrap(), "0752401C-\u{e9}cole.pdf");
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(stored_name(&rne(), ""), Err(NameError::Empty));
        assert_eq!(stored_name(&rne(), ".."), Err(NameError::Empty));
        assert_eq!(stored_name(&rne(), "0752401C-"), Err(NameError::Empty));
        for bad in ["a/b.pdf", "a\\b.pdf", "a\0.pdf", "c:x.pdf", "a\nb.pdf"] {
            assert_eq!(
                stored_name(&rne(), bad),
                Err(NameError::Forbidden),
                "{bad:?}"
            );
        }
        assert_eq!(stored_name(&rne(), &"é".repeat(123)).unwrap().len(), 255);
        assert_eq!(
            stored_name(&rne(), &("é".repeat(123) + "x")),
            Err(NameError::TooLong)
        );
    }
}
