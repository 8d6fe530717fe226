//! File-name rules every deposit obeys whatever the policy file says (a name is one segment,
//! printable, portable to Windows workstations of the crisis cell), plus the length limit the
//! policy sets. Unicode normalisation (NFC) is done by the caller before this check.

/// What is wrong with a deposited file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameFault {
    #[error("the name is empty")]
    Empty,
    #[error("`.` and `..` are not file names")]
    DotName,
    #[error("the name contains the path separator {0:?}")]
    Separator(char),
    #[error("the name contains a control character")]
    ControlChar,
    #[error("the name contains an invisible formatting character (U+{0:04X})")]
    Invisible(u32),
    #[error("the name contains {0:?}, which Windows does not accept in a file name")]
    Reserved(char),
    #[error("the name ends with a dot or a space, which Windows strips")]
    TrailingDotOrSpace,
    #[error("the name is {bytes} bytes long, over max_name_bytes = {limit}")]
    TooLong { bytes: usize, limit: u32 },
}

/// Characters Windows refuses in file names, besides the separators and control characters.
// Limitation: reserved device names (CON, NUL, COM1...) are not refused (every stored name starts
// with the RNE prefix, so it can never be one).
const WINDOWS_RESERVED: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

impl NameFault {
    /// Short explanation for users, in French.
    pub fn message_fr(&self) -> String {
        match self {
            NameFault::Empty => "le nom est vide".to_string(),
            NameFault::DotName => "« . » et « .. » ne sont pas des noms de fichier".to_string(),
            NameFault::Separator(c) => format!("le nom contient le séparateur « {c} »"),
            NameFault::ControlChar => "le nom contient un caractère de contrôle".to_string(),
            NameFault::Invisible(_) => {
                "le nom contient un caractère invisible (sens d'écriture, espace nulle)".to_string()
            }
            NameFault::Reserved(c) => {
                format!("le nom contient « {c} », refusé par Windows")
            }
            NameFault::TrailingDotOrSpace => {
                "le nom se termine par un point ou une espace".to_string()
            }
            NameFault::TooLong { limit, .. } => {
                format!("le nom est trop long (au plus {limit} octets)")
            }
        }
    }
}

/// The first fault of `name`, or `None` when it is an acceptable file name.
pub(crate) fn fault(name: &str, max_bytes: u32) -> Option<NameFault> {
    if name.is_empty() {
        return Some(NameFault::Empty);
    }
    if name == "." || name == ".." {
        return Some(NameFault::DotName);
    }
    if let Some(c) = name.chars().find(|&c| c == '/' || c == '\\') {
        return Some(NameFault::Separator(c));
    }
    if name.chars().any(char::is_control) {
        return Some(NameFault::ControlChar);
    }
    // Direction overrides and zero-width characters make names that read as something else
    // (`plan\u{202E}fdp.exe` shows as `planexe.pdf`).
    if let Some(c) = name.chars().find(|&c| crate::directory::is_invisible(c)) {
        return Some(NameFault::Invisible(c as u32));
    }
    if let Some(c) = name.chars().find(|c| WINDOWS_RESERVED.contains(c)) {
        return Some(NameFault::Reserved(c));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some(NameFault::TrailingDotOrSpace);
    }
    let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    if name.len() > limit {
        return Some(NameFault::TooLong {
            bytes: name.len(),
            limit: max_bytes,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for name in [
            "plan.pdf",
            "PPMS école Jules Ferry (2024).odt",
            ".hidden.pdf",
            " leading space.pdf",
        ] {
            assert_eq!(fault(name, 200), None, "{name}");
        }
    }

    #[test]
    fn each_fault_is_found() {
        assert_eq!(fault("", 200), Some(NameFault::Empty));
        assert_eq!(fault("..", 200), Some(NameFault::DotName));
        assert_eq!(fault("a/b.pdf", 200), Some(NameFault::Separator('/')));
        assert_eq!(fault("a\\b.pdf", 200), Some(NameFault::Separator('\\')));
        assert_eq!(fault("a\nb.pdf", 200), Some(NameFault::ControlChar));
        assert_eq!(fault("plan?.pdf", 200), Some(NameFault::Reserved('?')));
        assert_eq!(
            fault("plan\u{202E}fdp.exe", 200),
            Some(NameFault::Invisible(0x202E))
        );
        assert_eq!(
            fault("pl\u{200B}an.pdf", 200),
            Some(NameFault::Invisible(0x200B))
        );
        assert_eq!(fault("plan.pdf.", 200), Some(NameFault::TrailingDotOrSpace));
        assert_eq!(fault("plan.pdf ", 200), Some(NameFault::TrailingDotOrSpace));
    }

    #[test]
    fn length_is_counted_in_utf8_bytes_and_the_limit_is_inclusive() {
        let at_limit = format!("{}.pdf", "é".repeat(98)); // 196 + 4 = 200 bytes
        assert_eq!(at_limit.len(), 200);
        assert_eq!(fault(&at_limit, 200), None);
        let over = format!("x{at_limit}");
        assert_eq!(
            fault(&over, 200),
            Some(NameFault::TooLong {
                bytes: 201,
                limit: 200
            })
        );
    }
}
