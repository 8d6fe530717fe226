//! `Refusal`: why the policy turns a deposit down, with a short French message for the user, an
//! English one for logs (`Display`) and the HTTP status the faces answer with. The faces map it;
//! the policy itself knows no HTTP.

use super::name::NameFault;
use super::sniff::ContentFamily;

/// A deposit the policy does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The file is larger than `max_file_bytes`.
    #[error("file of {bytes} bytes is over max_file_bytes = {limit}")]
    TooLarge {
        /// The size announced, or received so far.
        bytes: u64,
        /// `max_file_bytes`.
        limit: u64,
    },
    /// The establishment's kept files plus this one would exceed `school_quota_bytes`.
    #[error("over quota: {used} bytes used + {incoming} incoming > school_quota_bytes = {quota}")]
    QuotaExceeded {
        /// Bytes the establishment's kept versions already use.
        used: u64,
        /// Size of the refused deposit.
        incoming: u64,
        /// `school_quota_bytes`.
        quota: u64,
    },
    /// The extension is not in `allowed_types` (`None`: the name has no extension).
    #[error("file type refused: {}", extension_en(.extension.as_deref()))]
    TypeRefused {
        /// The refused extension, lower-cased.
        extension: Option<String>,
        /// The accepted extensions, to tell the user what to send instead.
        allowed: Vec<String>,
    },
    /// The extension is allowed but the first bytes are not those of its family.
    #[error("content does not look like {family} (signature check)")]
    ContentMismatch { family: ContentFamily },
    /// The file name itself is not acceptable.
    #[error("bad file name {name:?}: {fault}")]
    BadName {
        /// The name as received.
        name: String,
        fault: NameFault,
    },
}

fn extension_en(extension: Option<&str>) -> String {
    match extension {
        Some(ext) => format!("extension .{ext} is not allowed"),
        None => "a name without extension is not allowed".to_string(),
    }
}

impl Refusal {
    /// The status a face answers with: 413, 507, 415 or 400.
    pub fn http_status(&self) -> u16 {
        match self {
            Refusal::TooLarge { .. } => 413,
            Refusal::QuotaExceeded { .. } => 507,
            Refusal::TypeRefused { .. } | Refusal::ContentMismatch { .. } => 415,
            Refusal::BadName { .. } => 400,
        }
    }

    /// The English message for logs and audit lines (the same as `Display`).
    pub fn message_en(&self) -> String {
        self.to_string()
    }

    /// A short message for the user, in French.
    pub fn message_fr(&self) -> String {
        match self {
            Refusal::TooLarge { limit, .. } => format!(
                "Fichier trop volumineux : la taille maximale est de {}.",
                size_fr(*limit)
            ),
            Refusal::QuotaExceeded { used, quota, .. } => format!(
                "Espace de dépôt de l'établissement insuffisant : {} utilisés sur {}. \
                 Contactez l'assistance.",
                size_fr(*used),
                size_fr(*quota)
            ),
            Refusal::TypeRefused { extension, allowed } => {
                let what = match extension {
                    Some(ext) => format!("Type de fichier refusé (.{ext})."),
                    None => "Fichier sans extension refusé.".to_string(),
                };
                format!("{what} Formats acceptés : {}.", allowed.join(", "))
            }
            Refusal::ContentMismatch { family } => format!(
                "Le contenu du fichier ne correspond pas à son extension \
                 (un fichier {family} était attendu)."
            ),
            Refusal::BadName { fault, .. } => {
                format!("Nom de fichier refusé : {}.", fault.message_fr())
            }
        }
    }
}

/// A size as French users read it, in binary units with the usual French symbols (as Windows
/// shows them): "100 Mo", "1,5 Go", "512 octets".
pub(crate) fn size_fr(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("To", 1 << 40),
        ("Go", 1 << 30),
        ("Mo", 1 << 20),
        ("Ko", 1 << 10),
    ];
    for (symbol, unit) in UNITS {
        if bytes >= unit {
            let tenths = (u128::from(bytes) * 10 + u128::from(unit) / 2) / u128::from(unit);
            let (whole, tenth) = (tenths / 10, tenths % 10);
            return if tenth == 0 {
                format!("{whole} {symbol}")
            } else {
                format!("{whole},{tenth} {symbol}")
            };
        }
    }
    format!("{bytes} octets")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let too_large = Refusal::TooLarge { bytes: 2, limit: 1 };
        assert_eq!(too_large.http_status(), 413);
        let quota = Refusal::QuotaExceeded {
            used: 1,
            incoming: 1,
            quota: 1,
        };
        assert_eq!(quota.http_status(), 507);
        let refused = Refusal::TypeRefused {
            extension: None,
            allowed: vec![],
        };
        assert_eq!(refused.http_status(), 415);
        let mismatch = Refusal::ContentMismatch {
            family: ContentFamily::Pdf,
        };
        assert_eq!(mismatch.http_status(), 415);
        let bad = Refusal::BadName {
            name: String::new(),
            fault: NameFault::Empty,
        };
        assert_eq!(bad.http_status(), 400);
    }

    #[test]
    fn messages_in_both_languages() {
        let refusal = Refusal::TooLarge {
            bytes: 104_857_601,
            limit: 104_857_600,
        };
        assert_eq!(
            refusal.message_fr(),
            "Fichier trop volumineux : la taille maximale est de 100 Mo."
        );
        assert_eq!(
            refusal.message_en(),
            "file of 104857601 bytes is over max_file_bytes = 104857600"
        );

        let refusal = Refusal::TypeRefused {
            extension: Some("exe".into()),
            allowed: vec!["pdf".into(), "odt".into()],
        };
        assert_eq!(
            refusal.message_fr(),
            "Type de fichier refusé (.exe). Formats acceptés : pdf, odt."
        );
        assert_eq!(
            refusal.to_string(),
            "file type refused: extension .exe is not allowed"
        );

        let refusal = Refusal::ContentMismatch {
            family: ContentFamily::OpenDocument,
        };
        assert!(refusal
            .message_fr()
            .contains("un fichier OpenDocument était attendu"));
    }

    #[test]
    fn french_sizes() {
        assert_eq!(size_fr(0), "0 octets");
        assert_eq!(size_fr(1023), "1023 octets");
        assert_eq!(size_fr(1024), "1 Ko");
        assert_eq!(size_fr(100 << 20), "100 Mo");
        assert_eq!(size_fr(3 << 29), "1,5 Go");
        assert_eq!(size_fr((1 << 30) - 1), "1024 Mo");
        assert_eq!(size_fr(u64::MAX), "16777216 To");
    }
}
